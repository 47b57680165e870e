package inventory

import (
	"strings"
	"testing"
	"time"
)

func TestPhaseState(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		desc  string
		p     *Phase
		below int
		want  PhaseState
	}{
		{"no phase", nil, 3, PhaseNone},
		{"starts tomorrow", &Phase{Start: now.Add(day), End: now.Add(30 * day)}, 3, PhasePlanned},
		{"starts tomorrow, nothing below", &Phase{Start: now.Add(day)}, 0, PhasePlanned},
		{"started, no end", &Phase{Start: now.Add(-day)}, 3, PhaseActive},
		{"started now", &Phase{Start: now, End: now.Add(day)}, 1, PhaseActive},
		{"started, end ahead", &Phase{Start: now.Add(-day), End: now.Add(day)}, 1, PhaseActive},
		{"everything at target", &Phase{Start: now.Add(-day), End: now.Add(day)}, 0, PhaseDone},
		{"end passed, done", &Phase{Start: now.Add(-30 * day), End: now.Add(-day)}, 0, PhaseDone},
		{"end passed, accounts below", &Phase{Start: now.Add(-30 * day), End: now.Add(-day)}, 2, PhaseOverdue},
		{"ends exactly now", &Phase{Start: now.Add(-30 * day), End: now}, 2, PhaseOverdue},
	} {
		if got := tc.p.State(now, tc.below); got != tc.want {
			t.Errorf("%s: state %s, want %s", tc.desc, got, tc.want)
		}
	}
}

func TestDaysLeftAndDefaults(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		end  time.Time
		want int
	}{
		{now.Add(24 * time.Hour), 1}, {now.Add(25 * time.Hour), 2}, {now.Add(time.Minute), 1}, {now, 0}, {now.Add(-36 * time.Hour), -1},
	} {
		if got := daysLeft(now, tc.end); got != tc.want {
			t.Errorf("daysLeft(%s) = %d, want %d", tc.end.Sub(now), got, tc.want)
		}
	}
	for tier, want := range map[Tier]time.Duration{1: 30 * 24 * time.Hour, 2: 90 * 24 * time.Hour, 3: 180 * 24 * time.Hour, 4: 180 * 24 * time.Hour} {
		if got := maxExceptionIn(tier, nil); got != want {
			t.Errorf("tier %d default: %s, want %s", tier, got, want)
		}
	}
	if got := maxExceptionIn(1, &Phase{MaxException: time.Hour}); got != time.Hour {
		t.Errorf("phase cap: %s", got)
	}
}

// TestCheckOrder is the ordering rule on its own: a phase for tier N only
// when every earlier tier has a phase with an end; removals and end-less
// replacements of earlier tiers refused while a later phase exists.
func TestCheckOrder(t *testing.T) {
	s := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	ended := func(t Tier) *Phase { return &Phase{Tier: t, Start: s, End: s.AddDate(0, 3, 0)} }
	open := func(t Tier) *Phase { return &Phase{Tier: t, Start: s} }
	for _, tc := range []struct {
		desc     string
		have     []*Phase
		tier     Tier
		set      *Phase // nil: remove
		wantHint string // "" for allowed
	}{
		{"tier 1 first, no end", nil, 1, open(1), ""},
		{"tier 2 before tier 1", nil, 2, open(2), "roster plan set 1 "},
		{"tier 2 while tier 1 has no end", []*Phase{open(1)}, 2, ended(2), "roster plan set 1 "},
		{"tier 2 once tier 1 has an end", []*Phase{ended(1)}, 2, open(2), ""},
		{"tier 4 with tier 3 missing", []*Phase{ended(1), ended(2)}, 4, ended(4), "roster plan set 3 "},
		{"tier 3 with tier 2 open", []*Phase{ended(1), open(2)}, 3, open(3), "roster plan set 2 "},
		{"replace tier 1 without its end while tier 2 exists", []*Phase{ended(1), open(2)}, 1, open(1), "roster plan set 1 "},
		{"replace tier 1 keeping an end", []*Phase{ended(1), open(2)}, 1, ended(1), ""},
		{"remove tier 1 while tier 2 exists", []*Phase{ended(1), open(2)}, 1, nil, "roster plan set 1 "},
		{"remove the last tier", []*Phase{ended(1), open(2)}, 2, nil, ""},
		{"replace the last tier without an end", []*Phase{ended(1), ended(2)}, 2, open(2), ""},
	} {
		have := map[Tier]*Phase{}
		for _, p := range tc.have {
			have[p.Tier] = p
		}
		err := checkOrder(have, tc.tier, tc.set)
		switch {
		case tc.wantHint == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.desc, err)
		case tc.wantHint != "" && err == nil:
			t.Errorf("%s: allowed", tc.desc)
		case err != nil:
			ie, ok := err.(*InvalidError)
			if !ok || !strings.Contains(ie.Hint(), tc.wantHint) || ie.Reason == "" {
				t.Errorf("%s: %v (hint %q), want hint %q", tc.desc, err, ie.Hint(), tc.wantHint)
			}
		}
	}
}

package inventory_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// movedClock is a clock tests set.
type movedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movedClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *movedClock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *movedClock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// historyAccounts are root (privileged: tier 1) and n applications holding
// a static password (tier 4).
func historyAccounts(n int) []scan.Account {
	root := inventorytest.Account("root", 0, inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", "root"))
	root.Privileged, root.PrivilegeReasons = true, []string{"uid 0"}
	out := []scan.Account{root}
	for i := range n {
		name := string(rune('a'+i)) + "-app"
		out = append(out, inventorytest.Account(name, 1001+i, inventorytest.Cred(scan.CredPassword, "/etc/shadow:"+name, name)))
	}
	return out
}

// TestSnapshotHistory takes snapshots over several days with the clock
// moved: one record a day (the day's latest state replaces the earlier
// one), days without a snapshot absent, the burndown counted below
// short_lived_cert while no tier has a target, and the range refusals.
func TestSnapshotHistory(t *testing.T) {
	ctx := context.Background()
	day0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	clk := &movedClock{t: day0}
	inv, _ := inventorytest.Open(t, inventory.Options{Now: clk.Now})
	ingest := func(n int) {
		t.Helper()
		if _, err := inv.Ingest(ctx, inventorytest.NewReport("app1", "m-app1", clk.Now().Add(-time.Minute), historyAccounts(n)...)); err != nil {
			t.Fatal(err)
		}
	}

	// Day 0: three applications, then a fourth the same day: the day keeps
	// one record, the later one.
	ingest(3)
	if n, err := inv.SnapshotToday(ctx); err != nil || n != 1 {
		t.Fatalf("first snapshot of the day: %d, %v; want 1 record", n, err)
	}
	clk.Add(3 * time.Hour)
	ingest(4)
	if n, err := inv.SnapshotToday(ctx); err != nil || n != 0 {
		t.Fatalf("second snapshot of the day: %d, %v; want 0 (replaced)", n, err)
	}
	// Day 1: the server was down. Day 2: five. Day 4: two (three gone).
	clk.Set(day0.AddDate(0, 0, 2))
	ingest(5)
	if _, _, err := inv.Snapshot(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	clk.Set(day0.AddDate(0, 0, 4))
	ingest(2)
	if _, _, err := inv.Snapshot(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	// A snapshot of an earlier time the same day keeps the later record.
	if s, _, err := inv.Snapshot(ctx, clk.Now().Add(-time.Hour)); err != nil || !s.TakenAt.Equal(clk.Now()) {
		t.Fatalf("an older snapshot replaced a newer one: %+v, %v", s, err)
	}

	h, err := inv.History(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if h.To != "2026-11-06" || h.From != "2026-08-09" {
		t.Errorf("default range %s..%s, want 90 days to 2026-11-06", h.From, h.To)
	}
	type day struct {
		date       string
		taken      time.Time
		tier4, t1  int
		tier4Below int
	}
	want := []day{
		{"2026-11-02", day0.Add(3 * time.Hour), 4, 1, 4},
		{"2026-11-04", day0.AddDate(0, 0, 2), 5, 1, 5},
		{"2026-11-06", day0.AddDate(0, 0, 4), 2, 1, 2},
	}
	if len(h.Snapshots) != len(want) {
		t.Fatalf("%d snapshots, want %d: %+v", len(h.Snapshots), len(want), h.Snapshots)
	}
	for i, w := range want {
		s := h.Snapshots[i]
		if s.Date != w.date || !s.TakenAt.Equal(w.taken) || len(s.Tiers) != 4 {
			t.Errorf("snapshot %d: %s taken %v with %d tiers, want %s taken %v", i, s.Date, s.TakenAt, len(s.Tiers), w.date, w.taken)
			continue
		}
		t1, t4 := s.Tiers[0], s.Tiers[3]
		if t1.Tier != inventory.TierPrivileged || t4.Tier != inventory.TierRest {
			t.Errorf("%s: tiers out of order: %v, %v", s.Date, t1.Tier, t4.Tier)
		}
		if t1.Accounts != w.t1 || t4.Accounts != w.tier4 || t4.ByStrength["static_password"] != w.tier4 {
			t.Errorf("%s: tier 1 %d, tier 4 %d %v; want %d, %d", s.Date, t1.Accounts, t4.Accounts, t4.ByStrength, w.t1, w.tier4)
		}
		wantB := inventory.Burndown{Level: inventory.StrengthShortLivedCert, Basis: inventory.BasisDefault, Below: w.tier4Below}
		if t4.Burndown != wantB || t4.Target != 0 || t4.BelowTarget != nil || !t4.PhaseEnd.IsZero() {
			t.Errorf("%s: tier 4 burndown %+v (target %v, below %v), want %+v without a target", s.Date, t4.Burndown, t4.Target, t4.BelowTarget, wantB)
		}
		if t1.People == nil {
			t.Errorf("%s: tier 1 has no privileged people line", s.Date)
		}
	}

	// Ranges: one day; from after to; too long; dates given with a time of
	// day count as their day.
	one, err := inv.History(ctx, day0.Add(10*time.Hour), day0.Add(12*time.Hour))
	if err != nil || len(one.Snapshots) != 1 || one.From != "2026-11-02" || one.To != "2026-11-02" {
		t.Errorf("one day: %+v, %v", one, err)
	}
	none, err := inv.History(ctx, day0.AddDate(0, 0, -30), day0.AddDate(0, 0, -1))
	if err != nil || none.Snapshots == nil || len(none.Snapshots) != 0 {
		t.Errorf("before any snapshot: %+v, %v; want an empty list", none, err)
	}
	for _, tc := range []struct {
		desc     string
		from, to time.Time
	}{
		{"ends before it starts", day0, day0.AddDate(0, 0, -1)},
		{"longer than three years", day0.AddDate(-4, 0, 0), day0},
		{"absurd", time.Date(2, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		var ie *inventory.InvalidError
		if _, err := inv.History(ctx, tc.from, tc.to); !errors.As(err, &ie) {
			t.Errorf("%s: %v, want a refusal", tc.desc, err)
		}
	}
	if _, err := inv.History(ctx, day0.AddDate(0, 0, -(inventory.MaxHistoryDays-1)), day0); err != nil {
		t.Errorf("the longest range: %v", err)
	}
	if _, err := inv.History(ctx, day0.AddDate(0, 0, -inventory.MaxHistoryDays), day0); err == nil {
		t.Error("one day more than the longest range is accepted")
	}
}

// TestBurndownBasis: a tier's burndown counts below its target when the
// day had one, else below short_lived_cert, always from the distribution.
func TestBurndownBasis(t *testing.T) {
	below := 2
	for _, tc := range []struct {
		desc string
		tier inventory.TierSnapshot
		want inventory.Burndown
	}{
		{"no target: below short-lived", inventory.TierSnapshot{ByStrength: map[string]int{"static_password": 3, "short_lived_cert": 1, "hardware_bound": 1}},
			inventory.Burndown{Level: inventory.StrengthShortLivedCert, Basis: inventory.BasisDefault, Below: 3}},
		{"target hardware-bound", inventory.TierSnapshot{Target: inventory.StrengthHardwareBound, BelowTarget: &below,
			ByStrength: map[string]int{"static_password": 3, "short_lived_cert": 1, "hardware_bound": 1}},
			inventory.Burndown{Level: inventory.StrengthHardwareBound, Basis: inventory.BasisTarget, Below: 4}},
		{"none is never below", inventory.TierSnapshot{Target: inventory.StrengthSecretFile, ByStrength: map[string]int{"none": 7, "shared_secret": 1}},
			inventory.Burndown{Level: inventory.StrengthSecretFile, Basis: inventory.BasisTarget, Below: 1}},
		{"empty", inventory.TierSnapshot{}, inventory.Burndown{Level: inventory.StrengthShortLivedCert, Basis: inventory.BasisDefault}},
	} {
		if got := inventory.BurndownOf(tc.tier); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.desc, got, tc.want)
		}
	}
}

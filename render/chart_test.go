package render

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/hostile"
	"github.com/rosterhq/roster/internal/svgtest"
	"github.com/rosterhq/roster/inventory"
)

// historyFixture is four days of history (one missing, as when the server
// is down): tier 1 with a target and a phase end, as the plan sets them,
// tier 4 without a target, tiers 2 and 3 empty.
func historyFixture() *inventory.PlanHistory {
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	day := func(date string, t1pw, t1sl, t4pw, t4sl int) inventory.Snapshot {
		taken, _ := time.Parse(time.DateOnly, date)
		below := t1pw
		tiers := []inventory.TierSnapshot{
			{Tier: inventory.TierPrivileged, Name: "1 privileged", Accounts: t1pw + t1sl,
				ByStrength: map[string]int{"static_password": t1pw, "short_lived_cert": t1sl},
				Target:     inventory.StrengthShortLivedCert, BelowTarget: &below, PhaseEnd: end,
				People: &inventory.PeopleStats{Accounts: 2, ByStrength: map[string]int{"static_ssh_key": 1, "hardware_bound": 1}}},
			{Tier: inventory.TierExternal, Name: "2 external", ByStrength: map[string]int{}},
			{Tier: inventory.TierCritical, Name: "3 internal critical", ByStrength: map[string]int{}},
			{Tier: inventory.TierRest, Name: "4 other", Accounts: t4pw + t4sl,
				ByStrength: map[string]int{"secret_file": t4pw, "short_lived_cert": t4sl, "none": 1}},
		}
		for i := range tiers {
			tiers[i].Burndown = inventory.BurndownOf(tiers[i])
		}
		return inventory.Snapshot{Date: date, TakenAt: taken.Add(23*time.Hour + 50*time.Minute), Tiers: tiers}
	}
	return &inventory.PlanHistory{From: "2026-11-01", To: "2026-11-20", Snapshots: []inventory.Snapshot{
		day("2026-11-01", 6, 0, 40, 2),
		day("2026-11-02", 5, 1, 38, 4),
		day("2026-11-04", 3, 3, 31, 11),
		day("2026-11-05", 2, 4, 27, 15),
	}}
}

func TestGoldenPlanHistory(t *testing.T) {
	var csv bytes.Buffer
	if err := PlanHistory(&csv, historyFixture(), FormatCSV); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-history.csv", csv.Bytes())
	var svg bytes.Buffer
	if err := Chart(&svg, historyFixture()); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-chart.svg", svg.Bytes())
	var again bytes.Buffer
	if err := Chart(&again, historyFixture()); err != nil || !bytes.Equal(again.Bytes(), svg.Bytes()) {
		t.Errorf("a second rendering differs (%v)", err)
	}
	if err := PlanHistory(&csv, historyFixture(), "table"); err == nil {
		t.Error("format table accepted")
	}
}

// TestChartParses reads the chart back with encoding/xml: an <svg> root in
// the SVG namespace, one panel per tier with data (1 and 4), a polyline
// with one point per snapshot, the phase end line where the plan has one,
// the titles naming the target or saying there is none.
func TestChartParses(t *testing.T) {
	h := historyFixture()
	var b bytes.Buffer
	if err := Chart(&b, h); err != nil {
		t.Fatal(err)
	}
	root, err := svgtest.Parse(b.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	tiers := root.Tiers()
	if len(tiers) != 2 || tiers[0].Attr("data-tier") != "1" || tiers[1].Attr("data-tier") != "4" {
		t.Fatalf("panels %d, want tiers 1 and 4", len(tiers))
	}
	for i, g := range tiers {
		lines := g.ByClass("polyline", "burndown")
		if len(lines) != 1 || lines[0].Points() != len(h.Snapshots) {
			t.Errorf("tier panel %d: %d polylines, want one of %d points", i, len(lines), len(h.Snapshots))
		}
		if n := len(g.All("circle")); n != len(h.Snapshots) {
			t.Errorf("tier panel %d: %d dots", i, n)
		}
	}
	if n := len(tiers[0].ByClass("line", "phase-end")); n != 1 {
		t.Errorf("tier 1: %d phase end lines, want 1", n)
	}
	if n := len(tiers[1].ByClass("line", "phase-end")); n != 0 {
		t.Errorf("tier 4: %d phase end lines, want none", n)
	}
	text := strings.Join(root.Texts(), "\n")
	for _, want := range []string{"Tier 1 privileged: target short-lived certificate", "phase end 2026-11-30",
		"Tier 4 other: no target (counting accounts below short-lived certificate)", "42 account(s) on 2026-11-05, 27 below"} {
		if !strings.Contains(text, want) {
			t.Errorf("chart text lacks %q:\n%s", want, text)
		}
	}
	// The phase end after the last snapshot stretches the x axis to it.
	if !strings.Contains(text, "2026-11-30") || !strings.Contains(text, "2026-11-01") {
		t.Errorf("x axis does not run from the first day to the phase end:\n%s", text)
	}
	checkWithTools(t, b.Bytes())
}

// TestChartSparse: no snapshot, or no tier with data, is still a valid SVG
// that says so; one snapshot draws one point per tier.
func TestChartSparse(t *testing.T) {
	full := historyFixture()
	empty := &inventory.PlanHistory{From: "2026-11-01", To: "2026-11-20", Snapshots: []inventory.Snapshot{}}
	blank := &inventory.PlanHistory{From: "2026-11-01", To: "2026-11-20",
		Snapshots: []inventory.Snapshot{{Date: "2026-11-03", Tiers: []inventory.TierSnapshot{{Tier: 1, ByStrength: map[string]int{}}}}}}
	one := &inventory.PlanHistory{From: "2026-11-01", To: "2026-11-20", Snapshots: full.Snapshots[:1]}
	for _, tc := range []struct {
		desc   string
		h      *inventory.PlanHistory
		panels int
		says   string
	}{
		{"no snapshot", empty, 0, "No history yet"},
		{"no accounts", blank, 0, "No accounts in any tier yet."},
		{"one snapshot", one, 2, "one day of history so far"},
	} {
		var b bytes.Buffer
		if err := Chart(&b, tc.h); err != nil {
			t.Fatal(err)
		}
		root, err := svgtest.Parse(b.Bytes())
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.desc, err, b.String())
		}
		if n := len(root.Tiers()); n != tc.panels {
			t.Errorf("%s: %d panels, want %d", tc.desc, n, tc.panels)
		}
		for _, g := range root.Tiers() {
			if l := g.ByClass("polyline", "burndown"); len(l) != 1 || l[0].Points() != 1 {
				t.Errorf("%s: tier %s polyline not of one point", tc.desc, g.Attr("data-tier"))
			}
		}
		if !strings.Contains(strings.Join(root.Texts(), "\n"), tc.says) {
			t.Errorf("%s: the chart does not say %q:\n%s", tc.desc, tc.says, b.String())
		}
	}
	// A phase end decades away is named, not drawn.
	far := historyFixture()
	for i := range far.Snapshots {
		far.Snapshots[i].Tiers[0].PhaseEnd = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var b bytes.Buffer
	if err := Chart(&b, far); err != nil {
		t.Fatal(err)
	}
	root, err := svgtest.Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(root.ByClass("line", "phase-end")) != 0 || !strings.Contains(b.String(), "phase end 2099-01-01 (off the chart)") {
		t.Errorf("a phase end 70 years away:\n%s", b.String())
	}
}

// TestChartHostileText: hostile tier names and dates never break the
// document, and reach it only cleaned.
func TestChartHostileText(t *testing.T) {
	for _, s := range append(hostile.InjectionStrings(), "</text></g><script>alert(1)</script>", "]]>", "\x00\x01\uFFFE", "\xff\xfe",
		`" onload="alert(1)`, "&amp;&#0;&lt;") {
		h := historyFixture()
		h.From, h.To = s, s
		for i := range h.Snapshots {
			for j := range h.Snapshots[i].Tiers {
				h.Snapshots[i].Tiers[j].Name = s
			}
		}
		var b bytes.Buffer
		if err := Chart(&b, h); err != nil {
			t.Fatal(err)
		}
		root, err := svgtest.Parse(b.Bytes())
		if err != nil {
			t.Fatalf("%q breaks the chart: %v\n%s", s, err, b.String())
		}
		if len(root.All("script")) != 0 || len(root.Tiers()) != 2 {
			t.Errorf("%q: %d scripts, %d panels", s, len(root.All("script")), len(root.Tiers()))
		}
	}
}

// checkWithTools runs xmllint and rsvg-convert on the chart when they are
// installed (nothing is installed for this).
func checkWithTools(t *testing.T, svg []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "chart.svg")
	if err := os.WriteFile(p, svg, 0o644); err != nil {
		t.Fatal(err)
	}
	if x, err := exec.LookPath("xmllint"); err == nil {
		if out, err := exec.Command(x, "--noout", p).CombinedOutput(); err != nil {
			t.Errorf("xmllint: %v\n%s", err, out)
		}
	}
	if r, err := exec.LookPath("rsvg-convert"); err == nil {
		if out, err := exec.Command(r, "-o", filepath.Join(t.TempDir(), "chart.png"), p).CombinedOutput(); err != nil {
			t.Errorf("rsvg-convert: %v\n%s", err, out)
		}
	}
}

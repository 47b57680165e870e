package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/svgtest"
)

// TestPlanHistoryEndToEnd runs the real binaries: the server snapshots the
// plan at start; after a scan and a restart (the day's record replaced by
// the newer state), roster plan history gives today's row per tier as CSV
// and JSON, and roster plan chart --output writes an SVG that parses, with
// the panel of the tier that has accounts. Without --output, or with a
// directory, the chart is refused before the server is asked.
func TestPlanHistoryEndToEnd(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--scan-on-start=false")
	admin := s.adminToken()
	c := newAPIClient(t, s)
	if st, body := c.do("POST", "/v1/scans", admin, mustJSON(t, testReport("db-billing-01", time.Now().UTC(), "svc-report", "svc-etl"))); st != 200 {
		t.Fatalf("submit: %d %s", st, body)
	}
	s.stop()
	s.restart()
	today := time.Now().UTC().Format(time.DateOnly)

	// The sweep at start runs beside the first requests: wait for it.
	var h struct {
		Snapshots []struct {
			Date  string
			Tiers []struct{ Accounts int }
		}
	}
	accounts := 0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out := s.mustCLI(admin, "plan", "history", "--format", "json")
		if err := json.Unmarshal([]byte(out), &h); err != nil {
			t.Fatalf("history json: %v\n%s", err, out)
		}
		accounts = 0
		if len(h.Snapshots) == 1 {
			for _, ts := range h.Snapshots[0].Tiers {
				accounts += ts.Accounts
			}
		}
		if accounts == 2 {
			break
		}
	}
	if len(h.Snapshots) != 1 || h.Snapshots[0].Date != today || accounts != 2 {
		t.Fatalf("history after the restart: %+v, want today's snapshot with 2 accounts", h)
	}

	out := s.mustCLI(admin, "plan", "history", "--format", "csv", "--from", today)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 5 || rows[0][0] != "date" || rows[1][0] != today || rows[0][10] != "burndown_below" {
		t.Errorf("history csv: %v, %d rows:\n%s", err, len(rows), out)
	}

	file := filepath.Join(t.TempDir(), "burndown.svg")
	out = s.mustCLI(admin, "plan", "chart", "--output", file)
	if !strings.Contains(out, "burndown chart written to "+file) {
		t.Errorf("chart output: %s", out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	root, err := svgtest.Parse(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if p := root.Tiers(); len(p) != 1 || len(p[0].ByClass("polyline", "burndown")) != 1 || p[0].ByClass("polyline", "burndown")[0].Points() != 1 {
		t.Errorf("chart panels %d, want one with a one-point burndown:\n%s", len(p), data)
	}

	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"plan", "chart"}, "plan chart needs --output"},
		{[]string{"plan", "chart", "--output", t.TempDir()}, "is a directory, not a file"},
		{[]string{"plan", "history", "--from", "2026-03-01", "--to", "2026-02-01"}, "the history would end before it starts"},
		{[]string{"plan", "history", "--format", "table"}, `--format "table"`},
	} {
		_, errOut, code := s.cli(admin, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.says) {
			t.Errorf("roster %s: exit %d, want a refusal saying %q:\n%s", strings.Join(tc.args, " "), code, tc.says, errOut)
		}
	}
}

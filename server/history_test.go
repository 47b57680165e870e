package server

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/internal/svgtest"
)

// TestPlanHistoryThroughServer: the server's sweep takes the day's
// snapshot; over days of a moved clock (one skipped, as when the server is
// down) a viewer reads the history as JSON and CSV and the burndown chart
// as an SVG that parses, one panel per tier with accounts and one point
// per snapshot.
func TestPlanHistoryThroughServer(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s, err := New(Options{Inventory: e.inv, Issuer: e.iss, CA: e.ca, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	viewer, _, err := access.New(e.inv.Store(), nil).Create(audit.WithActor(ctx, "test"), "auditor", access.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string, []byte) {
		t.Helper()
		req, err := http.NewRequest("GET", e.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+viewer)
		resp, err := e.client(nil, nil, false).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}

	// No sweep yet: a range that ends before today has no snapshot (a
	// chart that says so); one that reaches today has today's, taken when
	// it is read.
	yesterday := e.clock.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	if code, _, b := get("/v1/plan/history?format=json&to=" + yesterday); code != 200 || !strings.Contains(string(b), `"snapshots": []`) {
		t.Fatalf("empty history: %d %s", code, b)
	}
	if code, ct, b := get("/v1/plan/chart?to=" + yesterday); code != 200 || ct != api.ContentTypeSVG || !strings.Contains(string(b), "No history yet") {
		t.Fatalf("empty chart: %d %s %s", code, ct, b)
	}
	if code, _, b := get("/v1/plan/history?format=json"); code != 200 || strings.Count(string(b), `"date"`) != 1 {
		t.Fatalf("history read before any sweep: %d %s", code, b)
	}

	// Day 0: web1's three accounts. Day 1: web2 adds two, swept twice
	// (one record). Day 2: the server is down. Day 3: swept again.
	var dates []string
	day := func() string { return e.clock.Now().UTC().Format(time.DateOnly) }
	s.Sweep(ctx)
	dates = append(dates, day())
	e.clock.Advance(24 * time.Hour)
	e.ingest("web2", "app-a", "app-b")
	s.Sweep(ctx)
	s.Sweep(ctx)
	dates = append(dates, day())
	e.clock.Advance(48 * time.Hour)
	s.Sweep(ctx)
	dates = append(dates, day())

	code, ct, b := get("/v1/plan/history?format=json")
	if code != 200 || ct != "application/json" {
		t.Fatalf("history: %d %s %s", code, ct, b)
	}
	var h api.PlanHistory
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	if h.To != dates[2] || len(h.Snapshots) != 3 {
		t.Fatalf("history to %s with %d snapshots, want to %s with 3: %s", h.To, len(h.Snapshots), dates[2], b)
	}
	tierOf := func(s api.PlanSnapshot) api.PlanTierSnapshot {
		for _, ts := range s.Tiers {
			if ts.Accounts > 0 {
				return ts
			}
		}
		t.Fatalf("%s: no tier with accounts", s.Date)
		return api.PlanTierSnapshot{}
	}
	for i, want := range []int{3, 5, 5} {
		sn := h.Snapshots[i]
		ts := tierOf(sn)
		if sn.Date != dates[i] || len(sn.Tiers) != 4 || ts.Accounts != want ||
			ts.Burndown != (api.Burndown{Level: "short_lived_cert", Basis: "no_target", Below: want}) {
			t.Errorf("snapshot %d: %s, %d tiers, accounts %d, burndown %+v; want %s with %d below short_lived_cert",
				i, sn.Date, len(sn.Tiers), ts.Accounts, ts.Burndown, dates[i], want)
		}
	}

	code, ct, b = get("/v1/plan/history?format=csv&from=" + dates[1])
	if code != 200 || ct != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %d %s %s", code, ct, b)
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+2*4 || rows[0][0] != "date" || rows[1][0] != dates[1] || rows[len(rows)-1][0] != dates[2] {
		t.Errorf("csv from %s: %d rows, want a header and 8:\n%s", dates[1], len(rows), b)
	}

	code, ct, b = get("/v1/plan/chart")
	if code != 200 || ct != api.ContentTypeSVG {
		t.Fatalf("chart: %d %s %s", code, ct, b)
	}
	root, err := svgtest.Parse(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	panels := root.Tiers()
	if len(panels) != 1 {
		t.Fatalf("%d panels, want the one tier with accounts:\n%s", len(panels), b)
	}
	if l := panels[0].ByClass("polyline", "burndown"); len(l) != 1 || l[0].Points() != 3 {
		t.Errorf("burndown polyline: %d, want one of 3 points", len(l))
	}

	// Refusals: a bad date, a range that ends before it starts, one too
	// long, a format the read does not offer.
	for _, tc := range []struct{ path, says string }{
		{"/v1/plan/history?from=yesterday", "query parameter from"},
		{"/v1/plan/history?from=" + dates[2] + "&to=" + dates[0], "would end before it starts"},
		{"/v1/plan/chart?from=2000-01-01&to=2026-01-01", "at most 1099 days"},
		{"/v1/plan/history?format=table", "query parameter format"},
	} {
		code, _, b := get(tc.path)
		if code != 400 || !strings.Contains(string(b), tc.says) {
			t.Errorf("%s: %d %s, want 400 saying %q", tc.path, code, b, tc.says)
		}
	}
}

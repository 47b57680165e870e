package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// TestScanAttacksThroughServer replays issue 15's attacks on POST
// /v1/scans with a real host certificate over mTLS: app2's certificate
// may not rewrite app1's record (by machine id or by name), a report
// from the future is refused, and every refusal is audited. Before the
// fix the first attack marked all of web1's accounts gone with a 200.
func TestScanAttacksThroughServer(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	e.Ingest("app2", "w2")
	key, chain := e.Enroll("app2", "")
	cl := e.client(key, chain, false)
	report := func(host, mid string, at time.Time, accounts ...scan.Account) *scan.Report {
		return inventorytest.NewReport(host, mid, at, accounts...)
	}
	now := e.clock.Now().UTC()
	for _, tc := range []struct {
		desc   string
		r      *scan.Report
		status int
		says   string
	}{
		{"app1's machine id, no accounts", report("app2", "mid-web1", now.Add(time.Second)), http.StatusForbidden, "web1"},
		{"app1's name", report("web1", "mid-web1", now.Add(time.Second)), http.StatusForbidden, "web1"},
		{"scanned in 2099", report("app2", "mid-app2", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)), http.StatusBadRequest, "host.scanned_at"},
	} {
		code, body := e.post(cl, "/v1/scans", tc.r)
		if code != tc.status || !strings.Contains(string(body), tc.says) {
			t.Errorf("%s: %d %s, want %d naming %q", tc.desc, code, body, tc.status, tc.says)
		}
	}
	// web1 is untouched: its accounts are all still there.
	for _, a := range []string{"billing-batch", "nobody-owns", "legacy"} {
		s, err := e.inv.Identity(ctx, "web1", a)
		if err != nil || !s.Exists || s.Gone {
			t.Errorf("web1/%s after the attacks: %+v, %v", a, s, err)
		}
	}
	hosts, err := e.inv.ListHosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 2 {
		t.Errorf("hosts after the attacks: %+v, want web1 and app2 only", hosts)
	}
	// Its own report is accepted, and audited with the host as actor.
	if code, body := e.post(cl, "/v1/scans", report("app2", "mid-app2", now.Add(2*time.Second), inventorytest.Account("w2", 900))); code != http.StatusOK {
		t.Fatalf("own report: %d %s", code, body)
	}
	evs, err := audit.List(ctx, e.inv, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var refused, accepted int
	for _, ev := range evs {
		if ev.Action != audit.ActionScanIngest || ev.Actor != "host:app2" {
			continue
		}
		switch ev.Outcome {
		case audit.OutcomeRefused:
			refused++
		case audit.OutcomeOK:
			accepted++
		}
	}
	if refused != 3 || accepted != 1 {
		t.Errorf("audit: %d refused and %d accepted scans of host:app2, want 3 and 1\n%s", refused, accepted, e.audits())
	}
}

package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// TestPlanThroughServer drives the real server with the moved clock: a
// tier-2 phase refused before tier 1 has an end (the error body names the
// command), then accepted; exceptions capped by the tier and the phase end
// (accepted past it with beyond_phase); a third extension a violation in
// the report and in the exception list; the phase overdue in the plan and
// in the report once the clock passes its end.
func TestPlanThroughServer(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	tok, _, err := access.New(e.inv.Store(), nil).Create(ctx, "ops", access.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	// A privileged service account (tier 1) with a password.
	root := inventorytest.Account("root", 0, inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", "pw-root"))
	root.Privileged, root.PrivilegeReasons = true, []string{"UID 0"}
	if _, err := e.inv.Ingest(ctx, inventorytest.NewReport("db1", "mid-db1", e.clock.Now().UTC(), root)); err != nil {
		t.Fatal(err)
	}
	e.owner("root", "dba-team")
	now := e.clock.Now().UTC()
	date := func(days int) string { return now.AddDate(0, 0, days).Format(time.DateOnly) }
	phase := func(tier, target, start, end string) string {
		return `{"target":"` + target + `","owner":"sec-team","start":"` + start + `","end":"` + end + `"}`
	}

	// Tier 2 before tier 1 has a phase, then before it has an end.
	for _, setup := range []string{"", phase("1", "short_lived_cert", date(-1), "")} {
		if setup != "" {
			if code, body := e.operatorCall(tok, "PUT", "/v1/plan/1", setup); code != 200 {
				t.Fatalf("tier 1 without an end: %d %s", code, body)
			}
		}
		code, body := e.operatorCall(tok, "PUT", "/v1/plan/2", phase("2", "short_lived_cert", date(0), date(90)))
		er := errBody(t, body)
		if code != 400 || !strings.Contains(er.Error, "before tier 2's phase is set") ||
			er.Hint != "roster plan set 1 --target LEVEL --owner OWNER --start DATE --end DATE" {
			t.Fatalf("tier 2 first: %d %s", code, body)
		}
	}
	if code, body := e.operatorCall(tok, "PUT", "/v1/plan/1", `{"target":"none","owner":"sec-team","start":"`+date(-1)+`"}`); code != 400 ||
		!strings.Contains(string(body), "needs a target") {
		t.Errorf("target none: %d %s", code, body)
	}
	code, body := e.operatorCall(tok, "PUT", "/v1/plan/1", phase("1", "short_lived_cert", date(-1), date(20)))
	var p1 api.Phase
	if code != 200 || json.Unmarshal(body, &p1) != nil || p1.Tier != 1 || p1.Target != "short_lived_cert" || p1.MaxException != 30*24*time.Hour || p1.SetBy != "token:ops" || !p1.Start.Equal(now.AddDate(0, 0, -1).Truncate(24*time.Hour)) {
		t.Fatalf("tier 1 with an end: %d %s", code, body)
	}
	if code, body := e.operatorCall(tok, "PUT", "/v1/plan/2", phase("2", "short_lived_cert", date(0), date(90))); code != 200 {
		t.Fatalf("tier 2 once tier 1 has an end: %d %s", code, body)
	}
	if !strings.Contains(e.audits(), "plan.set") {
		t.Errorf("no plan.set in the audit log:\n%s", e.audits())
	}

	// Exceptions on root (tier 1): at most 30 days; not past the phase
	// end (day 20) without beyond_phase.
	exc := func(days int, beyond bool) (int, []byte) {
		b, _ := json.Marshal(api.ExceptionRequest{Account: "root", Reason: "console login", Owner: "dba-team", Expires: date(days), BeyondPhase: beyond})
		return e.operatorCall(tok, "POST", "/v1/exceptions", string(b))
	}
	if code, body := exc(45, true); code != 400 || !strings.Contains(string(body), "exceptions in tier 1 last at most 30d") {
		t.Errorf("45 days in tier 1: %d %s", code, body)
	}
	code, body = exc(25, false)
	if er := errBody(t, body); code != 400 || !strings.Contains(er.Error, "after tier 1's phase ends") || !strings.Contains(er.Hint, "--beyond-phase") {
		t.Errorf("past the phase end: %d %s", code, body)
	}
	code, body = exc(25, true)
	var ex api.Exception
	if code != 201 || json.Unmarshal(body, &ex) != nil || !ex.BeyondPhase {
		t.Fatalf("past the phase end with beyond_phase: %d %s", code, body)
	}
	extend := func(days int) (int, []byte) {
		return e.operatorCall(tok, "POST", "/v1/exceptions/"+ex.ID+"/extend", `{"expires":"`+date(days)+`","reason":"vendor late"}`)
	}
	for i, d := range []int{26, 27, 28} {
		code, body := extend(d)
		if code != 200 || json.Unmarshal(body, &ex) != nil || ex.Extensions != i+1 {
			t.Fatalf("extension %d: %d %s", i+1, code, body)
		}
	}
	if code, body := extend(40); code != 400 || !strings.Contains(string(body), "at most 30d") {
		t.Errorf("an extension past the tier's cap: %d %s", code, body)
	}
	code, body = e.operatorCall(tok, "GET", "/v1/report?format=json", "")
	var rep api.Report
	if code != 200 || json.Unmarshal(body, &rep) != nil || len(rep.OverExtended) != 1 || rep.OverExtended[0].ID != ex.ID || len(rep.OverduePhases) != 0 {
		t.Fatalf("report after three extensions: %d %s", code, body)
	}
	if rep.Tiers[0].Target != "short_lived_cert" || rep.Tiers[0].BelowTarget == nil || *rep.Tiers[0].BelowTarget != 1 || rep.Tiers[0].PhaseEnd.IsZero() {
		t.Errorf("report tier 1: %+v", rep.Tiers[0])
	}
	code, body = e.operatorCall(tok, "GET", "/v1/report", "")
	if code != 200 || !strings.Contains(string(body), "EXCEPTIONS EXTENDED MORE THAN 2 TIMES (violations: temporary exceptions that do not end): 1") {
		t.Errorf("report table: %d %s", code, body)
	}
	if code, body := e.operatorCall(tok, "GET", "/v1/exceptions", ""); code != 200 || !strings.Contains(string(body), "OVER-EXTENDED 3x") {
		t.Errorf("exception list: %d %s", code, body)
	}

	// The plan now: tier 1 active, tier 2 done (nothing below its target
	// in tier 2), and after the end, overdue.
	plan := func() api.Plan {
		t.Helper()
		code, body := e.operatorCall(tok, "GET", "/v1/plan?format=json", "")
		var pl api.Plan
		if code != 200 || json.Unmarshal(body, &pl) != nil || len(pl.Tiers) != 4 {
			t.Fatalf("plan: %d %s", code, body)
		}
		return pl
	}
	pl := plan()
	if pl.Tiers[0].State != api.PhaseActive || pl.Tiers[0].BelowTarget != 1 || len(pl.Tiers[0].Below) != 1 || pl.Tiers[0].Below[0].Owner.Name != "dba-team" ||
		pl.Tiers[0].OpenExceptions != 1 || pl.Tiers[3].State != api.PhaseNone {
		t.Errorf("plan before the end: %+v", pl.Tiers)
	}
	e.clock.Advance(21 * 24 * time.Hour)
	if pl = plan(); pl.Tiers[0].State != api.PhaseOverdue || *pl.Tiers[0].DaysLeft > 0 {
		t.Errorf("plan after the end: %+v", pl.Tiers[0])
	}
	code, body = e.operatorCall(tok, "GET", "/v1/plan", "")
	if code != 200 || !strings.Contains(string(body), "OVERDUE: the phase ended") {
		t.Errorf("plan table after the end: %d %s", code, body)
	}
	code, body = e.operatorCall(tok, "GET", "/v1/report?format=json", "")
	if code != 200 || json.Unmarshal(body, &rep) != nil || len(rep.OverduePhases) != 1 || rep.OverduePhases[0].Tier != 1 || rep.OverduePhases[0].Owner != "sec-team" {
		t.Fatalf("report after the end: %d %s", code, body)
	}
	code, body = e.operatorCall(tok, "GET", "/v1/report?format=markdown", "")
	if code != 200 || !strings.Contains(string(body), "## Overdue phases") {
		t.Errorf("report markdown after the end: %d %s", code, body)
	}
	// Bad requests: an unknown tier, a malformed date or duration.
	for _, tc := range []struct{ path, body, says string }{
		{"/v1/plan/x", phase("", "short_lived_cert", date(0), ""), "expected 1, 2, 3 or 4"},
		{"/v1/plan/5", phase("", "short_lived_cert", date(0), ""), "tiers are 1"},
		{"/v1/plan/3", phase("", "short_lived_cert", "soon", ""), `start: "soon" is not a date`},
		{"/v1/plan/3", `{"target":"best","owner":"o","start":"` + date(0) + `"}`, `unknown level "best"`},
		{"/v1/plan/3", `{"target":"short_lived_cert","owner":"o","start":"` + date(0) + `","max_exception":"forever"}`, "max_exception: expected a duration"},
	} {
		if code, body := e.operatorCall(tok, "PUT", tc.path, tc.body); code != 400 || !strings.Contains(errBody(t, body).Error, tc.says) {
			t.Errorf("PUT %s %s: %d %s, want 400 saying %q", tc.path, tc.body, code, body, tc.says)
		}
	}
}

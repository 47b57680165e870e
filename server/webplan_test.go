package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
)

func TestWebPlan(t *testing.T) {
	e := newWebEnv(t)
	viewer := e.webSignIn("plan-viewer", access.RoleViewer)
	op := e.webSignIn("plan-op", access.RoleOperator)

	page := viewerSeesNoForms(t, viewer, "/plan", "/plan")
	for _, want := range []string{"Rollout plan", "privileged", "The ordering rule", `href="/plan?format=csv"`, "No phase."} {
		if !strings.Contains(page, want) {
			t.Errorf("plan page lacks %q", want)
		}
	}
	set := url.Values{"target": {"short_lived_cert"}, "owner": {"team-rollout"}, "start": {"2026-01-01"}, "end": {"2026-06-30"}}
	refusedPosts(t, e, viewer, op, "/plan/1", set)
	if pl, _ := e.inv.Plan(context.Background(), e.inv.Now()); pl.Tiers[0].Phase != nil {
		t.Fatalf("a refused POST set a phase: %+v", pl.Tiers[0].Phase)
	}

	// The operator sees the forms and sets tier 1's phase.
	if _, page := op.get("/plan"); !strings.Contains(page, `action="/plan/1"`) || !strings.Contains(page, `<label for="owner1">`) {
		t.Errorf("operator's plan page has no phase form")
	}
	code, body := op.post("/plan", "/plan/1", set)
	if code != http.StatusSeeOther {
		t.Fatalf("set phase: %d\n%s", code, body)
	}
	pl, err := e.inv.Plan(context.Background(), e.inv.Now())
	if err != nil || pl.Tiers[0].Phase == nil || pl.Tiers[0].Phase.Owner != "team-rollout" || pl.Tiers[0].Phase.Target != inventory.StrengthShortLivedCert {
		t.Fatalf("phase not set: %v %+v", err, pl.Tiers[0].Phase)
	}
	wantAudit(t, e, audit.ActionPlanSet, "plan-op")
	_, page = op.get("/plan?done=x")
	for _, want := range []string{"team-rollout", "2026-06-30", `value="team-rollout"`, `<option value="short_lived_cert" selected>`} {
		if !strings.Contains(page, want) {
			t.Errorf("plan page after set lacks %q", want)
		}
	}

	// Tier 3 before tier 2: the ordering rule refuses, the page says why
	// with the hint, and keeps what was typed.
	before := auditCount(t, e)
	code, body = op.post("/plan", "/plan/3", url.Values{"target": {"long_lived_cert"}, "owner": {"team-three"}, "start": {"2026-02-01"}, "note": {"typed note"}})
	if code != http.StatusBadRequest {
		t.Fatalf("tier 3 before tier 2: %d\n%s", code, body)
	}
	for _, want := range []string{`id="refused3"`, "Refused:", "tier 2", "roster plan set 2 --target LEVEL", `href="#order-rule">the ordering rule</a>`, `value="team-three"`, `value="typed note"`,
		`<option value="long_lived_cert" selected>`, `value="2026-02-01"`} {
		if !strings.Contains(body, want) {
			t.Errorf("refusal page lacks %q", want)
		}
	}
	if auditCount(t, e) != before {
		t.Errorf("a refused phase was audited as a change")
	}

	// A missing field is refused on the page too.
	code, body = op.post("/plan", "/plan/2", url.Values{"target": {"short_lived_cert"}, "start": {"2026-02-01"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "needs --owner") || strings.Contains(body, `href="#order-rule"`) {
		t.Errorf("phase without owner: %d\n%s", code, firstLines(body, 10))
	}

	// Removing tier 1 while tier 2 has a phase is refused; then tier 2's
	// and tier 1's removal work.
	if code, body = op.post("/plan", "/plan/2", url.Values{"target": {"short_lived_cert"}, "owner": {"t2"}, "start": {"2026-02-01"}}); code != http.StatusSeeOther {
		t.Fatalf("tier 2: %d\n%s", code, body)
	}
	if code, body = op.post("/plan", "/plan/1/remove", url.Values{}); code != http.StatusBadRequest || !strings.Contains(body, `id="refused1"`) {
		t.Errorf("remove tier 1 while tier 2 has a phase: %d\n%s", code, firstLines(body, 10))
	}
	for _, tier := range []string{"2", "1"} {
		if code, body = op.post("/plan", "/plan/"+tier+"/remove", url.Values{}); code != http.StatusSeeOther {
			t.Errorf("remove tier %s: %d\n%s", tier, code, firstLines(body, 10))
		}
	}
	wantAudit(t, e, audit.ActionPlanRemove, "plan-op")
	if code, _ = op.post("/plan", "/plan/9", set); code != http.StatusBadRequest {
		t.Errorf("tier 9: %d", code)
	}

	csvOf(t, viewer, "/plan", "section,tier,name,state,target,owner,start,end,days_left,accounts,at_target,below_target,open_exceptions,max_exception,note")
}

package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
)

func TestWebExceptions(t *testing.T) {
	e := newWebEnv(t)
	e.ingest("web7", "exc-soon", "exc-later", "exc-gone", "exc-closed")
	ctx := audit.WithActor(context.Background(), "test")
	now := e.inv.Now()
	add := func(acct string, d time.Duration) string {
		t.Helper()
		e.owner(acct, "team-"+acct)
		ex, err := e.inv.AddException(ctx, inventory.Exception{Account: acct, Reason: "reason-" + acct, Owner: "team-x", Expires: now.Add(d)})
		if err != nil {
			t.Fatal(err)
		}
		return ex.ID
	}
	soon, later, gone, closed := add("exc-soon", 10*24*time.Hour), add("exc-later", 60*24*time.Hour), add("exc-gone", time.Hour), add("exc-closed", 20*24*time.Hour)
	if err := e.inv.CloseException(ctx, closed, "removed"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour) // exc-gone's has expired
	viewer := e.webSignIn("exc-viewer", access.RoleViewer)
	op := e.webSignIn("exc-op", access.RoleOperator)

	for _, c := range []struct {
		state     string
		want, not []string
	}{
		{"", []string{soon, later}, []string{gone, closed}},
		{"open", []string{soon, later}, []string{gone, closed}},
		{"expiring", []string{soon}, []string{later, gone, closed}},
		{"expired", []string{gone}, []string{soon, later, closed}},
		{"closed", []string{closed}, []string{soon, later, gone}},
		{"all", []string{soon, later, gone, closed}, nil},
	} {
		page := viewerSeesNoForms(t, viewer, "/exceptions?state="+c.state, "/exceptions/")
		for _, id := range c.want {
			if !strings.Contains(page, "<code>"+id+"</code>") {
				t.Errorf("state %q: %s missing", c.state, id)
			}
		}
		for _, id := range c.not {
			if strings.Contains(page, "<code>"+id+"</code>") {
				t.Errorf("state %q: %s shown", c.state, id)
			}
		}
	}
	if _, page := viewer.get("/exceptions?state=all&account=exc-soon"); !strings.Contains(page, soon) || strings.Contains(page, later) {
		t.Errorf("account filter")
	}
	if code, _ := viewer.get("/exceptions?state=bogus"); code != http.StatusBadRequest {
		t.Errorf("bad state: %d", code)
	}
	body := csvOf(t, viewer, "/exceptions?state=expired", "id,account,credential,owner,expires,state,reason,extensions,beyond_phase")
	if !strings.Contains(body, gone) || strings.Contains(body, soon) {
		t.Errorf("csv of expired:\n%s", body)
	}

	path := "/exceptions/" + soon + "/close"
	refusedPosts(t, e, viewer, op, path, url.Values{"reason": {"forged"}})
	if l, _ := e.inv.ListExceptions(ctx, inventory.ExceptionFilter{Account: "exc-soon"}); len(l) != 1 {
		t.Fatalf("a refused POST closed the exception")
	}
	if _, page := op.get("/exceptions"); !strings.Contains(page, `action="`+path+`"`) || !strings.Contains(page, `href="/accounts/exc-soon@`) {
		t.Errorf("operator's exceptions page: no close form or account link")
	}
	if code, body := op.post("/exceptions", path, url.Values{"reason": {"key rotated"}}); code != http.StatusSeeOther {
		t.Fatalf("close: %d\n%s", code, body)
	}
	if l, _ := e.inv.ListExceptions(ctx, inventory.ExceptionFilter{Account: "exc-soon", Closed: true}); len(l) != 1 || l[0].Closed == nil || l[0].CloseNote != "key rotated" {
		t.Errorf("not closed: %+v", l)
	}
	wantAudit(t, e, audit.ActionExceptionClose, "exc-op")
	// Closing it again: the inventory's refusal on the error page.
	if code, body := op.post("/exceptions", path, url.Values{}); code != http.StatusBadRequest || !strings.Contains(body, "was closed on") {
		t.Errorf("close twice: %d\n%s", code, firstLines(body, 5))
	}
}

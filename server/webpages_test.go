package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
)

// Helpers of the page tests (webplan_test.go, webvendors_test.go, ...):
// what every page with a form must hold to.

// lastAudit is the newest audit record.
func lastAudit(t testing.TB, e *env) audit.Event {
	t.Helper()
	evs, err := audit.List(context.Background(), e.inv, audit.Filter{Limit: 1})
	if err != nil || len(evs) == 0 {
		t.Fatalf("audit: %v %d", err, len(evs))
	}
	return evs[0]
}

// auditCount is how many audit records there are.
func auditCount(t testing.TB, e *env) int {
	t.Helper()
	evs, err := audit.List(context.Background(), e.inv, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// viewerSeesNoForms fetches path as u and fails when it holds a form
// posting to action (a prefix such as "/plan").
func viewerSeesNoForms(t *testing.T, u *webUser, path, action string) string {
	t.Helper()
	code, page := u.get(path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, code, firstLines(page, 30))
	}
	if strings.Contains(page, `action="`+action) {
		t.Errorf("GET %s as viewer: a form posting to %s\n%s", path, action, page)
	}
	return page
}

// refusedPosts checks that a viewer's forged POST (with its own valid
// CSRF token) and an operator's POST without a CSRF token both get 403
// and add no audit record.
func refusedPosts(t *testing.T, e *env, viewer, op *webUser, path string, fields url.Values) {
	t.Helper()
	before := auditCount(t, e)
	_, page := viewer.get("/")
	forged := url.Values{}
	for k, v := range fields {
		forged[k] = v
	}
	forged.Set("csrf", formCSRF(t, page))
	if code, body := viewer.postRaw(path, forged, nil); code != http.StatusForbidden || !strings.Contains(body, "has role viewer") {
		t.Errorf("viewer POST %s: %d\n%s", path, code, firstLines(body, 30))
	}
	if code, body := op.postRaw(path, fields, nil); code != http.StatusForbidden {
		t.Errorf("POST %s without csrf: %d\n%s", path, code, firstLines(body, 30))
	}
	if n := auditCount(t, e); n != before {
		t.Errorf("refused POSTs to %s wrote %d audit record(s)", path, n-before)
	}
}

// wantAudit checks the newest audit record's action and actor.
func wantAudit(t *testing.T, e *env, action, actor string) {
	t.Helper()
	if ev := lastAudit(t, e); ev.Action != action || ev.Actor != "token:"+actor {
		t.Errorf("last audit record %s by %s, want %s by token:%s", ev.Action, ev.Actor, action, actor)
	}
}

// csvOf fetches path?format=csv and checks its type and header line.
func csvOf(t *testing.T, u *webUser, path, header string) string {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	code, body, resp := u.do(mustRequest(t, http.MethodGet, u.e.url+path+sep+"format=csv", ""))
	if code != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(body, header+"\n") {
		t.Errorf("GET %s csv: %d %s\n%s", path, code, resp.Header.Get("Content-Type"), firstLines(body, 5))
	}
	return body
}

// setPhase gives tiers 1 to tier a phase (the earlier ones with an end, as
// the ordering rule wants), straight in the inventory.
func setPhase(t testing.TB, e *env, tier int) {
	t.Helper()
	ctx := audit.WithActor(context.Background(), "test")
	start := e.inv.Now().Add(-24 * time.Hour)
	for n := 1; n <= tier; n++ {
		p := inventory.Phase{Tier: inventory.Tier(n), Target: inventory.StrengthShortLivedCert, Owner: "team-plan", Start: start,
			End: start.Add(time.Duration(n) * 30 * 24 * time.Hour)}
		if _, err := e.inv.SetPhase(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
}

// addException adds an exception of ten days on account and returns its
// id.
func addException(t testing.TB, e *env, account string) string {
	t.Helper()
	e.owner(account, "team-"+account)
	ex, err := e.inv.AddException(audit.WithActor(context.Background(), "test"),
		inventory.Exception{Account: account, Reason: "test", Owner: "team-x", Expires: e.inv.Now().Add(10 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return ex.ID
}

// vendorFields are a vendor form's fields (name only when adding).
func vendorFields(name, owner string) url.Values {
	v := url.Values{"owner": {owner}, "contact": {"ops@vendor.example"}, "route": {"vpn"}, "factor": {"totp"}, "on_lapse": {"notify"}}
	if name != "" {
		v.Set("name", name)
	}
	return v
}

// addVendor registers vendor name unless it is.
func addVendor(t testing.TB, e *env, name string) {
	t.Helper()
	if _, err := e.inv.Vendor(context.Background(), name); err == nil {
		return
	}
	if _, err := e.inv.AddVendor(audit.WithActor(context.Background(), "test"),
		inventory.Vendor{Name: name, Owner: "team-v", Contact: "ops@vendor.example", Route: "vpn"}); err != nil {
		t.Fatal(err)
	}
}

// TestWebPagesHeaders fetches every list page of webplan.go ...
// webimport.go, as HTML and as CSV: the security headers on each, and no
// inline script or style, nothing from elsewhere, in a page.
func TestWebPagesHeaders(t *testing.T) {
	e := newWebEnv(t)
	e.ingest("web7", "hdr-a")
	addVendor(t, e, "acme")
	u := e.webSignIn("hdr-admin", access.RoleAdmin)
	for _, path := range []string{"/plan", "/exceptions", "/hosts", "/hosts/web7", "/vendors", "/vendors/acme", "/tokens", "/audit", "/import",
		"/plan?format=csv", "/exceptions?format=csv", "/hosts?format=csv", "/vendors?format=csv", "/tokens?format=csv", "/audit?format=csv",
		"/plan?format=xml", "/hosts/none"} {
		code, body, resp := u.do(mustRequest(t, http.MethodGet, e.url+path, ""))
		switch {
		case strings.HasSuffix(path, "xml") && code != http.StatusBadRequest, path == "/hosts/none" && code != http.StatusNotFound,
			!strings.Contains(path, "xml") && path != "/hosts/none" && code != http.StatusOK:
			t.Errorf("GET %s: %d", path, code)
		}
		for k, v := range webHeaders {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("GET %s: %s = %q", path, k, got)
			}
		}
		if strings.Contains(path, "csv") {
			continue
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("GET %s: Cache-Control %q", path, cc)
		}
		for _, bad := range []string{"style=", "<style", " on", "<script>", "javascript:", "http://", "https://", "rst_"} {
			if bad == " on" {
				if regexp.MustCompile(`<[^>]+\son[a-z]+=`).MatchString(body) {
					t.Errorf("GET %s: an on*= attribute", path)
				}
				continue
			}
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: page holds %q", path, bad)
			}
		}
	}
}

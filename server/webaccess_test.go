package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/inventory"
)

// TestWebAccessRules requests every page of webRoutes as anonymous, viewer,
// operator and admin: anonymous GETs are sent to /login (303) and
// anonymous POSTs refused (401); a role below the route's gets 403 and
// changes nothing; the others get the route's success status. A web route
// without a case here fails the test.
func TestWebAccessRules(t *testing.T) {
	e := newWebEnv(t)
	var names []string
	for _, who := range []string{"anonymous", "viewer", "operator", "admin"} {
		names = append(names, "acc-"+who, "ret-"+who, "unret-"+who)
	}
	e.ingest("web7", append(names, "access-a")...)
	for _, who := range []string{"anonymous", "viewer", "operator", "admin"} {
		e.owner("acc-"+who, "team")
	}
	ctx := context.Background()
	expires := e.clock.Now().AddDate(0, 0, 10).Format("2006-01-02")
	users := map[string]*webUser{
		"anonymous": {e: e, t: t, cl: e.webClient()},
		"viewer":    e.webSignIn("w-viewer", access.RoleViewer),
		"operator":  e.webSignIn("w-operator", access.RoleOperator),
		"admin":     e.webSignIn("w-admin", access.RoleAdmin),
	}
	rank := map[string]access.Role{"viewer": access.RoleViewer, "operator": access.RoleOperator, "admin": access.RoleAdmin}
	// A case is the request to make: GET path, or POST path with fields
	// (the CSRF token of the user's dashboard, or of /login for anyone,
	// is added), from the page at from.
	type request struct {
		path   string
		fields url.Values
	}
	cases := map[string]struct {
		status int
		req    func(who string) request
	}{
		"GET /login": {200, func(string) request { return request{path: "/login"} }},
		"POST /login": {303, func(string) request {
			return request{path: "/login", fields: url.Values{"token": {users["viewer"].token}}}
		}},
		"GET /login/link/{code}": {200, func(string) request { return request{path: "/login/link/x"} }},
		// An unknown code: 401 for everyone (the route's own answer).
		"POST /login/link/{code}": {401, func(string) request { return request{path: "/login/link/x", fields: url.Values{}} }},
		"POST /logout":            {303, func(string) request { return request{path: "/logout", fields: url.Values{}} }},
		"GET /{$}":                {200, func(string) request { return request{path: "/"} }},
		"GET /accounts/{name}":    {200, func(string) request { return request{path: "/accounts/access-a"} }},
		"GET /accounts":           {200, func(string) request { return request{path: "/accounts?tier=1&sort=owner"} }},
		"POST /accounts/{name}/owner": {303, func(who string) request {
			return request{path: "/accounts/access-a/owner", fields: url.Values{"owner": {"team-" + who}}}
		}},
		"GET /plan": {200, func(string) request { return request{path: "/plan"} }},
		"POST /plan/{tier}": {303, func(who string) request {
			return request{path: "/plan/1", fields: url.Values{"target": {"short_lived_cert"}, "owner": {"team-" + who}, "start": {"2026-01-01"}}}
		}},
		"POST /plan/{tier}/remove": {303, func(string) request {
			// The phase to remove: set it again for each caller.
			setPhase(t, e, 4)
			return request{path: "/plan/4/remove", fields: url.Values{}}
		}},
		"GET /exceptions": {200, func(string) request { return request{path: "/exceptions?state=all"} }},
		"POST /exceptions/{id}/close": {303, func(string) request {
			return request{path: "/exceptions/" + addException(t, e, "access-a") + "/close", fields: url.Values{"reason": {"done"}}}
		}},
		"GET /hosts":        {200, func(string) request { return request{path: "/hosts"} }},
		"GET /hosts/{host}": {200, func(string) request { return request{path: "/hosts/web7"} }},
		"POST /hosts/{host}/tags": {303, func(who string) request {
			return request{path: "/hosts/web7/tags", fields: url.Values{"add": {"by-" + who}}}
		}},
		"GET /vendors": {200, func(string) request { return request{path: "/vendors"} }},
		"POST /vendors": {303, func(who string) request {
			return request{path: "/vendors", fields: vendorFields("v-"+who, "team-"+who)}
		}},
		"GET /vendors/{name}": {200, func(string) request { addVendor(t, e, "acme"); return request{path: "/vendors/acme"} }},
		"POST /vendors/{name}": {303, func(who string) request {
			addVendor(t, e, "acme")
			return request{path: "/vendors/acme", fields: vendorFields("", "team-"+who)}
		}},
		"POST /vendors/{name}/remove": {303, func(who string) request {
			addVendor(t, e, "gone-"+who)
			return request{path: "/vendors/gone-" + who + "/remove", fields: url.Values{}}
		}},
		"GET /tokens": {200, func(string) request { return request{path: "/tokens"} }},
		"POST /tokens": {201, func(who string) request {
			return request{path: "/tokens", fields: url.Values{"name": {"made-by-" + who}, "role": {"viewer"}}}
		}},
		"POST /tokens/{name}/revoke": {303, func(who string) request {
			e.newWebToken("revoked-by-"+who, access.RoleViewer)
			return request{path: "/tokens/revoked-by-" + who + "/revoke", fields: url.Values{}}
		}},
		"GET /audit":  {200, func(string) request { return request{path: "/audit"} }},
		"GET /import": {200, func(string) request { return request{path: "/import"} }},
		"POST /import": {200, func(who string) request {
			return request{path: "/import", fields: url.Values{"kind": {"owners"}, "csv": {"account,owner\naccess-a,team-" + who + "\n"}}}
		}},
		"POST /import/apply": {303, func(who string) request {
			return request{path: "/import/apply", fields: url.Values{"kind": {"owners"}, "csv": {"account,owner\naccess-a,team-" + who + "\n"}}}
		}},
		// Passkeys (webpasskey.go): options for anyone's sign-in; an
		// unknown ceremony is the sign-in route's own 401, a registration
		// without the browser's answer its own 400.
		"POST /login/passkey/begin": {200, func(string) request { return request{path: "/login/passkey/begin", fields: url.Values{}} }},
		"POST /login/passkey": {401, func(string) request {
			return request{path: "/login/passkey", fields: url.Values{"ceremony": {"x"}, "response": {"{}"}}}
		}},
		"GET /passkeys":                 {200, func(string) request { return request{path: "/passkeys"} }},
		"POST /passkeys/register/begin": {200, func(string) request { return request{path: "/passkeys/register/begin", fields: url.Values{}} }},
		"POST /passkeys/register":       {400, func(string) request { return request{path: "/passkeys/register", fields: url.Values{}} }},
		"GET /passkeys/all":             {200, func(string) request { return request{path: "/passkeys/all"} }},
		"POST /passkeys/all/{id}/revoke": {303, func(string) request {
			return request{path: "/passkeys/all/" + registerPasskey(t, e.inv.Store(), users["viewer"].tokenRecord()).ID + "/revoke", fields: url.Values{}}
		}},
		"POST /passkeys/{id}/revoke": {303, func(who string) request {
			// The user's own passkey (the admin's for anonymous).
			u := users[who]
			if who == "anonymous" {
				u = users["admin"]
			}
			return request{path: "/passkeys/" + registerPasskey(t, e.inv.Store(), u.tokenRecord()).ID + "/revoke", fields: url.Values{}}
		}},
		"POST /accounts/{name}/purpose": {303, func(who string) request {
			return request{path: "/accounts/acc-" + who + "/purpose", fields: url.Values{"purpose": {"runs the " + who + " jobs"}}}
		}},
		"POST /accounts/{name}/exceptions": {303, func(who string) request {
			return request{path: "/accounts/acc-" + who + "/exceptions", fields: url.Values{"reason": {"vendor"}, "owner": {"team"}, "expires": {expires}}}
		}},
		"POST /accounts/{name}/exceptions/{id}/close": {303, func(who string) request {
			ex, err := e.inv.AddException(ctx, inventory.Exception{Account: "acc-" + who, Reason: "r", Owner: "team", Expires: e.clock.Now().AddDate(0, 0, 5)})
			if err != nil {
				t.Fatal(err)
			}
			return request{path: "/accounts/acc-" + who + "/exceptions/" + ex.ID + "/close", fields: url.Values{"reason": {"done"}}}
		}},
		"POST /accounts/{name}/tags": {303, func(who string) request {
			return request{path: "/accounts/acc-" + who + "/tags", fields: url.Values{"add": {"t-" + who + ", critical"}}}
		}},
		"POST /accounts/{name}/tier": {303, func(who string) request {
			return request{path: "/accounts/acc-" + who + "/tier", fields: url.Values{"tier": {"2"}, "reason": {"faces a vendor"}}}
		}},
		"POST /accounts/{name}/retire": {303, func(who string) request {
			return request{path: "/accounts/ret-" + who + "/retire", fields: url.Values{"reason": {"gone"}}}
		}},
		"POST /accounts/{name}/unretire": {303, func(who string) request {
			if err := e.inv.RetireAccount(ctx, "unret-"+who, true, "gone"); err != nil {
				t.Fatal(err)
			}
			return request{path: "/accounts/unret-" + who + "/unretire", fields: url.Values{"reason": {"back"}}}
		}},
		"POST /accounts/{name}/enroll": {201, func(who string) request {
			return request{path: "/accounts/acc-" + who + "/enroll", fields: url.Values{"host": {"web7"}}}
		}},
	}
	for _, rt := range e.s.webRoutes() {
		c, ok := cases[rt.pattern]
		if !ok {
			t.Errorf("web route %s has no access case", rt.pattern)
			continue
		}
		for _, who := range []string{"anonymous", "viewer", "operator", "admin"} {
			u := users[who]
			req := c.req(who)
			var code int
			var body string
			if req.fields == nil {
				code, body = u.get(req.path)
			} else {
				from := "/"
				if rt.who == anyone || who == "anonymous" {
					from = "/login"
				}
				// Use a fresh client for the sign-in pages, so that the
				// user's own session stays.
				if rt.who == anyone {
					u = &webUser{e: e, t: t, cl: e.webClient()}
				}
				code, body = u.post(from, req.path, req.fields)
			}
			want := c.status
			switch {
			case rt.who == anyone:
			case who == "anonymous" && req.fields == nil:
				want = http.StatusSeeOther
			case who == "anonymous":
				want = http.StatusUnauthorized
			case !rank[who].Allows(rt.who.role()):
				want = http.StatusForbidden
			}
			if code != want {
				t.Errorf("%s as %s: %d, want %d\n%s", rt.pattern, who, code, want, firstLines(body, 40))
			}
		}
		if rt.pattern == "POST /logout" {
			// Sign back in: the case signed everyone out.
			for who, u := range users {
				if who != "anonymous" {
					u.signIn(u.token)
				}
			}
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

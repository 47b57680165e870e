package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/api"
)

// sessionCookieOf is the session cookie u's jar holds ("" for none).
func (u *webUser) sessionCookieOf() string {
	base, _ := url.Parse(u.e.url)
	for _, c := range u.cl.Jar.Cookies(base) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

// sessions counts the stored sessions of the token named name.
func (e *env) sessionsOf(name string) int {
	e.t.Helper()
	toks, err := e.s.tokens.List(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, tk := range toks {
		if tk.Name == name {
			c, err := e.s.sessions.Count(context.Background(), tk.ID)
			if err != nil {
				e.t.Fatal(err)
			}
			n += c
		}
	}
	return n
}

func TestWebLogin(t *testing.T) {
	e := newWebEnv(t)
	anon := &webUser{e: e, t: t, cl: e.webClient()}
	code, _, resp := anon.do(mustRequest(t, http.MethodGet, e.url+"/accounts/legacy?x=1", ""))
	if code != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next="+url.QueryEscape("/accounts/legacy?x=1") {
		t.Fatalf("anonymous GET: %d Location %q", code, resp.Header.Get("Location"))
	}

	tok := e.newWebToken("alice", access.RoleOperator)
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"wrong token", access.TokenPrefix + strings.Repeat("A", 43), http.StatusUnauthorized},
		{"empty", "", http.StatusUnauthorized},
		{"not a token", "hunter2", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &webUser{e: e, t: t, cl: e.webClient()}
			_, page := u.get("/login")
			code, body := u.postRaw("/login", url.Values{"token": {tc.token}, "csrf": {formCSRF(t, page)}}, nil)
			if code != tc.want || !strings.Contains(body, "not valid or has been revoked") || u.sessionCookieOf() != "" {
				t.Errorf("POST /login: %d, cookie %q\n%s", code, u.sessionCookieOf(), body)
			}
			if tc.token != "" && strings.Contains(body, tc.token) {
				t.Error("the refused token is echoed in the page")
			}
		})
	}

	// The cookie's attributes, from the Set-Cookie header itself.
	u := &webUser{e: e, t: t, cl: e.webClient(), token: tok, name: "alice"}
	_, page := u.get("/login?next=/accounts/legacy")
	req := mustRequest(t, http.MethodPost, e.url+"/login", url.Values{"token": {tok}, "csrf": {formCSRF(t, page)},
		"next": {"/accounts/legacy"}}.Encode())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	code, _, resp = u.do(req)
	if code != http.StatusSeeOther || resp.Header.Get("Location") != "/accounts/legacy" {
		t.Fatalf("POST /login: %d Location %q", code, resp.Header.Get("Location"))
	}
	var set string
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, sessionCookie+"=") {
			set = c
		}
	}
	for _, want := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(set, want) {
			t.Errorf("session cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Domain=") || strings.Contains(set, "Max-Age") {
		t.Errorf("session cookie %q has a domain or lifetime", set)
	}
	first := u.sessionCookieOf()
	if code, body := u.get("/"); code != http.StatusOK || !strings.Contains(body, "Signed in as <strong>alice</strong> (operator)") {
		t.Fatalf("dashboard: %d\n%s", code, body)
	}

	// Signing in again rotates the id and ends the old session.
	u.signIn(tok)
	if second := u.sessionCookieOf(); second == first || second == "" {
		t.Fatal("the session id did not change at sign-in")
	}
	if n := e.sessionsOf("alice"); n != 1 {
		t.Errorf("%d sessions after a second sign-in, want 1", n)
	}
	old := &webUser{e: e, t: t, cl: e.webClient()}
	old.setSession(first)
	if code, _ := old.get("/"); code != http.StatusSeeOther {
		t.Errorf("the session before the second sign-in still works: %d", code)
	}

	// Where to go after signing in is this server's path, or /.
	for next, want := range map[string]string{"/plan": "/plan", "//evil.example/": "/", "https://evil.example/": "/",
		"/\\evil.example": "/", "/login": "/", "": "/", "/\t/evil.example": "/", "/a\\b": "/"} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
	if strings.Contains(e.audits(), "ui.signin ok") == false {
		t.Errorf("sign-in not audited:\n%s", e.audits())
	}
}

// setSession puts a session id in u's jar.
func (u *webUser) setSession(id string) {
	base, _ := url.Parse(u.e.url)
	u.cl.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookie, Value: id, Path: "/", Secure: true, HttpOnly: true}})
}

func mustRequest(t testing.TB, method, u, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestWebLogout(t *testing.T) {
	e := newWebEnv(t)
	u := e.webSignIn("bob", access.RoleViewer)
	id := u.sessionCookieOf()
	code, _ := u.post("/", "/logout", nil)
	if code != http.StatusSeeOther {
		t.Fatalf("POST /logout: %d", code)
	}
	if u.sessionCookieOf() != "" {
		t.Error("the cookie is kept after sign-out")
	}
	if n := e.sessionsOf("bob"); n != 0 {
		t.Errorf("%d sessions stored after sign-out", n)
	}
	// The old id, replayed, is refused: the session is gone on the server.
	u.setSession(id)
	if code, _ := u.get("/"); code != http.StatusSeeOther {
		t.Errorf("replayed session after sign-out: %d", code)
	}
	if code, body := u.get("/login?signed_out=1"); code != http.StatusOK || !strings.Contains(body, "You are signed out") {
		t.Errorf("sign-in page after sign-out: %d", code)
	}
	if !strings.Contains(e.audits(), "ui.signout ok") {
		t.Errorf("sign-out not audited:\n%s", e.audits())
	}
}

func TestWebSessionExpiry(t *testing.T) {
	e := newWebEnv(t)
	t.Run("idle", func(t *testing.T) {
		u := e.webSignIn("idle", access.RoleViewer)
		e.clock.Advance(access.DefaultSessionIdle - time.Minute)
		if code, _ := u.get("/"); code != http.StatusOK {
			t.Fatalf("within the idle time: %d", code)
		}
		// The page view above refreshed the session: another idle period
		// less a minute is still fine, a whole one is not.
		e.clock.Advance(access.DefaultSessionIdle - time.Minute)
		if code, _ := u.get("/"); code != http.StatusOK {
			t.Fatalf("within the idle time after a page view: %d", code)
		}
		e.clock.Advance(access.DefaultSessionIdle)
		if code, _ := u.get("/"); code != http.StatusSeeOther {
			t.Fatalf("idle past the expiry: %d", code)
		}
		if n := e.sessionsOf("idle"); n != 0 {
			t.Errorf("expired session kept: %d", n)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		u := e.webSignIn("busy", access.RoleViewer)
		for elapsed := time.Duration(0); elapsed < access.DefaultSessionMax-20*time.Minute; elapsed += 20 * time.Minute {
			e.clock.Advance(20 * time.Minute)
			if code, _ := u.get("/"); code != http.StatusOK {
				t.Fatalf("after %s of use: %d", elapsed, code)
			}
		}
		e.clock.Advance(20 * time.Minute)
		if code, _ := u.get("/"); code != http.StatusSeeOther {
			t.Fatalf("past the absolute expiry: %d", code)
		}
		// A POST of an expired session changes nothing and says so.
		code, body := u.postRaw("/logout", url.Values{"csrf": {"x"}}, nil)
		if code != http.StatusUnauthorized || !strings.Contains(body, "session has ended") {
			t.Errorf("POST with an expired session: %d %s", code, body)
		}
	})
}

func TestWebTokenRevokeEndsSession(t *testing.T) {
	e := newWebEnv(t)
	admin := e.newWebToken("boss", access.RoleAdmin)
	u := e.webSignIn("leaver", access.RoleOperator)
	if code, _ := u.get("/"); code != http.StatusOK {
		t.Fatal(code)
	}
	if code, body := e.operatorCall(admin, http.MethodDelete, "/v1/tokens/leaver", ""); code != http.StatusOK {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if n := e.sessionsOf("leaver"); n != 0 {
		t.Errorf("revoked token keeps %d sessions", n)
	}
	if code, _ := u.get("/"); code != http.StatusSeeOther {
		t.Errorf("session of a revoked token: %d", code)
	}
}

func TestWebCSRF(t *testing.T) {
	e := newWebEnv(t)
	e.ingest("web9", "csrf-target")
	u := e.webSignIn("op", access.RoleOperator)
	_, page := u.get("/accounts/csrf-target")
	good := formCSRF(t, page)
	other := e.webSignIn("op2", access.RoleOperator)
	_, otherPage := other.get("/")
	for _, tc := range []struct {
		name   string
		csrf   []string
		header http.Header
		want   int
	}{
		{"no token", nil, nil, http.StatusForbidden},
		{"empty token", []string{""}, nil, http.StatusForbidden},
		{"wrong token", []string{strings.Repeat("x", 43)}, nil, http.StatusForbidden},
		{"another session's token", []string{formCSRF(t, otherPage)}, nil, http.StatusForbidden},
		{"cross-site origin", []string{good}, http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"another port", []string{good}, http.Header{"Origin": {"https://127.0.0.1:1"}}, http.StatusForbidden},
		{"null origin", []string{good}, http.Header{"Origin": {"null"}}, http.StatusForbidden},
		{"null origin cross-site", []string{good}, http.Header{"Origin": {"null"}, "Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"null origin same-origin", []string{good}, http.Header{"Origin": {"null"}, "Sec-Fetch-Site": {"same-origin"}}, http.StatusSeeOther},
		{"sec-fetch-site cross-site", []string{good}, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"sec-fetch-site same-site", []string{good}, http.Header{"Sec-Fetch-Site": {"same-site"}}, http.StatusForbidden},
		{"same origin", []string{good}, http.Header{"Origin": {e.url}, "Sec-Fetch-Site": {"same-origin"}}, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := url.Values{"owner": {"team-" + strings.ReplaceAll(tc.name, " ", "-")}}
			if tc.csrf != nil {
				f["csrf"] = tc.csrf
			}
			code, body := u.postRaw("/accounts/csrf-target/owner", f, tc.header)
			if code != tc.want {
				t.Fatalf("%d, want %d\n%s", code, tc.want, body)
			}
			acct, err := e.inv.GetAccount(context.Background(), "csrf-target")
			if err != nil {
				t.Fatal(err)
			}
			changed := acct.Owner != nil && acct.Owner.Name == f.Get("owner")
			if changed != (tc.want == http.StatusSeeOther) {
				t.Errorf("owner changed: %v", changed)
			}
			if tc.want == http.StatusForbidden && !strings.Contains(body, "nothing was changed") {
				t.Errorf("the 403 page does not say nothing changed:\n%s", body)
			}
		})
	}
	// The sign-in form: without the cookie's value, or from another site,
	// no session is made.
	anon := &webUser{e: e, t: t, cl: e.webClient()}
	tok := e.newWebToken("fixated", access.RoleViewer)
	if code, _ := anon.postRaw("/login", url.Values{"token": {tok}}, nil); code != http.StatusForbidden {
		t.Errorf("POST /login without its CSRF cookie: %d", code)
	}
	_, page = anon.get("/login")
	if code, _ := anon.postRaw("/login", url.Values{"token": {tok}, "csrf": {formCSRF(t, page)}},
		http.Header{"Origin": {"https://evil.example"}}); code != http.StatusForbidden {
		t.Errorf("cross-site POST /login: %d", code)
	}
	if anon.sessionCookieOf() != "" || e.sessionsOf("fixated") != 0 {
		t.Error("a refused sign-in made a session")
	}
}

func TestWebViewerForgedPost(t *testing.T) {
	e := newWebEnv(t)
	v := e.webSignIn("watcher", access.RoleViewer)
	code, page := v.get("/accounts/nobody-owns")
	if code != http.StatusOK {
		t.Fatal(code)
	}
	if strings.Contains(page, `action="/accounts/`) {
		t.Errorf("a viewer's account page has write controls:\n%s", page)
	}
	// A forged POST with the viewer's own valid CSRF token.
	code, body := v.postRaw("/accounts/nobody-owns/owner", url.Values{"owner": {"mallory"}, "csrf": {formCSRF(t, page)}}, nil)
	if code != http.StatusForbidden || !strings.Contains(body, "has role viewer") {
		t.Errorf("viewer POST: %d\n%s", code, body)
	}
	if acct, _ := e.inv.GetAccount(context.Background(), "nobody-owns"); acct.Owner != nil {
		t.Errorf("a viewer set an owner: %+v", acct.Owner)
	}
	op := e.webSignIn("doer", access.RoleOperator)
	if code, page := op.get("/accounts/nobody-owns"); code != http.StatusOK || !strings.Contains(page, `action="/accounts/nobody-owns@`) {
		t.Errorf("an operator's account page has no owner form: %d\n%s", code, page)
	}
	code, _ = op.post("/accounts/nobody-owns", "/accounts/nobody-owns/owner", url.Values{"owner": {"team-a"}})
	if acct, _ := e.inv.GetAccount(context.Background(), "nobody-owns"); code != http.StatusSeeOther || acct.Owner == nil || acct.Owner.Name != "team-a" {
		t.Errorf("operator POST: %d, owner %+v", code, acct.Owner)
	}
	if !strings.Contains(e.audits(), "owner.set ok") {
		t.Errorf("owner change not audited:\n%s", e.audits())
	}
}

// TestWebHeaders: every page, error page and static file carries the
// security headers; pages are not cached.
func TestWebHeaders(t *testing.T) {
	e := newWebEnv(t)
	u := e.webSignIn("hdr", access.RoleAdmin)
	anon := &webUser{e: e, t: t, cl: e.webClient()}
	paths := []struct {
		u    *webUser
		path string
		code int
		page bool
	}{
		{anon, "/login", 200, true},
		{anon, "/login/link/abc", 200, true},
		{anon, "/", 303, false},
		{u, "/", 200, true},
		{u, "/accounts/legacy", 200, true},
		{u, "/accounts/no-such-account", 404, true},
		{u, "/passkeys", 200, true},
		{u, "/passkeys/all", 200, true},
		{u, "/static/passkey.js", 200, false},
		{u, "/static/roster.css", 200, false},
		{u, "/static/", 404, false},
		{u, "/static/nothing.js", 404, false},
	}
	for _, p := range paths {
		code, body, resp := p.u.do(mustRequest(t, http.MethodGet, e.url+p.path, ""))
		if code != p.code {
			t.Errorf("GET %s: %d, want %d", p.path, code, p.code)
		}
		for k, v := range webHeaders {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("GET %s: %s = %q", p.path, k, got)
			}
		}
		if p.page {
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("GET %s: Cache-Control %q", p.path, cc)
			}
			// The inline chart's SVG namespace is a name, not a fetch.
			body = strings.ReplaceAll(body, `xmlns="http://www.w3.org/2000/svg"`, "")
			for _, bad := range []string{"style=", "<style", "onclick", "<script>", "javascript:", "http://", "https://"} {
				if strings.Contains(body, bad) {
					t.Errorf("GET %s: page holds %q", p.path, bad)
				}
			}
		}
	}
	// A POST refused by the CSRF check carries them too.
	code, _, resp := u.do(mustRequest(t, http.MethodPost, e.url+"/logout", ""))
	if code != http.StatusForbidden || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("refused POST: %d, headers %v", code, resp.Header)
	}
}

func TestWebLoginLink(t *testing.T) {
	e := newWebEnv(t)
	tok := e.newWebToken("linker", access.RoleViewer)
	newLink := func() string {
		t.Helper()
		code, body := e.operatorCall(tok, http.MethodPost, "/v1/ui/login-links", "")
		if code != http.StatusCreated {
			t.Fatalf("POST /v1/ui/login-links: %d %s", code, body)
		}
		var l api.LoginLink
		mustUnmarshal(t, body, &l)
		if !strings.HasPrefix(l.Path, "/login/link/") || l.ExpiresAt.Sub(e.clock.Now()) > access.LoginLinkLife+time.Second {
			t.Fatalf("link %+v", l)
		}
		return l.Path
	}
	if code, _ := e.operatorCall("", http.MethodPost, "/v1/ui/login-links", ""); code != http.StatusUnauthorized {
		t.Errorf("link without a token: %d", code)
	}
	use := func(path string) (*webUser, int) {
		u := &webUser{e: e, t: t, cl: e.webClient()}
		code, page := u.get(path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, code)
		}
		code, _ = u.postRaw(path, url.Values{"csrf": {formCSRF(t, page)}}, nil)
		return u, code
	}
	p := newLink()
	// Opening the link does not use it up.
	(&webUser{e: e, t: t, cl: e.webClient()}).get(p)
	u, code := use(p)
	if code != http.StatusSeeOther {
		t.Fatalf("first use: %d", code)
	}
	if code, body := u.get("/"); code != http.StatusOK || !strings.Contains(body, "linker") {
		t.Errorf("dashboard after a link: %d", code)
	}
	if _, code := use(p); code != http.StatusUnauthorized {
		t.Errorf("second use: %d", code)
	}
	p = newLink()
	e.clock.Advance(access.LoginLinkLife + time.Second)
	if _, code := use(p); code != http.StatusUnauthorized {
		t.Errorf("expired link: %d", code)
	}
	if _, code := use("/login/link/" + strings.Repeat("A", 43)); code != http.StatusUnauthorized {
		t.Errorf("unknown link: %d", code)
	}
	if !strings.Contains(e.audits(), "ui.login.link ok") {
		t.Errorf("link not audited:\n%s", e.audits())
	}
}

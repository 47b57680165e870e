package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/access/passkeytest"
)

// ceremonyJSON is the answer of a .../begin route.
type ceremonyJSON struct {
	Ceremony string          `json:"ceremony"`
	Options  json.RawMessage `json:"options"`
}

// beginCeremony posts to a .../begin route with the CSRF token of the page
// at from and returns the ceremony.
func (u *webUser) beginCeremony(from, path string) ceremonyJSON {
	u.t.Helper()
	code, body := u.post(from, path, nil)
	if code != http.StatusOK {
		u.t.Fatalf("POST %s: %d %s", path, code, firstLines(body, 20))
	}
	var c ceremonyJSON
	mustUnmarshal(u.t, []byte(body), &c)
	return c
}

// registerWeb registers a passkey of a through the passkeys page.
func (u *webUser) registerWeb(a *passkeytest.Authenticator, label string) (int, string) {
	u.t.Helper()
	c := u.beginCeremony("/passkeys", "/passkeys/register/begin")
	return u.post("/passkeys", "/passkeys/register", url.Values{"ceremony": {c.Ceremony}, "name": {label},
		"response": {string(a.Create(u.t, c.Options))}})
}

// passkeySignIn signs in with a through the sign-in page, as a browser
// without a session; answer may change the authenticator's answer.
func (e *env) passkeySignIn(t testing.TB, a *passkeytest.Authenticator, next string, answer func([]byte) []byte) (*webUser, int, string) {
	t.Helper()
	return e.passkeySignInAs(&webUser{e: e, t: t, cl: e.webClient()}, a, next, answer)
}

// passkeySignInAs is passkeySignIn in u's browser (its cookies kept).
func (e *env) passkeySignInAs(u *webUser, a *passkeytest.Authenticator, next string, answer func([]byte) []byte) (*webUser, int, string) {
	t := u.t
	t.Helper()
	c := u.beginCeremony("/login", "/login/passkey/begin")
	resp := a.Get(t, c.Options)
	if answer != nil {
		resp = answer(resp)
	}
	code, body := u.post("/login", "/login/passkey", url.Values{"ceremony": {c.Ceremony}, "response": {string(resp)}, "next": {next}})
	return u, code, body
}

// TestWebPasskeys: an operator signed in with a token registers a passkey,
// signs out, and signs in with the passkey and no token (a new session
// with factor passkey); refused answers make no session; registration and
// sign-in are audited.
func TestWebPasskeys(t *testing.T) {
	e := newWebEnv(t)
	alice := e.webSignIn("alice", access.RoleOperator)
	code, page := alice.get("/passkeys")
	if code != 200 || !strings.Contains(page, "None yet") || !strings.Contains(page, `data-begin="/passkeys/register/begin"`) ||
		!strings.Contains(page, `<script src="/static/passkey.js" defer></script>`) || !strings.Contains(page, "<code>localhost</code>") {
		t.Fatalf("GET /passkeys: %d\n%s", code, page)
	}
	// The options: the server's name as relying party, a random user
	// handle, a discoverable credential with user verification.
	c := alice.beginCeremony("/passkeys", "/passkeys/register/begin")
	var opts struct {
		PublicKey struct {
			RP   struct{ ID string }
			User struct{ ID, Name, DisplayName string }
			Sel  struct{ ResidentKey, UserVerification string } `json:"authenticatorSelection"`
		}
	}
	mustUnmarshal(t, c.Options, &opts)
	o := opts.PublicKey
	if o.RP.ID != "localhost" || o.User.Name != "alice" || o.User.DisplayName != "alice" || len(o.User.ID) != 43 ||
		o.Sel.ResidentKey != "required" || o.Sel.UserVerification != "required" {
		t.Errorf("creation options: %s", c.Options)
	}
	a := passkeytest.New(t, testPasskeyOrigin, "localhost")
	if code, body := alice.registerWeb(a, "laptop"); code != http.StatusSeeOther {
		t.Fatalf("register: %d %s", code, firstLines(body, 20))
	}
	_, page = alice.get("/passkeys?done=registered")
	if !strings.Contains(page, "Passkey registered") || !strings.Contains(page, "<th scope=\"row\">laptop</th>") || !strings.Contains(page, "never") {
		t.Errorf("passkeys page after registering:\n%s", page)
	}
	if code, _ := alice.post("/", "/logout", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", code)
	}

	// No token: the passkey alone, back to the page asked for.
	u, code, body := e.passkeySignIn(t, a, "/passkeys", nil)
	if code != http.StatusSeeOther {
		t.Fatalf("passkey sign-in: %d %s", code, firstLines(body, 30))
	}
	code, page = u.get("/passkeys")
	if code != 200 || !strings.Contains(page, "Signed in as <strong>alice</strong>") || !strings.Contains(page, "with a passkey") {
		t.Errorf("after a passkey sign-in: %d\n%s", code, page)
	}
	audits := e.audits()
	for _, want := range []string{"passkey.register", "passkey.login", "ui.signin"} {
		if !strings.Contains(audits, want) {
			t.Errorf("audit log lacks %s:\n%s", want, audits)
		}
	}

	// Signing in again in the same browser makes a new session id and ends
	// the old one (rotation, as with the token form).
	old := sessionCookieOf(t, u)
	if _, code, _ := e.passkeySignInAs(u, a, "/", nil); code != http.StatusSeeOther {
		t.Fatalf("second passkey sign-in: %d", code)
	}
	if now := sessionCookieOf(t, u); now == old || now == "" {
		t.Error("the session id did not change at sign-in")
	}
	if _, _, err := e.s.sessions.Authenticate(t.Context(), old); err == nil {
		t.Error("the old session outlived the new sign-in")
	}

	// Refused answers: no session, the sign-in page says why.
	for _, tc := range []struct {
		desc   string
		a      func() *passkeytest.Authenticator
		answer func([]byte) []byte
		want   string
	}{
		{"unregistered passkey", func() *passkeytest.Authenticator { return passkeytest.New(t, testPasskeyOrigin, "localhost") }, nil, "not registered here"},
		{"another site's answer", func() *passkeytest.Authenticator { b := *a; b.Origin = "https://evil.example"; return &b }, nil, "did not verify"},
		{"replayed counter", func() *passkeytest.Authenticator { b := *a; b.Count = 0; return &b }, nil, "clone"},
	} {
		u, code, body := e.passkeySignIn(t, tc.a(), "/", tc.answer)
		if code != http.StatusUnauthorized || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want 401 with %q\n%s", tc.desc, code, tc.want, firstLines(body, 30))
		}
		if code, _ := u.get("/"); code != http.StatusSeeOther {
			t.Errorf("%s: a session was made (GET / = %d)", tc.desc, code)
		}
	}
	// The clone warning stays: even an honest answer is refused now.
	a.Count += 5
	if _, code, body := e.passkeySignIn(t, a, "/", nil); code != http.StatusUnauthorized || !strings.Contains(body, "clone warning") {
		t.Errorf("passkey with a clone warning: %d\n%s", code, firstLines(body, 30))
	}
}

// TestWebPasskeyForgeries: the passkey routes refuse a POST without the
// page's CSRF token or from another site, and an operator revokes only
// its own passkeys there.
func TestWebPasskeyForgeries(t *testing.T) {
	e := newWebEnv(t)
	bob := e.webSignIn("bob", access.RoleOperator)
	eve := e.webSignIn("eve", access.RoleOperator)
	bobKey := registerPasskey(t, e.inv.Store(), bob.tokenRecord())
	_, page := eve.get("/passkeys")
	eveCSRF := formCSRF(t, page)
	_, page = bob.get("/passkeys")
	bobCSRF := formCSRF(t, page)
	anon := &webUser{e: e, t: t, cl: e.webClient()}
	_, loginPage := anon.get("/login")
	anonCSRF := formCSRF(t, loginPage)
	cross := http.Header{"Sec-Fetch-Site": {"cross-site"}}
	evil := http.Header{"Origin": {"https://evil.example"}}
	for _, tc := range []struct {
		desc   string
		u      *webUser
		path   string
		fields url.Values
		header http.Header
		want   int
	}{
		{"registration begin without csrf", bob, "/passkeys/register/begin", url.Values{}, nil, 403},
		{"registration begin with another session's csrf", bob, "/passkeys/register/begin", url.Values{"csrf": {eveCSRF}}, nil, 403},
		{"registration begin cross-site", bob, "/passkeys/register/begin", url.Values{"csrf": {bobCSRF}}, cross, 403},
		{"registration finish from another origin", bob, "/passkeys/register", url.Values{"csrf": {bobCSRF}, "response": {"{}"}}, evil, 403},
		{"sign-in begin without csrf", anon, "/login/passkey/begin", url.Values{}, nil, 403},
		{"sign-in begin cross-site", anon, "/login/passkey/begin", url.Values{"csrf": {anonCSRF}}, cross, 403},
		{"sign-in finish from another origin", anon, "/login/passkey", url.Values{"csrf": {anonCSRF}}, evil, 403},
		{"revoke without csrf", bob, "/passkeys/" + bobKey.ID + "/revoke", url.Values{}, nil, 403},
		{"revoke another's", eve, "/passkeys/" + bobKey.ID + "/revoke", url.Values{"csrf": {eveCSRF}}, nil, 403},
		{"revoke another's as admin-only action", eve, "/passkeys/all/" + bobKey.ID + "/revoke", url.Values{"csrf": {eveCSRF}}, nil, 403},
		{"sign-in begin", anon, "/login/passkey/begin", url.Values{"csrf": {anonCSRF}}, nil, 200},
	} {
		if code, body := tc.u.postRaw(tc.path, tc.fields, tc.header); code != tc.want {
			t.Errorf("%s: %d, want %d\n%s", tc.desc, code, tc.want, firstLines(body, 20))
		}
	}
	if list, _ := e.s.passkeys.List(t.Context(), ""); len(list) != 1 || !list[0].Active() {
		t.Errorf("a forged POST changed the passkeys: %+v", list)
	}
	if code, _ := bob.post("/passkeys", "/passkeys/"+bobKey.ID+"/revoke", url.Values{}); code != http.StatusSeeOther {
		t.Errorf("bob revokes his own: %d", code)
	}
	if _, page := bob.get("/passkeys"); !strings.Contains(page, "revoked ") || strings.Contains(page, "/passkeys/"+bobKey.ID+"/revoke") {
		t.Errorf("after revoking:\n%s", page)
	}
}

// TestWebAdminPasskey: with --ui-admin-passkey an admin signed in with a
// token is refused the admin pages and actions (403, saying so); signed
// in with a passkey, allowed. Pages for every role stay open to the token
// session.
func TestWebAdminPasskey(t *testing.T) {
	var e *env
	e = newEnvOpts(t, true, nil, func(o *Options) {
		o.Now = func() time.Time { return e.clock.Now() }
		o.UIAdminPasskey = true
	})
	root := e.webSignIn("root", access.RoleAdmin)
	var adminPages []string
	for _, rt := range e.s.webRoutes() {
		if method, path, _ := strings.Cut(rt.pattern, " "); rt.who == admin && method == http.MethodGet && !strings.Contains(path, "{") {
			adminPages = append(adminPages, path)
		}
	}
	if len(adminPages) == 0 {
		t.Fatal("no admin page to check")
	}
	for _, p := range adminPages {
		if code, body := root.get(p); code != http.StatusForbidden || !strings.Contains(body, "passkey") {
			t.Errorf("token admin GET %s: %d, want 403 naming passkeys\n%s", p, code, firstLines(body, 20))
		}
	}
	if code, _ := root.get("/passkeys"); code != 200 {
		t.Errorf("token admin GET /passkeys (own passkeys, to register one): %d", code)
	}
	other := registerPasskey(t, e.inv.Store(), e.webSignIn("ops", access.RoleOperator).tokenRecord())
	if code, _ := root.post("/passkeys", "/passkeys/all/"+other.ID+"/revoke", url.Values{}); code != http.StatusForbidden {
		t.Errorf("token admin revokes another's passkey: %d, want 403", code)
	}
	a := passkeytest.New(t, testPasskeyOrigin, "localhost")
	if code, _ := root.registerWeb(a, "yubikey"); code != http.StatusSeeOther {
		t.Fatalf("admin registers a passkey: %d", code)
	}
	pk, code, body := e.passkeySignIn(t, a, "/passkeys/all", nil)
	if code != http.StatusSeeOther {
		t.Fatalf("admin passkey sign-in: %d\n%s", code, firstLines(body, 20))
	}
	for _, p := range adminPages {
		if code, _ := pk.get(p); code != 200 {
			t.Errorf("passkey admin GET %s: %d", p, code)
		}
	}
	if code, _ := pk.post("/passkeys/all", "/passkeys/all/"+other.ID+"/revoke", url.Values{}); code != http.StatusSeeOther {
		t.Errorf("passkey admin revokes another's passkey: %d", code)
	}
}

// sessionCookieOf is the session id in u's cookie jar.
func sessionCookieOf(t testing.TB, u *webUser) string {
	t.Helper()
	base, err := url.Parse(u.e.url)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range u.cl.Jar.Cookies(base) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
)

// webUser is a browser-like client of the web page: a cookie jar, no
// redirects followed (tests look at each 303), and the token it signed in
// with.
type webUser struct {
	e     *env
	t     testing.TB
	cl    *http.Client
	token string // the operator token's plaintext
	name  string // the token's name
}

// newWebEnv is newEnv whose server's web sessions use the test clock.
func newWebEnv(t testing.TB) *env {
	t.Helper()
	var e *env
	e = newEnvOpts(t, true, nil, func(o *Options) { o.Now = func() time.Time { return e.clock.Now() } })
	return e
}

// webClient is an HTTPS client trusting the CA's root (at the test clock's
// time), with a cookie jar, that does not follow redirects.
func (e *env) webClient() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	cl := e.client(nil, nil, true)
	cl.Transport.(*http.Transport).TLSClientConfig.Time = e.clock.Now
	cl.Jar = jar
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return cl
}

// newWebToken creates an operator token with role and returns its
// plaintext.
func (e *env) newWebToken(name string, role access.Role) string {
	e.t.Helper()
	plain, _, err := access.New(e.inv.Store(), nil).Create(audit.WithActor(context.Background(), "test"), name, role)
	if err != nil {
		e.t.Fatal(err)
	}
	return plain
}

// webSignIn creates a token named name with role and signs in with it
// through GET and POST /login, as a browser does.
func (e *env) webSignIn(name string, role access.Role) *webUser {
	e.t.Helper()
	u := &webUser{e: e, t: e.t, cl: e.webClient(), token: e.newWebToken(name, role), name: name}
	u.signIn(u.token)
	return u
}

// signIn posts the sign-in form with token and checks that it worked.
func (u *webUser) signIn(token string) {
	u.t.Helper()
	code, body := u.get("/login")
	if code != http.StatusOK {
		u.t.Fatalf("GET /login: %d %s", code, body)
	}
	code, body = u.postRaw("/login", url.Values{"token": {token}, "csrf": {formCSRF(u.t, body)}}, nil)
	if code != http.StatusSeeOther {
		u.t.Fatalf("POST /login: %d %s", code, body)
	}
}

// do sends a request and returns status, body and response.
func (u *webUser) do(req *http.Request) (int, string, *http.Response) {
	u.t.Helper()
	resp, err := u.cl.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		u.t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp
}

// get fetches a page.
func (u *webUser) get(path string) (int, string) {
	u.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u.e.url+path, nil)
	if err != nil {
		u.t.Fatal(err)
	}
	code, body, _ := u.do(req)
	return code, body
}

// post submits a form to path with the CSRF token of the page at from
// (the form's own page, as a browser would), plus fields.
func (u *webUser) post(from, path string, fields url.Values) (int, string) {
	u.t.Helper()
	code, page := u.get(from)
	if code != http.StatusOK {
		u.t.Fatalf("GET %s: %d %s", from, code, page)
	}
	if fields == nil {
		fields = url.Values{}
	}
	fields.Set("csrf", formCSRF(u.t, page))
	return u.postRaw(path, fields, nil)
}

// postRaw submits fields as they are, with extra headers.
func (u *webUser) postRaw(path string, fields url.Values, header http.Header) (int, string) {
	u.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u.e.url+path, strings.NewReader(fields.Encode()))
	if err != nil {
		u.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	code, body, _ := u.do(req)
	return code, body
}

var csrfInput = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]+)">`)

// formCSRF is the CSRF field of the first form in page.
func formCSRF(t testing.TB, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in page:\n%s", page)
	}
	return m[1]
}

func mustUnmarshal(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

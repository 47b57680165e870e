package server

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/rosterhq/roster/access"
)

// The passkey test in a real browser: Debian's Chromium, driven over the
// DevTools protocol, with the protocol's virtual authenticator (WebAuthn
// domain) standing in for a security key. The server is real: HTTPS on
// 127.0.0.1, browsed to as https://localhost:PORT (WebAuthn needs a name).

// passkeyBrowser is a headless Chromium tab whose virtual authenticator
// holds resident keys with user verification; shots is where screenshots
// go.
type passkeyBrowser struct {
	t     *testing.T
	ctx   context.Context
	auth  webauthn.AuthenticatorID
	shots string
	n     int
}

// chromiumPath finds the browser: it fails the test under CI=true when
// there is none, and skips it otherwise.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is missing: apt-get install chromium (scripts/test.sh does)")
	}
	t.Skip("chromium is missing (apt-get install chromium); CI=true makes this a failure")
	return ""
}

// artifactsDir is $ROSTER_ARTIFACTS, else the test's temporary directory.
func artifactsDir(t *testing.T) string {
	if d := os.Getenv("ROSTER_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// newPasskeyBrowser starts Chromium trusting the certificate of the
// server at e (by its public keys: --ignore-certificate-errors-spki-list,
// which leaves the connection secure in the browser's eyes, as WebAuthn
// requires; a certificate error would make Chromium refuse passkeys) and
// adds the virtual authenticator to its tab.
func newPasskeyBrowser(t *testing.T, e *env, certs []*x509.Certificate) *passkeyBrowser {
	t.Helper()
	var spki []string
	for _, c := range certs {
		h := sha256.Sum256(c.RawSubjectPublicKeyInfo)
		spki = append(spki, base64.StdEncoding.EncodeToString(h[:]))
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(spki, ",")),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	if _, err := chromedp.Run(ctx, chromedp.Title()); err != nil { // starts the browser and its tab
		t.Fatalf("starting chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true}})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return &passkeyBrowser{t: t, ctx: ctx, auth: res.AuthenticatorID, shots: artifactsDir(t)}
}

// do runs steps; on failure it saves a screenshot and fails with the
// page's text.
func (b *passkeyBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v\npage at %s:\n%s", what, err, b.location(), b.text("body"))
	}
}

func (b *passkeyBrowser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return s
}

func (b *passkeyBrowser) location() string {
	s, _ := chromedp.Run(b.ctx, chromedp.Location())
	return s
}

// shot writes a screenshot of the whole page to the artifacts directory.
func (b *passkeyBrowser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	b.n++
	p := filepath.Join(b.shots, fmt.Sprintf("passkey-%02d-%s.png", b.n, name))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Error(err)
	}
	b.t.Logf("screenshot %s", p)
}

// credentials are the virtual authenticator's resident credentials.
func (b *passkeyBrowser) credentials() []*webauthn.Credential {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: b.auth})
	if err != nil {
		b.t.Fatal(err)
	}
	return res.Credentials
}

// newPasskeyBrowserEnv is a web test environment served at
// https://localhost:PORT, the origin its passkeys are bound to, with
// --ui-admin-passkey; it returns the env, the origin and the server's
// certificate chain.
func newPasskeyBrowserEnv(t *testing.T) (*env, string, []*x509.Certificate) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := fmt.Sprintf("https://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	var e *env
	e = newEnvOpts(t, true, nil, func(o *Options) {
		o.Now = func() time.Time { return e.clock.Now() }
		o.PasskeyOrigin, o.UIAdminPasskey = origin, true
	})
	cfg, err := e.ca.ServerTLSConfig([]string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	var chain []*x509.Certificate
	for _, der := range cert.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	srv := httptest.NewUnstartedServer(e.s.Handler())
	srv.Listener = tls.NewListener(ln, cfg)
	srv.Start()
	t.Cleanup(srv.Close)
	return e, origin, append(chain, e.ca.Root())
}

// TestBrowserPasskey: an admin signs in with a token and, the server
// requiring passkeys for admins, is refused the admin pages; registers a
// passkey with the virtual authenticator, signs out, signs in with the
// passkey and no token, sees the dashboard, and is let in to the admin
// pages.
func TestBrowserPasskey(t *testing.T) {
	if testing.Short() {
		t.Skip("a real browser: not with -short")
	}
	e, origin, certs := newPasskeyBrowserEnv(t)
	e.ingest("app7", "deploy", "backup")
	token := e.newWebToken("ada", access.RoleAdmin)
	b := newPasskeyBrowser(t, e, certs)
	adminPages := []string{"/passkeys/all"}
	for _, rt := range e.s.webRoutes() {
		if rt.pattern == "GET /tokens" {
			adminPages = append(adminPages, "/tokens")
		}
	}

	// Sign in with the token: the form, no script needed.
	b.do("token sign-in",
		chromedp.Navigate(origin+"/login"),
		chromedp.WaitVisible(chromedp.ID("passkey-login-button")), // passkey.js found WebAuthn
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Dashboard"]`)),
	)
	b.shot("dashboard-token")
	for _, p := range adminPages {
		b.do("token admin at "+p, chromedp.Navigate(origin+p), chromedp.WaitVisible(chromedp.Search(`//h1[starts-with(., "403")]`)))
		if msg := b.text("main"); !strings.Contains(msg, "passkey") {
			t.Errorf("%s for a token admin: %s", p, msg)
		}
	}
	b.shot("admin-refused-token")

	// Register a passkey: passkey.js, navigator.credentials.create, the
	// virtual authenticator.
	b.do("register a passkey",
		chromedp.Navigate(origin+"/passkeys"),
		chromedp.WaitVisible(chromedp.ID("passkey-register-button")),
		chromedp.SendKeys(chromedp.ID("passkey-name"), "virtual key"),
		chromedp.Click(chromedp.ID("passkey-register-button")),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Passkey registered")]`)),
	)
	b.shot("passkey-registered")
	if page := b.text("main"); !strings.Contains(page, "virtual key") || !strings.Contains(page, "never") {
		t.Errorf("passkeys page after registering:\n%s", page)
	}
	creds := b.credentials()
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" || creds[0].UserName != "ada" {
		t.Fatalf("virtual authenticator holds %+v", creds)
	}

	// Sign out, then in with the passkey alone.
	b.do("sign out",
		chromedp.Click(chromedp.CSS(".who form button")),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "You are signed out")]`)),
	)
	b.shot("signed-out")
	b.do("passkey sign-in",
		chromedp.WaitVisible(chromedp.ID("passkey-login-button")),
		chromedp.Click(chromedp.ID("passkey-login-button")),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Dashboard"]`)),
	)
	b.shot("dashboard-passkey")
	if who := b.text(".who"); !strings.Contains(who, "ada") {
		t.Errorf("signed in as: %s", who)
	}
	b.do("passkeys page", chromedp.Navigate(origin+"/passkeys"), chromedp.WaitVisible(chromedp.Search(`//h1[text()="Your passkeys"]`)))
	if page := b.text("main"); !strings.Contains(page, "with a passkey") || strings.Contains(page, "never") {
		t.Errorf("passkeys page after a passkey sign-in:\n%s", page)
	}
	for _, p := range adminPages {
		b.do("passkey admin at "+p, chromedp.Navigate(origin+p), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if h := b.text("main h1"); strings.HasPrefix(h, "403") {
			t.Errorf("%s for a passkey admin: %s", p, b.text("main"))
		}
	}
	b.shot("admin-allowed-passkey")

	audits := e.audits()
	for _, want := range []string{"passkey.register", "passkey.login", "ui.signin"} {
		if !strings.Contains(audits, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	// The report counts ada as hardware-bound now.
	pk, _ := access.NewPasskeys(e.inv.Store(), access.RelyingParty{Origin: origin}, nil)
	if list, err := pk.List(t.Context(), ""); err != nil || len(list) != 1 || list[0].LastUsedAt == nil || list[0].SignCount == 0 {
		t.Errorf("stored passkey after the sign-in: %+v, %v", list, err)
	}
	code, body := e.webClientGet(t, "/v1/report?format=json", token)
	if code != http.StatusOK || !strings.Contains(body, `"factor": "passkey"`) {
		t.Errorf("report after the passkey sign-in: %d\n%s", code, body)
	}
}

// webClientGet calls the API with a bearer token.
func (e *env) webClientGet(t *testing.T, path, token string) (int, string) {
	t.Helper()
	u := &webUser{e: e, t: t, cl: e.webClient()}
	req, err := http.NewRequest(http.MethodGet, e.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	code, body, _ := u.do(req)
	return code, body
}

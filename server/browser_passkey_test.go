package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/rosterhq/roster/access"
)

// The passkey test in a real browser (the harness of browser_test.go),
// with the DevTools protocol's virtual authenticator (WebAuthn domain)
// standing in for a security key.

// addVirtualAuthenticator gives b's tab a CTAP2 platform authenticator
// that holds resident keys and verifies its user, and returns its ID.
func (b *browser) addVirtualAuthenticator() webauthn.AuthenticatorID {
	b.t.Helper()
	browse(b, "WebAuthn.enable", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{})
		return err
	}))
	return browse(b, "WebAuthn.addVirtualAuthenticator", func(ctx context.Context, t *chromedp.Target) (webauthn.AuthenticatorID, error) {
		res, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
				Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
				IsUserVerified: true, AutomaticPresenceSimulation: true}})
		return res.AuthenticatorID, err
	})
}

// virtualCredentials are the credentials the virtual authenticator holds.
func (b *browser) virtualCredentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	return browse(b, "WebAuthn.getCredentials", func(ctx context.Context, t *chromedp.Target) ([]*webauthn.Credential, error) {
		res, err := cdp.Call(ctx, t, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		return res.Credentials, err
	})
}

// newPasskeyBrowserEnv is a web test environment whose passkeys are bound
// to https://localhost:PORT, the origin the browser harness browses to,
// with --ui-admin-passkey: e.url is that server's (on a port chosen before
// the server is made, since the origin is part of its options).
func newPasskeyBrowserEnv(t *testing.T) *env {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	var e *env
	e = newEnvOpts(t, true, nil, func(o *Options) {
		o.Now = func() time.Time { return e.clock.Now() }
		o.PasskeyOrigin, o.UIAdminPasskey = fmt.Sprintf("https://localhost:%d", port), true
	})
	cfg, err := e.ca.ServerTLSConfig([]string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(e.s.Handler())
	srv.Listener = tls.NewListener(ln, cfg)
	srv.Start()
	t.Cleanup(srv.Close)
	e.url = fmt.Sprintf("https://127.0.0.1:%d", port)
	return e
}

// TestBrowserPasskey: an admin signs in with a token and, the server
// requiring passkeys for admins, is refused the admin pages; registers a
// passkey with the virtual authenticator, signs out, signs in with the
// passkey and no token, sees the dashboard, and is let in to the admin
// pages. The report then counts the admin as hardware-bound.
func TestBrowserPasskey(t *testing.T) {
	e := newPasskeyBrowserEnv(t)
	e.ingest("app7", "deploy", "backup")
	token := e.newWebToken("ada", access.RoleAdmin)
	b := newBrowser(t, e)
	auth := b.addVirtualAuthenticator()
	adminPages := []string{"/passkeys/all"}
	for _, rt := range e.s.webRoutes() {
		if rt.pattern == "GET /tokens" {
			adminPages = append(adminPages, "/tokens")
		}
	}

	// Sign in with the token (the form needs no script; passkey.js shows
	// the passkey button once it finds WebAuthn).
	b.open("/login")
	b.do("passkey.js found WebAuthn", waitVisible("#passkey-login-button"))
	b.signIn(token)
	b.do("dashboard", waitVisible(`main h1`))
	b.screenshot("passkey-01-dashboard-token")
	for _, p := range adminPages {
		b.open(p)
		if h, msg := b.text("main h1"), b.text("main"); !strings.HasPrefix(h, "403") || !strings.Contains(msg, "passkey") {
			t.Errorf("%s for an admin signed in with a token: %s\n%s", p, h, msg)
		}
	}
	b.screenshot("passkey-02-admin-refused-token")

	// Register a passkey: navigator.credentials.create, the virtual
	// authenticator, the form post.
	b.open("/passkeys")
	b.do("register a passkey",
		waitVisible("#passkey-register-button"),
		sendKeys("#passkey-name", "virtual key"),
		click("#passkey-register-button"),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Passkey registered")]`)))
	b.screenshot("passkey-03-registered")
	if page := b.text("main"); !strings.Contains(page, "virtual key") || !strings.Contains(page, "never") {
		t.Errorf("passkeys page after registering:\n%s", page)
	}
	creds := b.virtualCredentials(auth)
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" || creds[0].UserName != "ada" {
		t.Fatalf("the virtual authenticator holds %+v", creds)
	}

	// Sign out, then in with the passkey alone.
	b.signOut()
	b.screenshot("passkey-04-signed-out")
	b.do("passkey sign-in",
		waitVisible("#passkey-login-button"),
		click("#passkey-login-button"),
		waitVisible(".who"))
	if loc := b.location(); loc != "/" {
		t.Errorf("after the passkey sign-in the browser is at %s", loc)
	}
	b.do("dashboard", waitVisible(`main h1`))
	b.screenshot("passkey-05-dashboard-passkey")
	if who := b.text(".who"); !strings.Contains(who, "ada") {
		t.Errorf("signed in as: %s", who)
	}
	b.open("/passkeys")
	if page := b.text("main"); !strings.Contains(page, "with a passkey") || strings.Contains(page, "never") {
		t.Errorf("passkeys page after a passkey sign-in:\n%s", page)
	}
	for _, p := range adminPages {
		b.open(p)
		if h := b.text("main h1"); strings.HasPrefix(h, "403") {
			t.Errorf("%s for an admin signed in with a passkey: %s", p, b.text("main"))
		}
	}
	b.screenshot("passkey-06-admin-allowed-passkey")

	audits := e.audits()
	for _, want := range []string{"passkey.register", "passkey.login", "ui.signin"} {
		if !strings.Contains(audits, want) {
			t.Errorf("the audit log lacks %s", want)
		}
	}
	u := &webUser{e: e, t: t, cl: e.webClient()}
	req, err := http.NewRequest(http.MethodGet, e.url+"/v1/report?format=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if code, body, _ := u.do(req); code != http.StatusOK || !strings.Contains(body, `"factor": "passkey"`) {
		t.Errorf("the report after the passkey sign-in: %d\n%s", code, body)
	}
}

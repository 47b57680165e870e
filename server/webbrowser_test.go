package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/discovery"
	"github.com/rosterhq/roster/inventory"
)

// fixtureHost is the committed host root the CLI's scan tests use.
var fixtureHost = filepath.Join("..", "discovery", "testdata", "hosts", "debian-web")

// scanFixture scans the fixture host root and ingests the report.
func (e *env) scanFixture() {
	e.t.Helper()
	key, err := e.inv.FingerprintKey(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	rep, err := discovery.Scan(context.Background(), discovery.Options{Root: fixtureHost, FingerprintKey: key, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.inv.Ingest(context.Background(), rep); err != nil {
		e.t.Fatal(err)
	}
}

// TestBrowserOperatorFlow drives Chromium through the web page of a server
// that scanned the fixture host: an operator signs in with a token, goes
// from the dashboard to an ownerless privileged account, sets its owner,
// adds an exception, and sees the dashboard's counts change; a viewer gets
// no write controls and a forged POST from the viewer's session is
// refused; a form on another site posting to roster is refused; signing
// out ends the session. Every page is screenshotted to the artifacts
// (ROSTER_ARTIFACTS), the dashboard also to docs/dashboard.png with
// -update.
func TestBrowserOperatorFlow(t *testing.T) {
	e := newWebEnv(t)
	e.scanFixture()
	// A phase for tier 1, so that its bar has a target mark.
	now := e.clock.Now()
	if _, err := e.inv.SetPhase(context.Background(), inventory.Phase{Tier: inventory.TierPrivileged, Target: inventory.StrengthShortLivedCert,
		Owner: "security", Start: now.AddDate(0, 0, -7), End: now.AddDate(0, 0, 60)}); err != nil {
		t.Fatal(err)
	}
	opToken := e.newWebToken("alice", access.RoleOperator)
	viewToken := e.newWebToken("bob", access.RoleViewer)
	b := newBrowser(t, e)

	b.open("/")
	if loc := b.location(); !strings.HasPrefix(loc, "/login?next=") {
		t.Fatalf("signed out, / went to %s", loc)
	}
	b.screenshot("login")
	b.signIn(opToken)
	if loc := b.location(); loc != "/" {
		t.Fatalf("after sign-in at %s", loc)
	}
	dashboard := b.screenshot("dashboard")
	if *update {
		if err := os.WriteFile(filepath.Join("..", "docs", "dashboard.png"), dashboard, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Keyboard first: the first Tab reaches the skip link, which moves the
	// focus to the page's main content.
	b.do("tab to the skip link", chromedp.KeyEvent(kb.Tab))
	if got := eval[string](b, `document.activeElement.textContent`); got != "Skip to content" {
		t.Errorf("the first Tab focuses %q, not the skip link", got)
	}
	b.do("follow the skip link", chromedp.KeyEvent(kb.Enter))
	if got := eval[string](b, `document.activeElement.id`); got != "main" {
		t.Errorf("the skip link moved the focus to %q", got)
	}
	// On a phone's width the page does not scroll sideways (wide tables
	// scroll in their own box).
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.open("/")
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the dashboard is %d px wide on a 390 px phone", w)
	}
	b.screenshot("dashboard-phone")
	b.do("desktop viewport", chromedp.EmulateReset())
	b.open("/")
	ownerless := atoi(t, b.text("#count-ownerless"))
	expiring := atoi(t, b.text("#count-expiring"))
	if ownerless == 0 {
		t.Fatal("the fixture host has no ownerless privileged account")
	}
	// The stylesheet applied (no inline styles: the CSP forbids them):
	// the header is dark.
	if bg := eval[string](b, `getComputedStyle(document.querySelector("header.top")).backgroundColor`); bg != "rgb(27, 31, 36)" {
		t.Errorf("header background %q: is roster.css loaded?", bg)
	}

	// From the dashboard to the first ownerless privileged account.
	account := b.text("#ownerless tbody tr th a")
	b.do("open the ownerless account", click(`#ownerless tbody tr th a`), waitVisible("#owner"))
	if loc := b.location(); loc != "/accounts/"+account {
		t.Fatalf("the link went to %s, want /accounts/%s", loc, account)
	}
	b.screenshot("account")
	if got := b.text("#owner"); got != "none" {
		t.Errorf("owner before: %q", got)
	}
	b.do("set the owner",
		sendKeys("#owner-name", "platform-team"),
		sendKeys("#owner-contact", "platform@example.com"),
		submit("#form-owner button", "#done"))
	if got := b.text("#owner"); got != "platform-team (platform@example.com)" {
		t.Errorf("owner after: %q", got)
	}
	expires := e.clock.Now().AddDate(0, 0, 14).Format("2006-01-02")
	b.do("add an exception",
		sendKeys("#exc-reason", "vendor appliance, replaced in Q1"),
		sendKeys("#exc-owner", "platform-team"),
		setValue("#exc-expires", expires),
		submit("#form-exception button", "#done"))
	if got := b.text("#done"); !strings.Contains(got, "exception added") {
		t.Errorf("after adding the exception: %q", got)
	}
	if got := b.text("#exceptions tbody"); !strings.Contains(got, "vendor appliance") || !strings.Contains(got, expires) {
		t.Errorf("exceptions table: %q", got)
	}

	// An enrollment token: shown once, with the agent's command line and
	// the copy button that copy.js shows.
	b.do("create an enrollment token", submit("#form-enroll button", "#enroll-cmd"))
	if cmd := b.text("#enroll-cmd"); !strings.HasPrefix(cmd, "roster-agent enroll --server https://localhost:") || !strings.Contains(cmd, "--token ret_") {
		t.Errorf("enrollment command: %q", cmd)
	}
	// copy.js is deferred: it may run after #enroll-cmd is visible.
	b.do("copy.js shows the copy button", waitVisible("button[data-copy]"))
	b.screenshot("enrollment")

	b.open("/")
	if got := atoi(t, b.text("#count-ownerless")); got != ownerless-1 {
		t.Errorf("ownerless privileged accounts: %d after setting an owner, was %d", got, ownerless)
	}
	if got := atoi(t, b.text("#count-expiring")); got != expiring+1 {
		t.Errorf("exceptions expiring within 30 days: %d after adding one, was %d", got, expiring)
	}
	b.open("/accounts")
	b.screenshot("accounts")
	b.open("/accounts?no_owner=1&sort=name")
	if strings.Contains(b.text("table.accounts tbody"), account) {
		t.Errorf("%s is still listed without an owner", account)
	}

	// A form on another site (another origin on loopback) posting to
	// roster is refused, and changes nothing.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>evil</title><form method="post" action="%s/accounts/%s/owner">`+
			`<input name="owner" value="mallory"><input name="csrf" value="guess"></form>`+
			`<script>document.forms[0].submit()</script>`, b.base, account)
	}))
	defer evil.Close()
	b.do("cross-site form", navigate(evil.URL), waitVisible("main .error"))
	if got := b.text("main .error"); !strings.Contains(got, "cannot post to roster") {
		t.Errorf("cross-site POST answered %q", got)
	}
	b.screenshot("cross-site-refused")
	if acct, _ := e.inv.GetAccount(context.Background(), account); acct.Owner == nil || acct.Owner.Name != "platform-team" {
		t.Errorf("the cross-site POST changed the owner: %+v", acct.Owner)
	}

	// Signing out ends the session: / goes back to the sign-in page.
	b.open("/")
	b.signOut()
	b.screenshot("signed-out")
	b.open("/")
	if loc := b.location(); !strings.HasPrefix(loc, "/login") {
		t.Errorf("after sign-out, / is at %s", loc)
	}
	if n := e.sessionsOf("alice"); n != 0 {
		t.Errorf("%d sessions of alice after sign-out", n)
	}

	// A viewer: no write controls, and a POST forged from the viewer's
	// session (with its valid CSRF token) gets 403.
	b.signIn(viewToken)
	b.open("/accounts/" + account)
	if n := eval[int](b, `document.querySelectorAll('form[method="post"]:not([action="/logout"])').length`); n != 0 {
		t.Errorf("the viewer's account page has %d write forms", n)
	}
	status := eval[int](b, `(async () => {
		const csrf = document.querySelector('input[name="csrf"]').value;
		const r = await fetch("/accounts/`+account+`/owner", {method: "POST",
			body: new URLSearchParams({owner: "mallory", csrf: csrf})});
		return r.status;
	})()`)
	if status != http.StatusForbidden {
		t.Errorf("the viewer's forged POST: %d", status)
	}
	if acct, _ := e.inv.GetAccount(context.Background(), account); acct.Owner == nil || acct.Owner.Name != "platform-team" {
		t.Errorf("the viewer's POST changed the owner: %+v", acct.Owner)
	}
	b.screenshot("viewer-account")
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a count", s)
	}
	return n
}

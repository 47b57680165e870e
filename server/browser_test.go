package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser harness: a real headless Chromium (Debian's chromium,
// scripts/test.sh installs it) driven over the DevTools protocol by
// chromedp, against the test's real HTTPS server. Tests browse to
// https://localhost:PORT (the env's certificate covers localhost; WebAuthn
// needs a domain as its relying party ID, so passkey tests can use the
// same harness). With CI=true a missing chromium fails the test.

// chromiumPath is the browser the tests drive.
const chromiumPath = "/usr/bin/chromium"

// browser is one Chromium process with a fresh profile; ctx is its tab.
type browser struct {
	t         testing.TB
	ctx       context.Context
	base      string // https://localhost:PORT
	artifacts string
}

// newBrowser starts Chromium for e's server with the flags of
// web-design.md. The server's certificate chains to the test's private
// root, which this Chromium does not trust: --ignore-certificate-errors,
// for the loopback test server only.
func newBrowser(t testing.TB, e *env) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required with CI=true: %v (scripts/test.sh installs it)", err)
		}
		t.Skipf("no %s: %v", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first run starts the browser, which lives as long as ctx: no
	// timeout on it (each step has its own, see do).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, base: strings.Replace(e.url, "127.0.0.1", "localhost", 1), artifacts: artifactsDir(t)}
}

// stepTimeout bounds one step of a browser test.
const stepTimeout = 30 * time.Second

// artifactsDir is where a test writes its screenshots:
// $ROSTER_ARTIFACTS/TESTNAME when set, else a temporary directory.
func artifactsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ROSTER_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browse runs action a in b's tab within stepTimeout and returns its
// value; an error fails the test, naming what and where the tab was.
func browse[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		if errors.Is(err, context.DeadlineExceeded) {
			b.t.Fatalf("%s: timed out at %s; the page says:\n%s", what, loc, body)
		}
		b.t.Fatalf("%s (at %s): %v; the page says:\n%s", what, loc, err, body)
	}
	return v
}

// do runs steps in order.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	browse(b, what, chromedp.Steps(steps...))
}

// open navigates to path on the server and waits for the page's main.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("main")))
}

// text is the visible text of the first element sel matches.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(browse(b, "read "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)))
}

// eval evaluates a JavaScript expression in the page, awaiting a promise
// (DevTools' evaluation: the page's CSP does not apply to it).
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	return browse(b, "evaluate "+expr, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// location is the current URL's path and query on the server.
func (b *browser) location() string {
	b.t.Helper()
	return strings.TrimPrefix(browse(b, "location", chromedp.Location()), b.base)
}

// screenshot writes the whole page as NAME.png to the artifacts and
// returns the PNG.
func (b *browser) screenshot(name string) []byte {
	b.t.Helper()
	png := browse(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.artifacts, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return png
}

// signIn signs in through the form at /login with token.
func (b *browser) signIn(token string) {
	b.t.Helper()
	b.open("/login")
	b.do("sign in",
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".who")))
}

// signOut clicks the sign-out button and waits for the sign-in form.
func (b *browser) signOut() {
	b.t.Helper()
	b.do("sign out",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID("token")))
}

// Short forms of the steps the tests use, by CSS selector.
func navigate(url string) chromedp.Action[chromedp.Void] { return chromedp.Navigate(url) }
func click(sel string) chromedp.Action[chromedp.Void]    { return chromedp.Click(chromedp.CSS(sel)) }
func waitVisible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}
func sendKeys(sel, keys string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.CSS(sel), keys)
}

// submit clicks the button sel, which posts a form, and waits until the
// answer's page shows then: it marks the current page first, so an element
// that both pages have (#done, .notice) is not found on the old one.
func submit(sel, then string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.submitted = "1"`),
		chromedp.Click(chromedp.CSS(sel)),
		chromedp.WaitVisible(chromedp.CSS("html:not([data-submitted]) "+then)))
}
func setValue(sel, v string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(chromedp.CSS(sel), v)
}

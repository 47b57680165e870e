package server

import (
	"context"
	"strings"
	"testing"

	"github.com/rosterhq/roster/access"
)

// TestBrowserPages drives Chromium through the plan, exceptions, hosts,
// vendors, tokens, audit and import pages of a server that scanned the
// fixture host, as an admin: the ordering rule's refusal shown beside the
// form with what was typed, a phase set, a vendor added, a token created
// with its copy button shown by copy.js, a CSV checked and applied. Each
// page is screenshotted to the artifacts.
func TestBrowserPages(t *testing.T) {
	e := newWebEnv(t)
	e.scanFixture()
	b := newBrowser(t, e)
	b.signIn(e.newWebToken("carol", access.RoleAdmin))

	// Plan: tier 3 before tier 2 is refused on the page, the values kept.
	b.open("/plan")
	b.do("plan: tier 3 before tier 2",
		setValue("#target3", "long_lived_cert"), sendKeys("#owner3", "team-three"), setValue("#start3", "2026-12-01"),
		submit(`form[action="/plan/3"] button[type=submit]`, "#refused3"))
	if got := b.text("#refused3"); !strings.Contains(got, "roster plan set 1") && !strings.Contains(got, "roster plan set 2") {
		t.Errorf("refusal: %q", got)
	}
	if v := eval[string](b, `document.getElementById("owner3").value`); v != "team-three" {
		t.Errorf("the refused form lost its owner: %q", v)
	}
	b.screenshot("plan-refused")
	b.do("plan: set tier 1",
		setValue("#target1", "short_lived_cert"), sendKeys("#owner1", "security"), setValue("#start1", "2026-11-20"), setValue("#end1", "2027-02-01"),
		submit(`form[action="/plan/1"] button[type=submit]`, ".notice"))
	if loc := b.location(); !strings.HasPrefix(loc, "/plan?done=") {
		t.Errorf("after setting a phase at %s", loc)
	}
	b.screenshot("plan")

	b.open("/exceptions?state=all")
	b.screenshot("exceptions")
	b.open("/hosts")
	b.screenshot("hosts")
	b.do("open a host", click(`tbody th a`), waitVisible(`form[action$="/tags"]`))
	b.screenshot("host")

	b.open("/vendors")
	b.do("add a vendor",
		sendKeys("#v-name", "acme"), sendKeys("#v-owner", "team-vendors"), sendKeys("#v-contact", "ops@acme.example"), setValue("#v-route", "vpn"),
		submit(`form[action="/vendors"] button[type=submit]`, `form[action="/vendors/acme"]`))
	b.screenshot("vendor")
	b.open("/vendors")
	b.screenshot("vendors")

	b.open("/tokens")
	b.do("create a token", sendKeys("#tok-name", "ci-bot"), submit(`form[action="/tokens"] button[type=submit]`, "#new-token"))
	if !strings.HasPrefix(b.text("#new-token"), access.TokenPrefix) {
		t.Errorf("no token shown")
	}
	// copy.js is deferred: it may run after #new-token is visible.
	b.do("copy.js shows the copy button", waitVisible("button[data-copy]"))
	b.screenshot("token-created")

	b.open("/import")
	b.do("check a vendor CSV",
		setValue("#imp-kind", "vendors"), setValue("#imp-csv", "name,owner,contact,route\nglobex,team-g,ops@globex.example,api\n"),
		submit(`form[action="/import"] button[type=submit]`, `form[action="/import/apply"]`))
	b.screenshot("import-dry-run")
	b.do("apply it", submit(`form[action="/import/apply"] button[type=submit]`, `p.notice[role=status]`))
	if loc := b.location(); !strings.HasPrefix(loc, "/import?done=") {
		t.Errorf("after apply at %s", loc)
	}
	if _, err := e.inv.Vendor(context.Background(), "globex"); err != nil {
		t.Errorf("the import was not applied: %v", err)
	}

	b.open("/audit")
	if got := b.text("#chain"); !strings.Contains(got, "verified") {
		t.Errorf("audit chain: %q", got)
	}
	b.screenshot("audit")
}

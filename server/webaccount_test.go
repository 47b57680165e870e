package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/inventory"
)

// TestWebAccountActions: each form of the account page changes what the
// API route of the same job changes, audited with the operator's token
// name; the enrollment token is shown once.
func TestWebAccountActions(t *testing.T) {
	e := newWebEnv(t)
	ctx := context.Background()
	u := e.webSignIn("carol", access.RoleOperator)
	const page = "/accounts/legacy"
	post := func(action string, fields url.Values) string {
		t.Helper()
		code, body := u.post(page, page+"/"+action, fields)
		if code != http.StatusSeeOther && code != http.StatusCreated {
			t.Fatalf("%s: %d\n%s", action, code, body)
		}
		return body
	}
	// Enrolling an account without an owner is refused, with the
	// inventory's reason and next step.
	code, body := u.post(page, page+"/enroll", url.Values{"host": {"web1"}})
	if code != http.StatusForbidden || !strings.Contains(body, "has no owner") || !strings.Contains(body, "roster owner set legacy OWNER") {
		t.Errorf("enrolling an ownerless account: %d\n%s", code, body)
	}
	post("owner", url.Values{"owner": {"erp-team"}, "contact": {"erp@example.com"}})
	post("purpose", url.Values{"purpose": {"the old ERP's nightly export"}})
	post("tags", url.Values{"add": {"critical, erp"}})
	post("tier", url.Values{"tier": {"2"}, "reason": {"reaches the vendor"}})
	acct, err := e.inv.GetAccount(ctx, "legacy")
	if err != nil {
		t.Fatal(err)
	}
	if acct.Purpose != "the old ERP's nightly export" || !slices.Contains(acct.Tags, "critical") || !slices.Contains(acct.Tags, "erp") ||
		acct.Tier != 2 || !acct.TierOverride {
		t.Errorf("after the forms: purpose %q, tags %v, tier %d override %v", acct.Purpose, acct.Tags, acct.Tier, acct.TierOverride)
	}
	post("tags", url.Values{"remove": {"erp"}})
	post("tier", url.Values{"tier": {"0"}})
	if acct, _ = e.inv.GetAccount(ctx, "legacy"); slices.Contains(acct.Tags, "erp") || acct.TierOverride {
		t.Errorf("tag removal or tier reset: %v %v", acct.Tags, acct.TierOverride)
	}
	post("retire", url.Values{"reason": {"decommissioned"}})
	if acct, _ = e.inv.GetAccount(ctx, "legacy"); !acct.Retired {
		t.Error("not retired")
	}
	if _, body := u.get(page); !strings.Contains(body, `action="/accounts/legacy@default/unretire"`) {
		t.Error("a retired account's page offers no undo")
	}
	post("unretire", url.Values{"reason": {"still used"}})
	if acct, _ = e.inv.GetAccount(ctx, "legacy"); acct.Retired {
		t.Error("still retired")
	}

	// A refused change shows the inventory's reason, and changes nothing.
	code, body = u.post(page, page+"/tier", url.Values{"tier": {"7"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "tier") {
		t.Errorf("tier 7: %d\n%s", code, body)
	}

	// The enrollment token: on the answer to the POST only.
	body = post("enroll", url.Values{"host": {"web1"}})
	m := regexp.MustCompile(`--token (ret_[A-Za-z0-9_-]+)`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "roster-agent enroll --server https://127.0.0.1:") || !strings.Contains(body, `data-copy="enroll-cmd"`) {
		t.Fatalf("no enrollment command in the page:\n%s", body)
	}
	if _, again := u.get(page); strings.Contains(again, m[1]) {
		t.Error("the enrollment token is shown again")
	}
	e.AssertNoSecret(t, m[1])

	audits := e.audits()
	for _, want := range []string{"account.purpose ok", "account.tag ok", "account.tier ok", "account.retire ok", "account.unretire ok", "enroll.token.create ok"} {
		if !strings.Contains(audits, want) {
			t.Errorf("audit lacks %s:\n%s", want, audits)
		}
	}
	if h, _ := e.inv.AccountHistory(ctx, "legacy"); !slices.ContainsFunc(h, func(ev inventory.Event) bool { return ev.Actor == "token:carol" }) {
		t.Errorf("the history does not name the operator's token: %+v", h)
	}
}

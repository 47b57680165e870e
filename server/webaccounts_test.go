package server

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/inventory"
)

// listed is the account keys of an accounts page, in order.
func listed(page string) []string {
	var keys []string
	for _, m := range regexp.MustCompile(`<th scope="row"><a href="/accounts/[^"]+">([^<]+)</a>`).FindAllStringSubmatch(page, -1) {
		keys = append(keys, m[1])
	}
	return keys
}

func TestWebAccounts(t *testing.T) {
	e := newWebEnv(t)
	ctx := context.Background()
	// issuertest's web1: billing-batch (owned by payments-team),
	// nobody-owns, legacy; and more to page through.
	var many, page3 []string
	for i := range 120 {
		many = append(many, fmt.Sprintf("bulk%03d", i))
		if i >= 100 {
			page3 = append(page3, fmt.Sprintf("bulk%03d@default", i))
		}
	}
	e.ingest("web2", many...)
	e.ingestPrivileged("db1", "dbadmin")
	if _, err := e.inv.AddVendor(ctx, inventory.Vendor{Name: "acme", Owner: "team-vendors", Contact: "ops@acme.example", Route: "sftp"}); err != nil {
		t.Fatal(err)
	}
	if err := e.inv.TagAccount(ctx, "legacy", []string{"third-party=acme"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.inv.SetPurpose(ctx, "nobody-owns", "nightly invoices"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.inv.AddRegistered(ctx, inventory.NewAccount{Name: "sf-integration", System: "salesforce", Kind: "cloud", Credential: "static_password", Owner: "crm-team"}); err != nil {
		t.Fatal(err)
	}
	u := e.webSignIn("lister", access.RoleViewer)
	for _, tc := range []struct {
		query string
		want  []string // the whole page, in order; nil: check count only
		count string
	}{
		{"?q=nightly", []string{"nobody-owns@default"}, "Accounts 1–1 of 1"},
		{"?q=PAYMENTS", []string{"billing-batch@default"}, ""},
		{"?owner=payments-team", []string{"billing-batch@default"}, ""},
		{"?tier=1", []string{"dbadmin@default"}, ""},
		{"?level=static_ssh_key", []string{"dbadmin@default"}, ""},
		{"?vendor=acme", []string{"legacy@default"}, ""},
		{"?source=registered", []string{"sf-integration@default"}, ""},
		{"?host=web1&sort=name&dir=desc", []string{"nobody-owns@default", "legacy@default", "billing-batch@default"}, ""},
		{"?host=web1&no_owner=1&sort=name", []string{"legacy@default", "nobody-owns@default"}, ""},
		{"?q=bulk&sort=name&page=3", page3, "Accounts 101–120 of 120"},
		{"?q=nothing-matches", []string{}, "No account matches."},
		{"?status=static&env=nowhere", []string{}, ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			code, page := u.get("/accounts" + tc.query)
			if code != http.StatusOK {
				t.Fatalf("%d\n%s", code, page)
			}
			if got := listed(page); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("listed %v, want %v", listed(page), tc.want)
			}
			if tc.count != "" && !strings.Contains(page, tc.count) {
				t.Errorf("page lacks %q", tc.count)
			}
		})
	}
	// Pages link to each other with the filter kept; sort headings toggle.
	_, page := u.get("/accounts?q=bulk&sort=name&page=2")
	for _, want := range []string{`href="/accounts?q=bulk&amp;sort=name" rel="prev"`, `href="/accounts?page=3&amp;q=bulk&amp;sort=name" rel="next"`,
		`aria-sort="ascending"><a href="/accounts?dir=desc&amp;q=bulk&amp;sort=name"`, "Page 2 of 3"} {
		if !strings.Contains(page, want) {
			t.Errorf("page 2 lacks %s", want)
		}
	}
	// CSV: every account the filter selects, not one page.
	code, body, resp := u.do(mustRequest(t, http.MethodGet, e.url+"/accounts?q=bulk&format=csv", ""))
	if code != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || strings.Count(body, "\nbulk") != 120 {
		t.Errorf("CSV: %d %s, %d rows\n%.300s", code, resp.Header.Get("Content-Type"), strings.Count(body, "\nbulk"), body)
	}
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("the CSV export lacks the security headers")
	}
	for _, bad := range []string{"?tier=9", "?level=strong", "?source=both", "?sort=secret", "?dir=up", "?page=0", "?format=xml"} {
		if code, body := u.get("/accounts" + bad); code != http.StatusBadRequest || !strings.Contains(body, "query parameter") {
			t.Errorf("%s: %d", bad, code)
		}
	}
	if code, _ := u.get("/accounts?host=no-such-host"); code != http.StatusNotFound {
		t.Errorf("unknown host: %d", code)
	}
	// A change shows at once: the inventory is small, so the snapshot is
	// taken again (webaccountsnapshot.go).
	e.owner("legacy", "erp-team")
	if _, page := u.get("/accounts?owner=erp-team"); strings.Join(listed(page), " ") != "legacy@default" {
		t.Errorf("after setting an owner: %v", listed(page))
	}
}

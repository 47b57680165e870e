package inventory_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// noticeIDs is the IDs of ns.
func noticeIDs(ns []inventory.Notice) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

// TestNotices moves the clock past an exception's thresholds and its
// expiry: each step gives the notices due then, the same on a second run.
func TestNotices(t *testing.T) {
	inv, clk := open(t)
	pw := func(s string) scan.Credential { return inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", s) }
	root := inventorytest.Account("ops", 0, pw("root-secret"))
	root.Privileged, root.PrivilegeReasons = true, []string{"uid 0"}
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("app", 5, pw("app-secret")), root))
	if err := inv.SetOwner(ctx, "app", inventory.Owner{Name: "team-app", Contact: "app@example.com"}); err != nil {
		t.Fatal(err)
	}
	expires := t0.AddDate(0, 0, 20)
	exc, err := inv.AddException(ctx, inventory.Exception{Account: "app", Reason: "vendor tool", Owner: "team-app", Expires: expires})
	if err != nil {
		t.Fatal(err)
	}
	const ownerless = "account-ownerless-privileged/ops@default"
	date := expires.Format(time.DateOnly)
	for _, tc := range []struct {
		desc string
		at   time.Time
		want []string
	}{
		{"20 days left: nothing for the exception", t0, []string{ownerless}},
		{"15 days left", t0.AddDate(0, 0, 5), []string{ownerless}},
		{"14 days left", t0.AddDate(0, 0, 6), []string{ownerless, "exception-expiring-14d/" + exc.ID + "/" + date}},
		{"8 days left", t0.AddDate(0, 0, 12), []string{ownerless, "exception-expiring-14d/" + exc.ID + "/" + date}},
		{"6 days left", t0.AddDate(0, 0, 14), []string{ownerless, "exception-expiring-7d/" + exc.ID + "/" + date}},
		{"12 hours left", expires.Add(-12 * time.Hour), []string{ownerless, "exception-expiring-1d/" + exc.ID + "/" + date}},
		{"expired", expires, []string{ownerless, "exception-expired/" + exc.ID + "/" + date}},
		{"long expired", expires.AddDate(0, 1, 0), []string{ownerless, "exception-expired/" + exc.ID + "/" + date}},
	} {
		clk.Set(tc.at)
		for run := range 2 {
			ns, err := inv.Notices(ctx, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			got := noticeIDs(ns)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s (run %d): notices %q, want %q", tc.desc, run, got, tc.want)
			}
		}
	}

	// The fields of each kind.
	ns, err := inv.Notices(ctx, t0.AddDate(0, 0, 14))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		switch n.Kind {
		case inventory.NoticeExceptionExpiring:
			if n.Owner == nil || n.Owner.Name != "team-app" || n.Owner.Contact != "app@example.com" || n.Account != "app@default" || n.Tier != inventory.TierRest ||
				n.Details["exception_id"] != exc.ID || n.Details["within_days"] != "7" || !n.Time.Equal(expires.AddDate(0, 0, -7)) ||
				!strings.Contains(n.Summary, "expires on "+date+", within 7 days") {
				t.Errorf("expiring notice: %+v", n)
			}
		case inventory.NoticeOwnerlessPrivileged:
			if n.Owner != nil || n.Tier != inventory.TierPrivileged || n.Action != "an operator names the owner: roster owner set ops@default OWNER" {
				t.Errorf("ownerless notice: %+v", n)
			}
		default:
			t.Errorf("unexpected notice %+v", n)
		}
		// No secret: no fingerprint of a credential in any payload.
		b, _ := json.Marshal(n)
		if strings.Contains(string(b), "hmac-sha256:") {
			t.Errorf("notice %s carries a fingerprint: %s", n.ID, b)
		}
	}

	// An owner ends the ownerless notice; an extension (a new exception
	// with a later date) yields new IDs and ends the old exception's
	// expired notice.
	if err := inv.SetOwner(ctx, "ops", inventory.Owner{Name: "team-ops"}); err != nil {
		t.Fatal(err)
	}
	at := expires.Add(time.Hour)
	clk.Set(at)
	ext, err := inv.AddException(ctx, inventory.Exception{Account: "app", Reason: "vendor tool, extended", Owner: "team-app", Expires: at.AddDate(0, 0, 3)})
	if err != nil {
		t.Fatal(err)
	}
	ns, err = inv.Notices(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"exception-expiring-7d/" + ext.ID + "/" + at.AddDate(0, 0, 3).Format(time.DateOnly)}
	if got := noticeIDs(ns); !slices.Equal(got, want) {
		t.Errorf("after owner and extension: %q, want %q", got, want)
	}
	// A closed exception is due nothing.
	if err := inv.CloseException(ctx, ext.ID, "credential removed"); err != nil {
		t.Fatal(err)
	}
	if err := inv.CloseException(ctx, exc.ID, "superseded"); err != nil {
		t.Fatal(err)
	}
	if ns, err = inv.Notices(ctx, at); err != nil || len(ns) != 0 {
		t.Errorf("after closing: %q, %v", noticeIDs(ns), err)
	}
}

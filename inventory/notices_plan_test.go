package inventory_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// TestPhaseAndVendorNotices moves the clock towards and past a phase's end
// and a vendor exception's expiry: phase.ending within 14 days of the end
// while accounts are below target, phase.overdue once it passed, and
// vendor.exception_lapsed once the vendor's exception ran out, each with
// the owner who acts (the phase's, the vendor's).
func TestPhaseAndVendorNotices(t *testing.T) {
	inv, clk := open(t)
	pw := func(s string) scan.Credential { return inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", s) }
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("app", 5, pw("app-secret")), inventorytest.Account("ftp-acme", 6, pw("ftp-secret"))))
	if _, err := inv.AddVendor(ctx, acme()); err != nil {
		t.Fatal(err)
	}
	if err := inv.TagAccount(ctx, "ftp-acme", []string{"third-party=acme"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"app", "ftp-acme"} {
		if err := inv.SetOwner(ctx, a, inventory.Owner{Name: "team-app"}); err != nil {
			t.Fatal(err)
		}
	}
	// Tiers 1 to 3 end in a year; tier 4 (app) in 20 days.
	setPhases(t, inv, t0, inventory.TierCritical, 0)
	tier4End := t0.AddDate(0, 0, 20)
	if _, err := inv.SetPhase(ctx, inventory.Phase{Tier: inventory.TierRest, Target: inventory.StrengthShortLivedCert, Owner: "app-leads", Start: t0, End: tier4End}); err != nil {
		t.Fatal(err)
	}
	excExpires := t0.AddDate(0, 0, 10)
	exc, err := inv.AddException(ctx, inventory.Exception{Account: "ftp-acme", Reason: "vendor migrates in Q1", Owner: "team-app", Expires: excExpires})
	if err != nil {
		t.Fatal(err)
	}
	end := tier4End.Format(time.DateOnly)
	// phase.ending is computed from the end as stored (its end of day), so
	// compute the id the same way.
	ending, overdue := "phase-ending/tier-4/"+end, "phase-overdue/tier-4/"+end
	lapsed := "vendor-exception-lapsed/acme/" + exc.ID + "/" + excExpires.Format(time.DateOnly)
	for _, tc := range []struct {
		desc string
		at   time.Time
		want []string // of the kinds phase.* and vendor.*
	}{
		{"20 days before the end", t0, nil},
		{"13 days before the end", t0.AddDate(0, 0, 7), []string{ending}},
		{"the vendor's exception lapsed", excExpires.Add(time.Hour), []string{ending, lapsed}},
		{"the end passed", tier4End.AddDate(0, 0, 1), []string{overdue, lapsed}},
	} {
		clk.Set(tc.at)
		for run := range 2 {
			ns, err := inv.Notices(ctx, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range ns {
				if strings.HasPrefix(n.Kind, "phase.") || strings.HasPrefix(n.Kind, "vendor.") {
					got = append(got, n.ID)
				}
				switch n.Kind {
				case inventory.NoticePhaseEnding, inventory.NoticePhaseOverdue:
					if n.Owner == nil || n.Owner.Name != "app-leads" || n.Tier != inventory.TierRest || n.Details["below_target"] != "1" || n.Details["target"] != "short_lived_cert" {
						t.Errorf("%s: phase notice %+v", tc.desc, n)
					}
				case inventory.NoticeVendorExceptionLapsed:
					if n.Owner == nil || n.Owner.Name != "team-vendors" || n.Owner.Contact != "ops@acme.example" || n.Account != "ftp-acme@default" ||
						n.Tier != inventory.TierExternal || n.Details["on_lapse"] != "notify" {
						t.Errorf("%s: vendor notice %+v", tc.desc, n)
					}
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s (run %d): %q, want %q", tc.desc, run, got, tc.want)
			}
		}
	}

	// A new end is a new notice; closing the exception ends the lapse.
	newEnd := tier4End.AddDate(0, 1, 0)
	if _, err := inv.SetPhase(ctx, inventory.Phase{Tier: inventory.TierRest, Target: inventory.StrengthShortLivedCert, Owner: "app-leads", Start: t0, End: newEnd}); err != nil {
		t.Fatal(err)
	}
	if err := inv.CloseException(ctx, exc.ID, "the vendor moved to certificates"); err != nil {
		t.Fatal(err)
	}
	at := newEnd.AddDate(0, 0, -3)
	ns, err := inv.Notices(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range ns {
		if strings.HasPrefix(n.Kind, "phase.") || strings.HasPrefix(n.Kind, "vendor.") {
			got = append(got, n.ID)
		}
	}
	if want := []string{"phase-ending/tier-4/" + newEnd.Format(time.DateOnly)}; !slices.Equal(got, want) {
		t.Errorf("after a new end and the close: %q, want %q", got, want)
	}
}

package inventory_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// TestKindOverride: an operator's kind wins over the scan's kinds in
// lists, reports and tier-1 people counts, survives a later scan, and
// auto restores the scan's kind.
func TestKindOverride(t *testing.T) {
	pw := inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", "p")
	report := func() *scan.Report {
		ops := inventorytest.Account("ops", 0, pw)
		ops.Privileged = true
		alice := inventorytest.Account("alice", 1000, inventorytest.Cred(scan.CredSSHAuthorizedKey, "/home/alice/.ssh/authorized_keys:1", "k"))
		alice.Kind = scan.KindHuman
		games := inventorytest.Account("games", 5)
		games.Kind = scan.KindSystem
		return inventorytest.NewReport("h", "", t0, ops, alice, games, inventorytest.Account("app", 6))
	}
	type counts struct{ listed, humans, system, tier1, people int }
	for _, tc := range []struct {
		name, account, kind string
		human, system       bool
		want                counts
	}{
		// The scan's kinds: ops tier 1, app tier 4; alice a person, games unused.
		{"auto keeps the scan's kinds", "app", "auto", false, false, counts{2, 1, 1, 1, 0}},
		// A privileged account an operator says is a person's: out of the
		// service counts and tier 1, counted as a privileged person.
		{"human removes a privileged account from the tiers", "ops", "human", true, false, counts{1, 2, 1, 0, 1}},
		{"service brings a person's account back", "alice", "service", false, false, counts{3, 0, 1, 1, 0}},
		{"system", "app", "system", false, true, counts{1, 1, 2, 1, 0}},
		{"service brings an unused account back", "games", "service", false, false, counts{3, 1, 0, 1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, clk := open(t)
			mustIngest(t, inv, report())
			if err := inv.SetKind(ctx, tc.account, tc.kind); err != nil {
				t.Fatal(err)
			}
			check := func(when string) {
				t.Helper()
				a, err := inv.GetAccount(ctx, tc.account)
				if err != nil {
					t.Fatal(err)
				}
				if a.Human != tc.human || a.System != tc.system || a.KindOverride != (tc.kind != "auto") {
					t.Errorf("%s: human %t system %t override %t", when, a.Human, a.System, a.KindOverride)
				}
				l, err := inv.ListAccounts(ctx, inventory.Filter{})
				if err != nil {
					t.Fatal(err)
				}
				rep, err := inv.Report(ctx, t0)
				if err != nil {
					t.Fatal(err)
				}
				people := 0
				if p := rep.Tiers[0].People; p != nil {
					people = p.Accounts
				}
				got := counts{len(l), rep.Humans, rep.System, rep.Tiers[0].Accounts, people}
				if got != tc.want {
					t.Errorf("%s: listed, humans, system, tier 1, people = %+v, want %+v", when, got, tc.want)
				}
			}
			check("after the override")
			// A later scan finds the same kinds again: the override stays.
			rescan := report()
			rescan.Host.ScannedAt = t0.Add(time.Hour)
			clk.Set(t0.Add(time.Hour))
			mustIngest(t, inv, rescan)
			check("after a rescan")
		})
	}
}

// TestKindOverrideAuto: auto (and an unknown kind refused) on one account,
// with its history and audit records.
func TestKindOverrideAuto(t *testing.T) {
	inv, _ := open(t)
	alice := inventorytest.Account("alice", 1000)
	alice.Kind = scan.KindHuman
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, alice))
	err := inv.SetKind(ctx, "alice", "humen")
	var ie *inventory.InvalidError
	if !errors.As(err, &ie) || !strings.Contains(ie.Reason, "service, human, system, auto") || !strings.Contains(ie.HintText, "did you mean human?") {
		t.Errorf("unknown kind: %v", err)
	}
	if err := inv.SetKind(ctx, "alice", "service"); err != nil {
		t.Fatal(err)
	}
	if a, _ := inv.GetAccount(ctx, "alice"); a.Human || !a.KindOverride {
		t.Errorf("after service: %+v", a.AccountSummary)
	}
	if err := inv.SetKind(ctx, "alice", "auto"); err != nil {
		t.Fatal(err)
	}
	if a, _ := inv.GetAccount(ctx, "alice"); !a.Human || a.KindOverride {
		t.Errorf("after auto: %+v", a.AccountSummary)
	}
	h, _ := inv.AccountHistory(ctx, "alice")
	if n := strings.Count(kindsText(h), inventory.EventKindChanged); n != 2 {
		t.Errorf("%d kind events, want 2", n)
	}
	recs, _ := audit.List(ctx, inv, audit.Filter{Account: "alice"})
	if len(recs) != 2 || recs[0].Actor != "test" || recs[0].Action != audit.ActionAccountKind {
		t.Errorf("audit = %+v", recs)
	}
}

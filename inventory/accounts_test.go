package inventory_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

func TestEnvironmentsSplitMerge(t *testing.T) {
	inv, clk := open(t)
	for _, h := range []struct{ host, env string }{{"p1", "prod"}, {"p2", "prod"}, {"s1", "staging"}} {
		if err := inv.TagHost(ctx, h.host, []string{"env=" + h.env}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []string{"p1", "p2", "s1", "x1"} {
		mustIngest(t, inv, inventorytest.NewReport(h, "", t0, inventorytest.Account("etl", 500, inventorytest.Cred(scan.CredSecretFile, "/etl/.pgpass", "etl-secret")),
			inventorytest.Account("web", 501, inventorytest.Cred(scan.CredSSHAuthorizedKey, "/web/.ssh/authorized_keys:1", "web-"+h))))
	}
	keys := func() map[string]inventory.AccountSummary {
		t.Helper()
		list, err := inv.ListAccounts(ctx, inventory.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]inventory.AccountSummary{}
		for _, a := range list {
			m[a.Key] = a
		}
		return m
	}
	got := keys()
	// The prod hosts were scanned first: etl@prod and web@prod are the
	// identities. The scans of s1 and x1 found etl in two more groups,
	// which wait for review (and alone are flagged shared): one host's
	// report does not change another's accounts.
	for _, tc := range []struct {
		key             string
		instances       int
		shared, pending bool
	}{{"etl@prod", 2, false, false}, {"etl@staging", 1, true, true}, {"etl@default", 1, true, true}, {"web@prod", 2, false, false}} {
		a, ok := got[tc.key]
		if !ok || a.Instances != tc.instances || a.SharedAcrossEnvs != tc.shared || a.PendingReview != tc.pending {
			t.Errorf("%s = %+v (present %v), want %d instances, shared %v, pending review %v", tc.key, a, ok, tc.instances, tc.shared, tc.pending)
		}
	}
	// A name in several envs must be qualified.
	if _, err := inv.GetAccount(ctx, "etl"); !errors.Is(err, inventory.ErrAmbiguous) || !strings.Contains(err.Error(), "etl@prod") {
		t.Errorf("GetAccount(etl) err = %v, want ambiguous naming etl@prod", err)
	}
	// Confirming each group as separate clears the flag.
	for _, k := range []string{"etl@prod", "etl@staging", "etl@default"} {
		if err := inv.Split(ctx, k, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	if a := keys()["etl@prod"]; a.SharedAcrossEnvs {
		t.Errorf("etl@prod still shared after split: %+v", a)
	}
	// Move one instance out, then merge it back.
	if err := inv.Split(ctx, "web@prod", "p2", "legacy"); err != nil {
		t.Fatal(err)
	}
	got = keys()
	if got["web@prod"].Instances != 1 || got["web@legacy"].Instances != 1 {
		t.Errorf("after split: web@prod %d, web@legacy %d instances", got["web@prod"].Instances, got["web@legacy"].Instances)
	}
	// A later scan keeps the split.
	clk.Set(t0.Add(time.Hour))
	mustIngest(t, inv, inventorytest.NewReport("p2", "", t0.Add(time.Hour), inventorytest.Account("web", 501, inventorytest.Cred(scan.CredSSHAuthorizedKey, "/web/.ssh/authorized_keys:1", "web-p2"))))
	if keys()["web@legacy"].Instances != 1 {
		t.Error("rescan undid the split")
	}
	if err := inv.Merge(ctx, "web@legacy", "web@prod"); err != nil {
		t.Fatal(err)
	}
	if got := keys(); got["web@prod"].Instances != 2 || got["web@legacy"].Instances != 0 {
		t.Errorf("after merge: %+v", got)
	}
	if err := inv.Merge(ctx, "web@prod", "etl@prod"); err == nil {
		t.Error("merging different names succeeded")
	}
	// Retagging a host moves its instances.
	if err := inv.TagHost(ctx, "x1", []string{"env=staging"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := keys(); got["etl@staging"].Instances != 2 || got["etl@default"].Instances != 0 {
		t.Errorf("after retag: etl@staging %d, etl@default %d", got["etl@staging"].Instances, got["etl@default"].Instances)
	}
	shared, err := inv.SharedCredentials(ctx)
	if err != nil || len(shared) != 1 || strings.Join(shared[0].Accounts, " ") != "etl@prod etl@staging" {
		t.Errorf("shared credentials after regrouping: %+v, %v", shared, err)
	}
	h, err := inv.AccountHistory(ctx, "etl@staging")
	if err != nil || !strings.Contains(kindsText(h), inventory.EventRegrouped) {
		t.Errorf("history of etl@staging lacks the regroup: %v %v", kindsText(h), err)
	}
	list, err := inv.ListAccounts(ctx, inventory.Filter{Env: "staging", Host: "x1"})
	if err != nil || len(list) != 2 {
		t.Errorf("filter env+host: %d accounts, %v", len(list), err)
	}
}

func kindsText(evs []inventory.Event) string { return strings.Join(kinds(evs), ",") }

func TestTiers(t *testing.T) {
	listen := func(a scan.Account, loopback bool) scan.Account {
		a.Exposure.Listening = []scan.Socket{{Proto: "tcp", Address: "10.0.0.1", Port: 8080, Loopback: loopback}}
		return a
	}
	priv := inventorytest.Account("p", 0)
	priv.Privileged, priv.PrivilegeReasons = true, []string{"member of group wheel"}
	key := inventorytest.Cred(scan.CredSSHAuthorizedKey, "/k:1", "k")
	for _, tc := range []struct {
		desc       string
		hostTags   []string
		acctTags   []string
		account    scan.Account
		want       inventory.Tier
		reasonPart string
	}{
		{"privileged", nil, nil, priv, inventory.TierPrivileged, "wheel"},
		{"listening on the network", nil, nil, listen(inventorytest.Account("a", 5), false), inventory.TierExternal, "10.0.0.1:8080"},
		{"listening on loopback only", nil, nil, listen(inventorytest.Account("a", 5), true), inventory.TierRest, "no privilege"},
		{"ssh key on external host", []string{"external"}, nil, inventorytest.Account("a", 5, key), inventory.TierExternal, "tagged external"},
		{"ssh key on internal host", nil, nil, inventorytest.Account("a", 5, key), inventory.TierRest, "no privilege"},
		{"third party", nil, []string{"third-party=acme"}, inventorytest.Account("a", 5), inventory.TierExternal, "acme"},
		{"critical host", []string{"critical"}, nil, inventorytest.Account("a", 5), inventory.TierCritical, "tagged critical"},
		{"critical account", nil, []string{"critical"}, inventorytest.Account("a", 5), inventory.TierCritical, "account tagged critical"},
		{"privilege beats critical", []string{"critical"}, nil, priv, inventory.TierPrivileged, "wheel"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			inv, _ := open(t)
			if tc.hostTags != nil {
				if err := inv.TagHost(ctx, "h", tc.hostTags, nil); err != nil {
					t.Fatal(err)
				}
			}
			mustIngest(t, inv, inventorytest.NewReport("h", "", t0, tc.account))
			if tc.acctTags != nil {
				if err := inv.TagAccount(ctx, tc.account.Name, tc.acctTags, nil); err != nil {
					t.Fatal(err)
				}
			}
			a, err := inv.GetAccount(ctx, tc.account.Name)
			if err != nil {
				t.Fatal(err)
			}
			if a.Tier != tc.want || !strings.Contains(a.TierReason, tc.reasonPart) {
				t.Errorf("tier %d (%s), want %d with %q", a.Tier, a.TierReason, tc.want, tc.reasonPart)
			}
		})
	}
}

func TestTierOverride(t *testing.T) {
	inv, _ := open(t)
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("a", 5)))
	if err := inv.SetTier(ctx, "a", 2, ""); err == nil {
		t.Error("override without a reason accepted")
	}
	if err := inv.SetTier(ctx, "a", 2, "vendor VPN uses it"); err != nil {
		t.Fatal(err)
	}
	a, _ := inv.GetAccount(ctx, "a")
	if a.Tier != 2 || !a.TierOverride || !strings.Contains(a.TierReason, "vendor VPN") {
		t.Errorf("after override: %+v", a.AccountSummary)
	}
	if err := inv.SetTier(ctx, "a", 0, ""); err != nil {
		t.Fatal(err)
	}
	a, _ = inv.GetAccount(ctx, "a")
	if a.Tier != 4 || a.TierOverride {
		t.Errorf("after clearing: %+v", a.AccountSummary)
	}
	h, _ := inv.AccountHistory(ctx, "a")
	if n := strings.Count(kindsText(h), inventory.EventTierChanged); n != 2 {
		t.Errorf("%d tier events, want 2", n)
	}
	audit, _ := audit.List(ctx, inv, audit.Filter{Account: "a"})
	if len(audit) != 2 || audit[0].Actor != "test" || audit[0].Action != "account.tier" {
		t.Errorf("audit = %+v", audit)
	}
}

func TestOwners(t *testing.T) {
	inv, _ := open(t)
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("a", 5), inventorytest.Account("b", 6), inventorytest.Account("c", 7)))
	if err := inv.SetOwner(ctx, "a", inventory.Owner{}); err == nil {
		t.Error("empty owner accepted")
	}
	if err := inv.SetOwner(ctx, "a", inventory.Owner{Name: "team-db", Contact: "db@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := inv.SetOwner(ctx, "nope", inventory.Owner{Name: "x"}); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("owner of unknown account: %v", err)
	}
	list, _ := inv.ListAccounts(ctx, inventory.Filter{NoOwner: true})
	if len(list) != 2 {
		t.Errorf("%d ownerless accounts, want 2", len(list))
	}
	if err := inv.UnsetOwner(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	h, _ := inv.AccountHistory(ctx, "a")
	if kindsText(h) != "account appeared,owner set,owner unset" {
		t.Errorf("history %s", kindsText(h))
	}
}

func TestImportOwners(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		csv     string
		apply   bool
		errs    []string // "line: substring"
		applied bool
		owners  map[string]string
	}{
		{desc: "dry run writes nothing", csv: "account,owner,contact\na,team-a,a@x\nb,team-b,\n",
			owners: map[string]string{"a": "", "b": ""}},
		{desc: "apply", csv: "account,owner,contact\na,team-a,a@x\nb,team-b,\n", apply: true, applied: true,
			owners: map[string]string{"a": "team-a", "b": "team-b"}},
		{desc: "columns in any order", csv: "owner,account\nteam-c,c\n", apply: true, applied: true,
			owners: map[string]string{"c": "team-c"}},
		{desc: "one bad row stops the whole apply", csv: "account,owner,contact\na,team-a,\nghost,team-g,\nb,,\na,again,\n", apply: true,
			errs:   []string{"3: unknown account ghost", "4: owner: missing", "5: already set"},
			owners: map[string]string{"a": "", "b": ""}},
		{desc: "quote error has its line", csv: "account,owner\na,\"team\n", apply: true,
			errs: []string{"2: "}, owners: map[string]string{"a": ""}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			inv, _ := open(t)
			mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("a", 5), inventorytest.Account("b", 6), inventorytest.Account("c", 7)))
			res, err := inv.ImportOwners(ctx, strings.NewReader(tc.csv), tc.apply)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Rows {
				if r.Err != "" {
					got = append(got, r.Err)
					found := false
					for _, e := range tc.errs {
						line, sub, _ := strings.Cut(e, ": ")
						if line == itoa(r.Line) && strings.Contains(r.Err, sub) {
							found = true
						}
					}
					if !found {
						t.Errorf("unexpected row error line %d: %s", r.Line, r.Err)
					}
				}
			}
			if len(got) != len(tc.errs) || res.Errors != len(tc.errs) || res.Applied != tc.applied {
				t.Errorf("errors %q (count %d), applied %v; want %d errors, applied %v", got, res.Errors, res.Applied, len(tc.errs), tc.applied)
			}
			for acct, want := range tc.owners {
				a, err := inv.GetAccount(ctx, acct)
				if err != nil {
					t.Fatal(err)
				}
				name := ""
				if a.Owner != nil {
					name = a.Owner.Name
				}
				if name != want {
					t.Errorf("owner of %s = %q, want %q", acct, name, want)
				}
			}
		})
	}
	inv, _ := open(t)
	if _, err := inv.ImportOwners(ctx, strings.NewReader("name,team\n"), false); err == nil {
		t.Error("bad header accepted")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// FuzzImportOwners feeds arbitrary CSV to a dry-run import: it must not
// panic, must never write, and every row error must carry a line number.
func FuzzImportOwners(f *testing.F) {
	for _, s := range []string{
		"account,owner,contact\na,team-a,a@x\n",
		"owner,account\nteam,b\n",
		"account,owner\n\"a,team\n",
		"\ufeffaccount,owner,contact\r\na,t,c\r\n",
		"account\n",
		"",
	} {
		f.Add(s)
	}
	inv, _ := inventorytest.Open(f, inventory.Options{})
	if _, err := inv.Ingest(ctx, inventorytest.NewReport("h", "", t0, inventorytest.Account("a", 5), inventorytest.Account("b", 6))); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		res, err := inv.ImportOwners(ctx, strings.NewReader(in), false)
		if err != nil {
			var ie *inventory.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		if res.Applied {
			t.Fatal("dry run applied")
		}
		for _, r := range res.Rows {
			if r.Err != "" && r.Line < 2 {
				t.Fatalf("row error without a data line number: %+v", r)
			}
		}
	})
}

func TestHumansAndSystemCountedApart(t *testing.T) {
	inv, _ := open(t)
	alice := inventorytest.Account("alice", 1000, inventorytest.Cred(scan.CredSSHAuthorizedKey, "/home/alice/.ssh/authorized_keys:1", "alice-key"))
	alice.Kind = scan.KindHuman
	games := inventorytest.Account("games", 5)
	games.Kind = scan.KindSystem
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, alice, inventorytest.Account("app", 5), games))
	for _, tc := range []struct {
		f    inventory.Filter
		want int
	}{{inventory.Filter{}, 1}, {inventory.Filter{Humans: true}, 2}, {inventory.Filter{System: true}, 2}, {inventory.Filter{Humans: true, System: true}, 3}} {
		if l, err := inv.ListAccounts(ctx, tc.f); err != nil || len(l) != tc.want {
			t.Errorf("ListAccounts(%+v) = %d, %v; want %d", tc.f, len(l), err, tc.want)
		}
	}
	r, err := inv.Report(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Humans != 1 || r.System != 1 || r.Tiers[3].Accounts != 1 || r.Tiers[3].Static != 0 {
		t.Errorf("report: humans %d, system %d, tier 4 %+v", r.Humans, r.System, r.Tiers[3])
	}
	if a, _ := inv.GetAccount(ctx, "alice"); a == nil || !a.Human {
		t.Errorf("alice not marked human: %+v", a)
	}
}

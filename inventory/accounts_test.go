package inventory_test

import (
	"errors"
	"maps"
	"slices"
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

// TestSplitSeparatesIdentities: a name in several environments is shared
// until the operator tells the groups apart, by confirming one as its own
// identity (Split with no host) or by splitting an instance off; either
// leaves the other group alone in its name when it was the only other one.
// An account split off takes the owner of the one it left.
func TestSplitSeparatesIdentities(t *testing.T) {
	type split struct{ account, host, group string }
	for _, tc := range []struct {
		desc   string
		envs   map[string]string // host -> env, scanned in host name order: the first env seen is established
		owners map[string]string // set before the splits
		splits []split
		shared map[string]bool   // key -> SharedAcrossEnvs after, for every live key
		owner  map[string]string // key -> owner after ("" none)
	}{
		{desc: "two environments, nothing confirmed: the later one waits for review",
			envs:   map[string]string{"p1": "prod", "s1": "staging"},
			shared: map[string]bool{"billing-batch@prod": false, "billing-batch@staging": true}},
		{desc: "staging instance split off",
			envs:   map[string]string{"p1": "prod", "s1": "staging"},
			owners: map[string]string{"billing-batch@staging": "team-stage", "billing-batch@prod": "team-prod"},
			splits: []split{{"billing-batch@staging", "s1", "staging-batch"}},
			shared: map[string]bool{"billing-batch@prod": false, "billing-batch@staging-batch": false},
			owner:  map[string]string{"billing-batch@staging-batch": "team-stage", "billing-batch@prod": "team-prod"}},
		{desc: "staging confirmed separate without a host",
			envs:   map[string]string{"p1": "prod", "s1": "staging"},
			splits: []split{{"billing-batch@staging", "", ""}},
			shared: map[string]bool{"billing-batch@prod": false, "billing-batch@staging": false}},
		{desc: "three environments, staging confirmed: prod still waits for review",
			envs:   map[string]string{"p1": "prod", "s1": "staging", "d1": "dev"},
			splits: []split{{"billing-batch@staging", "", ""}},
			shared: map[string]bool{"billing-batch@prod": true, "billing-batch@staging": false, "billing-batch@dev": false}},
		{desc: "three environments, staging split off: prod still waits for review",
			envs:   map[string]string{"p1": "prod", "s1": "staging", "d1": "dev"},
			splits: []split{{"billing-batch", "s1", "legacy"}},
			shared: map[string]bool{"billing-batch@prod": true, "billing-batch@legacy": false, "billing-batch@dev": false}},
		{desc: "split off into an owned account keeps its owner",
			envs:   map[string]string{"p1": "prod", "p2": "prod", "s1": "staging"},
			owners: map[string]string{"billing-batch@prod": "team-prod", "billing-batch@staging": "team-stage"},
			splits: []split{{"billing-batch@prod", "p2", "staging"}},
			shared: map[string]bool{"billing-batch@prod": false, "billing-batch@staging": false},
			owner:  map[string]string{"billing-batch@prod": "team-prod", "billing-batch@staging": "team-stage"}},
		{desc: "split off an ownerless account: no owner",
			envs:   map[string]string{"p1": "prod", "p2": "prod"},
			splits: []split{{"billing-batch", "p2", "legacy"}},
			shared: map[string]bool{"billing-batch@prod": false, "billing-batch@legacy": false},
			owner:  map[string]string{"billing-batch@legacy": ""}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			inv, _ := open(t)
			for _, host := range slices.Sorted(maps.Keys(tc.envs)) {
				env := tc.envs[host]
				if err := inv.TagHost(ctx, host, []string{"env=" + env}, nil); err != nil {
					t.Fatal(err)
				}
				mustIngest(t, inv, inventorytest.NewReport(host, "", t0,
					inventorytest.Account("billing-batch", 500, inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", "pw-"+host))))
			}
			for acct, o := range tc.owners {
				if err := inv.SetOwner(ctx, acct, inventory.Owner{Name: o}); err != nil {
					t.Fatal(err)
				}
			}
			for _, sp := range tc.splits {
				if err := inv.Split(ctx, sp.account, sp.host, sp.group); err != nil {
					t.Fatal(err)
				}
			}
			list, err := inv.ListAccounts(ctx, inventory.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]inventory.AccountSummary{}
			for _, a := range list {
				got[a.Key] = a
			}
			if len(got) != len(tc.shared) {
				t.Errorf("accounts %v, want %v", keysOf(got), tc.shared)
			}
			for key, want := range tc.shared {
				a, ok := got[key]
				if !ok || a.SharedAcrossEnvs != want {
					t.Errorf("%s: shared %v (listed %v), want %v", key, a.SharedAcrossEnvs, ok, want)
				}
			}
			// The issuer reads the same flag through Identity.
			for host := range tc.envs {
				s, err := inv.Identity(ctx, host, "billing-batch")
				if err != nil {
					t.Fatal(err)
				}
				if want := tc.shared[s.ServiceAccount]; s.SharedAcrossEnvs != want {
					t.Errorf("Identity(%s): %s shared %v, want %v", host, s.ServiceAccount, s.SharedAcrossEnvs, want)
				}
			}
			for key, want := range tc.owner {
				name := ""
				if o := got[key].Owner; o != nil {
					name = o.Name
				}
				if name != want {
					t.Errorf("owner of %s = %q, want %q", key, name, want)
				}
			}
		})
	}
}

func keysOf(m map[string]inventory.AccountSummary) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
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
			if _, err := inv.AddVendor(ctx, acme()); err != nil { // third-party=acme needs it
				t.Fatal(err)
			}
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

// TestHostEnvTagMovesAccounts: tagging hosts env=NAME moves their
// instances to NAME's service accounts. An account all of whose live
// instances move is the same service account under a new key: its owner,
// tags, tier override and exceptions follow it, audited. An account of
// which only some move starts a new one, listed as needing an owner.
func TestHostEnvTagMovesAccounts(t *testing.T) {
	pw := func(host string) scan.Credential {
		return inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", "pw-"+host)
	}
	svc := func(host string) scan.Account { return inventorytest.Account("svc-report", 500, pw(host)) }
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		desc  string
		setup func(t *testing.T, inv *inventory.Inventory)
		hosts []string
		add   []string
		// after the change
		moved     string            // "FROM>TO: CARRIED; KEPT" entries joined by " | "
		needOwner string            // "ACCOUNT<SIBLING(OWNER)" entries joined by " | "
		owners    map[string]string // key -> owner ("" none); every key listed must be live
		check     func(t *testing.T, inv *inventory.Inventory)
	}{
		{desc: "every instance moves: owner, tags, tier override and exceptions follow",
			setup: func(t *testing.T, inv *inventory.Inventory) {
				mustIngest(t, inv, inventorytest.NewReport("db-billing-01", "", t0, svc("db-billing-01")))
				must(t, inv.SetOwner(ctx, "svc-report", inventory.Owner{Name: "team-r", Contact: "r@example.com"}))
				_, err := inv.AddVendor(ctx, acme())
				must(t, err)
				must(t, inv.TagAccount(ctx, "svc-report", []string{"critical", "third-party=acme"}, nil))
				must(t, inv.SetTier(ctx, "svc-report", inventory.TierPrivileged, "reads the payroll"))
				must(t, inv.SetKind(ctx, "svc-report", inventory.KindService))
				_, err = inv.AddException(ctx, inventory.Exception{Account: "svc-report", Reason: "vendor tool", Owner: "team-r", Expires: t0.AddDate(0, 0, 30)})
				must(t, err)
			},
			hosts: []string{"db-billing-01"}, add: []string{"env=prod"},
			moved:  "svc-report@default>svc-report@prod: owner team-r <r@example.com>, tags [critical,third-party=acme], tier override 1, kind override service, 1 exception(s); ",
			owners: map[string]string{"svc-report@prod": "team-r"},
			check: func(t *testing.T, inv *inventory.Inventory) {
				a, err := inv.GetAccount(ctx, "svc-report")
				must(t, err)
				if a.Key != "svc-report@prod" || strings.Join(a.Tags, " ") != "critical third-party=acme" || !a.TierOverride || a.Tier != 1 || !a.KindOverride ||
					a.Status != inventory.StatusException || len(a.Exceptions) != 1 || a.Exceptions[0].Account != "svc-report@prod" {
					t.Errorf("moved account: %+v", a)
				}
				if s, _ := inv.Identity(ctx, "db-billing-01", "svc-report"); s.Owner == nil || s.Owner.Name != "team-r" {
					t.Errorf("the issuer sees owner %+v", s.Owner)
				}
				if l, _ := inv.ListExceptions(ctx, inventory.ExceptionFilter{Account: "svc-report@prod"}); len(l) != 1 {
					t.Errorf("exceptions of svc-report@prod: %+v", l)
				}
				h, _ := inv.AccountHistory(ctx, "svc-report@prod")
				if !strings.Contains(kindsText(h), inventory.EventRegrouped) {
					t.Errorf("history lacks the move: %s", kindsText(h))
				}
				evs, _ := audit.List(ctx, inv, audit.Filter{Account: "svc-report@prod"})
				if len(evs) == 0 || evs[len(evs)-1].Action != audit.ActionAccountMove || !strings.Contains(evs[len(evs)-1].Detail, "owner team-r") {
					t.Errorf("audit: %+v", evs)
				}
			}},
		{desc: "some instances move: the new account needs an owner",
			setup: func(t *testing.T, inv *inventory.Inventory) {
				mustIngest(t, inv, inventorytest.NewReport("h1", "", t0, svc("h1")))
				mustIngest(t, inv, inventorytest.NewReport("h2", "", t0, svc("h2")))
				must(t, inv.SetOwner(ctx, "svc-report", inventory.Owner{Name: "team-r"}))
			},
			hosts: []string{"h1"}, add: []string{"env=prod"},
			needOwner: "svc-report@prod<svc-report@default(team-r)",
			owners:    map[string]string{"svc-report@prod": "", "svc-report@default": "team-r"},
			check: func(t *testing.T, inv *inventory.Inventory) {
				r, err := inv.Report(ctx, t0)
				must(t, err)
				if len(r.NeedOwner) != 1 || r.NeedOwner[0] != (inventory.OwnerNeeded{Account: "svc-report@prod", Sibling: "svc-report@default", SiblingOwner: "team-r"}) {
					t.Errorf("report need_owner %+v", r.NeedOwner)
				}
			}},
		{desc: "a fleet tagged at once: every instance moves",
			setup: func(t *testing.T, inv *inventory.Inventory) {
				mustIngest(t, inv, inventorytest.NewReport("h1", "", t0, svc("h1")))
				mustIngest(t, inv, inventorytest.NewReport("h2", "", t0, svc("h2")))
				must(t, inv.SetOwner(ctx, "svc-report", inventory.Owner{Name: "team-r"}))
			},
			hosts: []string{"h1", "h2"}, add: []string{"env=prod"},
			moved:  "svc-report@default>svc-report@prod: owner team-r; ",
			owners: map[string]string{"svc-report@prod": "team-r"}},
		{desc: "into an account with an owner: it keeps its own",
			setup: func(t *testing.T, inv *inventory.Inventory) {
				must(t, inv.TagHost(ctx, "p1", []string{"env=prod"}, nil))
				mustIngest(t, inv, inventorytest.NewReport("p1", "", t0, svc("p1")))
				mustIngest(t, inv, inventorytest.NewReport("h2", "", t0, svc("h2")))
				must(t, inv.SetOwner(ctx, "svc-report@prod", inventory.Owner{Name: "team-p"}))
				must(t, inv.SetOwner(ctx, "svc-report@default", inventory.Owner{Name: "team-d"}))
				must(t, inv.RetireAccount(ctx, "svc-report@default", true, "test"))
				_, err := inv.AddException(ctx, inventory.Exception{Account: "svc-report@default", Reason: "legacy", Owner: "team-d", Expires: t0.AddDate(0, 0, 30)})
				must(t, err)
			},
			hosts: []string{"h2"}, add: []string{"env=prod"},
			moved:  "svc-report@default>svc-report@prod: 1 exception(s); owner team-d (svc-report@prod has team-p), retirement (svc-report@prod is in use)",
			owners: map[string]string{"svc-report@prod": "team-p"}},
		{desc: "a retired account moves retired",
			setup: func(t *testing.T, inv *inventory.Inventory) {
				mustIngest(t, inv, inventorytest.NewReport("h1", "", t0, svc("h1")))
				must(t, inv.RetireAccount(ctx, "svc-report", true, "decommissioned"))
			},
			hosts: []string{"h1"}, add: []string{"env=prod"},
			moved: "svc-report@default>svc-report@prod: retirement; ",
			check: func(t *testing.T, inv *inventory.Inventory) {
				if s, _ := inv.Identity(ctx, "h1", "svc-report"); !s.Retired || s.ServiceAccount != "svc-report@prod" {
					t.Errorf("identity %+v, want retired svc-report@prod", s)
				}
			}},
		{desc: "an instance already gone stays behind and does not hold the move back",
			setup: func(t *testing.T, inv *inventory.Inventory) {
				mustIngest(t, inv, inventorytest.NewReport("h1", "", t0, svc("h1")))
				mustIngest(t, inv, inventorytest.NewReport("old", "", t0, svc("old")))
				mustIngest(t, inv, inventorytest.NewReport("old", "", t0.Add(time.Hour)))
				must(t, inv.SetOwner(ctx, "svc-report", inventory.Owner{Name: "team-r"}))
			},
			hosts: []string{"h1"}, add: []string{"env=prod"},
			moved:  "svc-report@default>svc-report@prod: owner team-r; ",
			owners: map[string]string{"svc-report@prod": "team-r"}},
		{desc: "there and back again",
			setup: func(t *testing.T, inv *inventory.Inventory) {
				mustIngest(t, inv, inventorytest.NewReport("h1", "", t0, svc("h1")))
				must(t, inv.SetOwner(ctx, "svc-report", inventory.Owner{Name: "team-r"}))
				must(t, inv.TagHost(ctx, "h1", []string{"env=prod"}, nil))
				must(t, inv.TagHost(ctx, "h1", nil, []string{"env="}))
			},
			hosts: []string{"h1"}, add: []string{"env=prod"},
			moved:  "svc-report@default>svc-report@prod: owner team-r; ",
			owners: map[string]string{"svc-report@prod": "team-r"}},
		{desc: "other tags move nothing",
			setup: func(t *testing.T, inv *inventory.Inventory) {
				mustIngest(t, inv, inventorytest.NewReport("h1", "", t0, svc("h1")))
				must(t, inv.SetOwner(ctx, "svc-report", inventory.Owner{Name: "team-r"}))
			},
			hosts: []string{"h1"}, add: []string{"critical"},
			owners: map[string]string{"svc-report@default": "team-r"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			inv, clk := open(t)
			// Some setups scan a host again an hour later: the server's
			// clock is past every report (reports from the future are
			// refused).
			clk.Set(t0.Add(2 * time.Hour))
			tc.setup(t, inv)
			res, err := inv.RetagHosts(ctx, tc.hosts, tc.add, nil)
			if err != nil {
				t.Fatal(err)
			}
			var moved, need []string
			for _, m := range res.Moved {
				moved = append(moved, m.From+">"+m.To+": "+m.Carried+"; "+m.NotCarried)
			}
			for _, n := range res.NeedOwner {
				need = append(need, n.Account+"<"+n.Sibling+"("+n.SiblingOwner+")")
			}
			if got := strings.Join(moved, " | "); got != tc.moved {
				t.Errorf("moved\n got %q\nwant %q", got, tc.moved)
			}
			if got := strings.Join(need, " | "); got != tc.needOwner {
				t.Errorf("need owner\n got %q\nwant %q", got, tc.needOwner)
			}
			list, err := inv.ListAccounts(ctx, inventory.Filter{Retired: true})
			must(t, err)
			live := map[string]string{}
			for _, a := range list {
				live[a.Key] = ""
				if a.Owner != nil {
					live[a.Key] = a.Owner.Name
				}
			}
			for key, want := range tc.owners {
				got, ok := live[key]
				if !ok || got != want {
					t.Errorf("%s: owner %q (listed %v), want %q; accounts %v", key, got, ok, want, live)
				}
			}
			if tc.check != nil {
				tc.check(t, inv)
			}
		})
	}
}

// TestPlaceholderOwners: an owner that names nobody is refused, with the
// rule in the error: a placeholder from Options.PlaceholderOwners (case
// and spaces ignored) or the account's own name.
func TestPlaceholderOwners(t *testing.T) {
	for _, tc := range []struct {
		desc         string
		placeholders []string // Options.PlaceholderOwners
		owner        string
		refused      string // a substring of the error, "" for accepted
	}{
		{desc: "a team", owner: "team-r"},
		{desc: "unknown", owner: "unknown", refused: `"unknown" is a placeholder, not a person or team (refused as owners: unknown, n/a, -, tbd, none, todo)`},
		{desc: "N/A in capitals", owner: "N/A", refused: "placeholder"},
		{desc: "a dash", owner: "-", refused: "placeholder"},
		{desc: "tbd with spaces", owner: " TBD ", refused: "placeholder"},
		{desc: "none", owner: "None", refused: "placeholder"},
		{desc: "todo", owner: "todo", refused: "placeholder"},
		{desc: "the account's name", owner: "svc-report", refused: `"svc-report" is the account's own name`},
		{desc: "the account's name in capitals", owner: "SVC-REPORT", refused: "own name"},
		{desc: "the account's key", owner: "svc-report@default", refused: "own name"},
		{desc: "a name that contains a placeholder", owner: "team-none"},
		{desc: "own list: tbd is fine", placeholders: []string{"nobody"}, owner: "tbd"},
		{desc: "own list: nobody is not", placeholders: []string{"nobody"}, owner: "Nobody", refused: "refused as owners: nobody"},
		{desc: "empty list refuses no placeholder", placeholders: []string{}, owner: "unknown"},
		{desc: "empty list still refuses the account's name", placeholders: []string{}, owner: "svc-report", refused: "own name"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			inv, _ := inventorytest.Open(t, inventory.Options{Now: (&clock{t: t0}).Now, PlaceholderOwners: tc.placeholders})
			mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("svc-report", 5, inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", "p"))))
			check := func(what string, err error) {
				t.Helper()
				var ie *inventory.InvalidError
				switch {
				case tc.refused == "" && err != nil:
					t.Errorf("%s: %v", what, err)
				case tc.refused != "" && (!errors.As(err, &ie) || ie.Field != "owner" || !strings.Contains(err.Error(), tc.refused)):
					t.Errorf("%s: err %v, want an owner error saying %q", what, err, tc.refused)
				}
			}
			check("owner set", inv.SetOwner(ctx, "svc-report", inventory.Owner{Name: tc.owner}))
			res, err := inv.ImportOwners(ctx, strings.NewReader("account,owner\nsvc-report,"+tc.owner+"\n"), false)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Rows[0].Err; (tc.refused == "") != (got == "") || !strings.Contains(got, tc.refused) {
				t.Errorf("import row error %q, want %q", got, tc.refused)
			}
			list, _ := inv.ListAccounts(ctx, inventory.Filter{NoOwner: true})
			if owned := len(list) == 0; owned != (tc.refused == "") {
				t.Errorf("counted as owned: %v", owned)
			}
		})
	}
}

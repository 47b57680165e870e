package inventory_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

func legacy(name string) inventory.NewAccount {
	return inventory.NewAccount{Name: name, System: "mainframe ledger", Kind: "legacy", Credential: "static_password"}
}

// TestAddRegisteredRefusals: what AddRegistered refuses, with the valid
// values and the nearest one where the operator mistyped.
func TestAddRegisteredRefusals(t *testing.T) {
	inv, _ := open(t)
	mustIngest(t, inv, inventorytest.NewReport("app1", "", t0, inventorytest.Account("billing", 1001, inventorytest.Cred(scan.CredPassword, "/etc/shadow:2", "b"))))
	if _, err := inv.AddRegistered(ctx, legacy("ledger")); err != nil {
		t.Fatal(err)
	}
	with := func(f func(*inventory.NewAccount)) inventory.NewAccount {
		a := legacy("mf-batch")
		f(&a)
		return a
	}
	for _, tc := range []struct {
		desc   string
		a      inventory.NewAccount
		field  string
		reason string // substring of the reason
		hint   string // substring of the hint
	}{
		{"no name", with(func(a *inventory.NewAccount) { a.Name = "" }), "name", "missing", ""},
		{"bad name", with(func(a *inventory.NewAccount) { a.Name = "a b" }), "name", "", ""},
		{"name with @", with(func(a *inventory.NewAccount) { a.Name = "svc@corp" }), "name", "", ""},
		{"bad env", with(func(a *inventory.NewAccount) { a.Env = "pr od" }), "env", "not a valid environment", ""},
		{"no system", with(func(a *inventory.NewAccount) { a.System = " " }), "system", "missing", ""},
		{"system with a newline", with(func(a *inventory.NewAccount) { a.System = "a\nb" }), "system", "control", ""},
		{"no kind", with(func(a *inventory.NewAccount) { a.Kind = "" }), "kind", "legacy, appliance, database, cloud, directory, service", ""},
		{"unknown kind", with(func(a *inventory.NewAccount) { a.Kind = "databse" }), "kind", "want one of legacy, appliance", "did you mean database?"},
		{"no credential", with(func(a *inventory.NewAccount) { a.Credential = "" }), "credential", "missing", ""},
		{"unknown level", with(func(a *inventory.NewAccount) { a.Credential = "static_pasword" }), "credential", "shared_secret, empty_password", "did you mean static_password?"},
		{"unknown remedy", with(func(a *inventory.NewAccount) { a.Remedy = "gatway" }), "remedy", "replace-client, gateway, disconnect, short-lived-cert, accept", "did you mean gateway?"},
		{"tier 5", with(func(a *inventory.NewAccount) { a.Tier = 5 }), "tier", "want 1-4", ""},
		{"placeholder owner", with(func(a *inventory.NewAccount) { a.Owner = "TBD" }), "owner", "placeholder", ""},
		{"owner is the account", with(func(a *inventory.NewAccount) { a.Owner = "mf-batch" }), "owner", "own name", ""},
		{"long purpose", with(func(a *inventory.NewAccount) { a.Purpose = strings.Repeat("x", 513) }), "purpose", "longer than 512", ""},
		{"clash with a scanned account", with(func(a *inventory.NewAccount) { a.Name = "billing" }), "name", "billing@default is a scanned account", "--env ENV"},
		{"registered twice", with(func(a *inventory.NewAccount) { a.Name = "ledger" }), "name", "already registered", "roster accounts show ledger@default"},
	} {
		_, err := inv.AddRegistered(ctx, tc.a)
		var ie *inventory.InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("%s: err = %v, want a refusal", tc.desc, err)
			continue
		}
		if ie.Field != tc.field || !strings.Contains(ie.Reason, tc.reason) || !strings.Contains(ie.HintText, tc.hint) {
			t.Errorf("%s: refusal %q (field %s, hint %q), want field %s, reason with %q, hint with %q", tc.desc, ie.Reason, ie.Field, ie.HintText, tc.field, tc.reason, tc.hint)
		}
	}
	// The same name in another env is its own account.
	a := legacy("billing")
	a.Env = "mainframe"
	if _, err := inv.AddRegistered(ctx, a); err != nil {
		t.Errorf("billing@mainframe: %v", err)
	}
}

// TestRegisteredCounts: a registered account counts in its tier, the
// report's strength distribution, lists and owners like a scanned one,
// with its registered credential as its level; --tier overrides the tier,
// tags move it.
func TestRegisteredCounts(t *testing.T) {
	inv, _ := open(t)
	mustIngest(t, inv, inventorytest.NewReport("app1", "", t0, inventorytest.Account("etl", 1004, inventorytest.Cred(scan.CredSecretFile, "/etl/.pgpass", "e"))))
	for _, a := range []inventory.NewAccount{
		{Name: "mf-batch", System: "mainframe ledger", Kind: "legacy", Credential: "static_password", Owner: "team-ledger", Remedy: "gateway"},
		{Name: "fw-admin", System: "edge firewall", Kind: "appliance", Credential: "shared_secret", Tier: 1},
		{Name: "okta-sync", System: "okta", Kind: "cloud", Credential: "short_lived_cert", Env: "cloud"},
	} {
		if _, err := inv.AddRegistered(ctx, a); err != nil {
			t.Fatalf("%s: %v", a.Name, err)
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
	for _, tc := range []struct {
		key      string
		tier     inventory.Tier
		strength inventory.Strength
		by       string
		status   inventory.Status
		static   int
	}{
		{"mf-batch@default", inventory.TierRest, inventory.StrengthStaticPassword, "registered: static_password on mainframe ledger", inventory.StatusStatic, 1},
		{"fw-admin@default", inventory.TierPrivileged, inventory.StrengthSharedSecret, "registered: shared_secret on edge firewall", inventory.StatusStatic, 1},
		{"okta-sync@cloud", inventory.TierRest, inventory.StrengthShortLivedCert, "registered: short_lived_cert on okta", inventory.StatusNone, 0},
		{"etl@default", inventory.TierRest, inventory.StrengthSecretFile, "secret_file at /etl/.pgpass on app1", inventory.StatusStatic, 1},
	} {
		a, ok := got[tc.key]
		switch {
		case !ok:
			t.Errorf("%s not listed", tc.key)
		case a.Tier != tc.tier || a.Strength != tc.strength || a.StrengthBy != tc.by || a.Status != tc.status || a.Static != tc.static:
			t.Errorf("%s = tier %d, %s (%q), %s, %d static; want tier %d, %s (%q), %s, %d static",
				tc.key, a.Tier, a.Strength, a.StrengthBy, a.Status, a.Static, tc.tier, tc.strength, tc.by, tc.status, tc.static)
		case (a.Registered != nil) != (tc.key != "etl@default"):
			t.Errorf("%s: registered = %+v", tc.key, a.Registered)
		}
	}
	if a := got["mf-batch@default"]; a.Registered == nil || a.Registered.System != "mainframe ledger" || a.Registered.Kind != "legacy" ||
		a.Registered.Remedy != "gateway" || a.Owner == nil || a.Owner.Name != "team-ledger" || a.Instances != 0 {
		t.Errorf("mf-batch = %+v, registration %+v", a, a.Registered)
	}
	if a := got["fw-admin@default"]; !a.TierOverride || !strings.Contains(a.TierReason, "given at registration") {
		t.Errorf("fw-admin tier reason %q (override %v)", a.TierReason, a.TierOverride)
	}
	// Filters see them: no owner, static, tier.
	noOwner, err := inv.ListAccounts(ctx, inventory.Filter{NoOwner: true, Static: true, Tier: inventory.TierPrivileged})
	if err != nil || len(noOwner) != 1 || noOwner[0].Key != "fw-admin@default" {
		t.Errorf("no-owner static tier 1 = %v, %v; want fw-admin@default", noOwner, err)
	}

	rep, err := inv.Report(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	t1, t4 := rep.Tiers[0], rep.Tiers[3]
	if t1.Accounts != 1 || t1.ByStrength["shared_secret"] != 1 || t1.Static != 1 || t1.WithOwner != 0 {
		t.Errorf("tier 1 = %+v, want fw-admin: 1 account, shared_secret, static, no owner", t1)
	}
	if len(rep.OwnerlessPrivileged) != 1 || rep.OwnerlessPrivileged[0].Key != "fw-admin@default" {
		t.Errorf("ownerless privileged = %v", rep.OwnerlessPrivileged)
	}
	if t4.Accounts != 3 || t4.ByStrength["static_password"] != 1 || t4.ByStrength["secret_file"] != 1 || t4.ByStrength["short_lived_cert"] != 1 ||
		t4.WithOwner != 1 || t4.Static != 2 {
		t.Errorf("tier 4 = %+v, want 3 accounts: static_password, secret_file, short_lived_cert; 1 owner; 2 static", t4)
	}
	if rep.Instances != 1 {
		t.Errorf("instances = %d, want 1 (registered accounts have none)", rep.Instances)
	}

	// Tags move a registered account's derived tier.
	if err := inv.TagAccount(ctx, "mf-batch", []string{inventory.TagCritical}, nil); err != nil {
		t.Fatal(err)
	}
	if a, err := inv.GetAccount(ctx, "mf-batch"); err != nil || a.Tier != inventory.TierCritical {
		t.Errorf("tagged critical: tier %v, %v; want 3", a.Tier, err)
	}
}

// TestRegisteredException: a static registered credential is exceptable
// (an exception without a credential type covers it, and one naming its
// type), and the covered account counts as covered.
func TestRegisteredException(t *testing.T) {
	inv, _ := open(t)
	a := legacy("mf-batch")
	a.Owner = "team-ledger"
	if _, err := inv.AddRegistered(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddRegistered(ctx, inventory.NewAccount{Name: "okta-sync", System: "okta", Kind: "cloud", Credential: "short_lived_cert", Owner: "team-id"}); err != nil {
		t.Fatal(err)
	}
	exc := func(account, cred string) error {
		_, err := inv.AddException(ctx, inventory.Exception{Account: account, Credential: cred, Owner: "team-ledger", Reason: "vendor client",
			Expires: t0.Add(20 * 24 * time.Hour)})
		return err
	}
	if err := exc("okta-sync", ""); err == nil || !strings.Contains(err.Error(), "holds no static credential") {
		t.Errorf("exception on a short-lived registered account: %v, want refused", err)
	}
	if err := exc("mf-batch", scan.CredSSHAuthorizedKey); err == nil || !strings.Contains(err.Error(), "it holds password") {
		t.Errorf("exception for a type it does not hold: %v, want refused naming password", err)
	}
	if err := exc("mf-batch", ""); err != nil {
		t.Fatalf("exception without a credential type: %v", err)
	}
	got, err := inv.GetAccount(ctx, "mf-batch")
	if err != nil || got.Status != inventory.StatusException || len(got.Exceptions) != 1 {
		t.Fatalf("mf-batch = %+v, %v; want status exception with 1 exception", got, err)
	}
	rep, err := inv.Report(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if ts := rep.Tiers[3]; ts.Static != 1 || ts.Covered != 1 || ts.ExpiringExceptions != 1 {
		t.Errorf("tier 4 = %+v, want 1 static, covered, 1 exception expiring", ts)
	}
}

// TestRemoveRegistered: remove retires a registered account (out of lists
// and tiers, counted retired, history and audit kept); a scanned account
// is refused with the command that retires it; unretire brings it back.
func TestRemoveRegistered(t *testing.T) {
	inv, _ := open(t)
	mustIngest(t, inv, inventorytest.NewReport("app1", "", t0, inventorytest.Account("etl", 1004, inventorytest.Cred(scan.CredSecretFile, "/etl/.pgpass", "e"))))
	if _, err := inv.AddRegistered(ctx, legacy("mf-batch")); err != nil {
		t.Fatal(err)
	}
	var ie *inventory.InvalidError
	if err := inv.RemoveRegistered(ctx, "etl", "gone"); !errors.As(err, &ie) || !strings.Contains(ie.HintText, "roster account retire etl@default") {
		t.Errorf("remove a scanned account: %v, want refused with the retire command", err)
	}
	if err := inv.RemoveRegistered(ctx, "nobody", ""); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("remove an unknown account: %v", err)
	}
	if err := inv.RemoveRegistered(ctx, "mf-batch", "mainframe switched off"); err != nil {
		t.Fatal(err)
	}
	if err := inv.RemoveRegistered(ctx, "mf-batch", ""); err == nil || !strings.Contains(err.Error(), "already removed") {
		t.Errorf("second remove: %v", err)
	}
	list, err := inv.ListAccounts(ctx, inventory.Filter{})
	if err != nil || len(list) != 1 || list[0].Key != "etl@default" {
		t.Errorf("list after remove = %v, %v", list, err)
	}
	retired, err := inv.ListAccounts(ctx, inventory.Filter{Retired: true})
	if err != nil || len(retired) != 2 {
		t.Errorf("list --retired = %v, %v; want etl and mf-batch", retired, err)
	}
	rep, err := inv.Report(ctx, t0)
	if err != nil || rep.Retired != 1 || rep.Tiers[3].Accounts != 1 {
		t.Errorf("report after remove: retired %d, tier 4 %d (%v); want 1 and 1", rep.Retired, rep.Tiers[3].Accounts, err)
	}
	// Adding it again is refused with the command that brings it back.
	if _, err := inv.AddRegistered(ctx, legacy("mf-batch")); !errors.As(err, &ie) || !strings.Contains(ie.HintText, "roster account unretire mf-batch@default") {
		t.Errorf("add a removed account again: %v", err)
	}
	hist, err := inv.AccountHistory(ctx, "mf-batch")
	if err != nil {
		t.Fatal(err)
	}
	if k := kinds(hist); !slices.Equal(k, []string{inventory.EventRegistered, inventory.EventRetired}) {
		t.Errorf("history = %v", k)
	}
	if err := inv.UnretireAccount(ctx, "mf-batch", "back"); err != nil {
		t.Fatal(err)
	}
	if a, err := inv.GetAccount(ctx, "mf-batch"); err != nil || a.Retired || a.Status != inventory.StatusStatic {
		t.Errorf("unretired = %+v, %v", a, err)
	}
	var actions []string
	evs, err := audit.List(ctx, inv.Store(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{audit.ActionAccountAdd, audit.ActionAccountRemove} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit actions %v lack %s", actions, want)
		}
	}
}

// TestPurpose: the purpose prefilled from GECOS (unless it repeats the
// name) or else from a unit's description, bounded; an operator's purpose
// wins; clearing it goes back to the prefilled one.
func TestPurpose(t *testing.T) {
	inv, clk := open(t)
	gecos := inventorytest.Account("postgres", 102)
	gecos.GECOS = "PostgreSQL administrator,,,"
	gecos.UsedBy = []scan.Usage{{Type: scan.UsageSystemd, Name: "postgresql.service", Description: "PostgreSQL RDBMS"}}
	unit := inventorytest.Account("billing", 1001)
	unit.GECOS = "billing" // repeats the name: says nothing
	unit.UsedBy = []scan.Usage{{Type: scan.UsageCron, Name: "/etc/cron.d/x:1"},
		{Type: scan.UsageSystemd, Name: "billing.service", Description: "Billing run " + strings.Repeat("é", 200)}}
	none := inventorytest.Account("etl", 1004)
	mustIngest(t, inv, inventorytest.NewReport("app1", "", t0, gecos, unit, none))
	show := func(name string) inventory.AccountSummary {
		t.Helper()
		a, err := inv.GetAccount(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return a.AccountSummary
	}
	if a := show("postgres"); a.Purpose != "PostgreSQL administrator" || a.PurposeFrom != "passwd gecos on app1" {
		t.Errorf("postgres purpose %q from %q", a.Purpose, a.PurposeFrom)
	}
	a := show("billing")
	if !strings.HasPrefix(a.Purpose, "Billing run é") || len(a.Purpose) > 200 || !strings.HasSuffix(a.Purpose, "...") || a.PurposeFrom != "unit billing.service on app1" {
		t.Errorf("billing purpose %q (%d bytes) from %q", a.Purpose, len(a.Purpose), a.PurposeFrom)
	}
	if a := show("etl"); a.Purpose != "" || a.PurposeFrom != "" {
		t.Errorf("etl purpose %q from %q, want none", a.Purpose, a.PurposeFrom)
	}
	// The operator's purpose wins, and clearing it restores the prefill.
	if err := inv.SetPurpose(ctx, "postgres", "  the finance database  "); err != nil {
		t.Fatal(err)
	}
	if a := show("postgres"); a.Purpose != "the finance database" || a.PurposeFrom != inventory.PurposeFromOperator {
		t.Errorf("after set: %q from %q", a.Purpose, a.PurposeFrom)
	}
	// A rescan does not overwrite it.
	clk.Set(t0.Add(time.Hour))
	mustIngest(t, inv, inventorytest.NewReport("app1", "", t0.Add(time.Hour), gecos, unit, none))
	if a := show("postgres"); a.Purpose != "the finance database" {
		t.Errorf("after rescan: %q", a.Purpose)
	}
	if err := inv.SetPurpose(ctx, "postgres", ""); err != nil {
		t.Fatal(err)
	}
	if a := show("postgres"); a.Purpose != "PostgreSQL administrator" || a.PurposeFrom != "passwd gecos on app1" {
		t.Errorf("after clear: %q from %q", a.Purpose, a.PurposeFrom)
	}
	for _, bad := range []string{"a\x1b[2Jb", strings.Repeat("p", 513)} {
		if err := inv.SetPurpose(ctx, "postgres", bad); err == nil {
			t.Errorf("SetPurpose(%.20q) accepted", bad)
		}
	}
	// The prefill goes with the instance that gave it.
	clk.Set(t0.Add(2 * time.Hour))
	mustIngest(t, inv, inventorytest.NewReport("app1", "", t0.Add(2*time.Hour), unit, none))
	if a, err := inv.ListAccounts(ctx, inventory.Filter{Retired: true}); err != nil {
		t.Fatal(err)
	} else {
		for _, s := range a {
			if s.Key == "postgres@default" {
				t.Errorf("gone postgres still listed: %+v", s)
			}
		}
	}
	hist, err := inv.AccountHistory(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	if n := slices.Index(kinds(hist), inventory.EventPurposeSet); n < 0 {
		t.Errorf("history %v has no purpose set", kinds(hist))
	}
}

// TestImportRegistered: a dry run reports every bad line and writes
// nothing; --apply with a bad line writes nothing; a clean file is written
// in one go.
func TestImportRegistered(t *testing.T) {
	inv, _ := open(t)
	mustIngest(t, inv, inventorytest.NewReport("app1", "", t0, inventorytest.Account("billing", 1001, inventorytest.Cred(scan.CredPassword, "/etc/shadow:2", "b"))))
	bad := "\ufeffName,System,Kind,Credential,Owner,Env,Tier,Remedy,Purpose,extra\n" +
		"mf-batch,mainframe ledger,legacy,static_password,team-ledger,,,gateway,nightly export,x\n" +
		"ora-fin,oracle,databse,static_password,,,,,,\n" +
		"billing,x,legacy,static_password,,,,,,\n" +
		"fw,firewall,appliance,static_password,tbd,,,,,\n" +
		"mf-batch,again,legacy,static_password,,,,,,\n" +
		"okta,okta,cloud,short_lived_cert,,cloud,7,,,\n" +
		"\n" +
		"ad-sync,AD,directory,\"unterminated\n"
	for _, apply := range []bool{false, true} {
		res, err := inv.ImportRegistered(ctx, strings.NewReader(bad), apply)
		if err != nil {
			t.Fatal(err)
		}
		var errs []int
		for _, r := range res.Rows {
			if r.Err != "" {
				errs = append(errs, r.Line)
			}
		}
		if res.Applied || res.Errors != 6 || !slices.Equal(errs, []int{3, 4, 5, 6, 7, 9}) {
			t.Errorf("apply=%v: applied %v, %d errors on lines %v; want 6 on 3 4 5 6 7 9: %+v", apply, res.Applied, res.Errors, errs, res.Rows)
		}
		if r := res.Rows[1]; !strings.Contains(r.Err, "did you mean database?") {
			t.Errorf("line 3 error %q lacks the nearest kind", r.Err)
		}
		if r := res.Rows[4]; !strings.Contains(r.Err, "already registered by line 2") {
			t.Errorf("line 6 error %q", r.Err)
		}
		if _, err := inv.GetAccount(ctx, "mf-batch"); !errors.Is(err, inventory.ErrNotFound) {
			t.Errorf("apply=%v: mf-batch written despite errors (%v)", apply, err)
		}
	}
	good := "name,system,kind,credential,owner,env,tier,remedy,purpose\n" +
		"mf-batch,mainframe ledger,legacy,static_password,team-ledger,,,gateway,nightly export\n" +
		"ora-fin,oracle,database,secret_file,team-fin,prod,3,replace-client,\n"
	res, err := inv.ImportRegistered(ctx, strings.NewReader(good), false)
	if err != nil || res.Errors != 0 || res.Applied {
		t.Fatalf("dry run of a good file: %+v, %v", res, err)
	}
	if _, err := inv.GetAccount(ctx, "mf-batch"); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("dry run wrote mf-batch (%v)", err)
	}
	res, err = inv.ImportRegistered(ctx, strings.NewReader(good), true)
	if err != nil || res.Errors != 0 || !res.Applied || res.Rows[1].Key != "ora-fin@prod" {
		t.Fatalf("apply: %+v, %v", res, err)
	}
	a, err := inv.GetAccount(ctx, "ora-fin")
	if err != nil || a.Tier != inventory.TierCritical || a.Env != "prod" || a.Registered == nil || a.Registered.Remedy != "replace-client" || a.Owner.Name != "team-fin" {
		t.Errorf("ora-fin = %+v, %v", a, err)
	}
	if a, err := inv.GetAccount(ctx, "mf-batch"); err != nil || a.Purpose != "nightly export" {
		t.Errorf("mf-batch = %+v, %v", a, err)
	}
	// Applying again: every row now clashes.
	if res, err := inv.ImportRegistered(ctx, strings.NewReader(good), true); err != nil || res.Errors != 2 || res.Applied {
		t.Errorf("second apply: %+v, %v", res, err)
	}
	// A bad header is refused as a whole.
	if _, err := inv.ImportRegistered(ctx, strings.NewReader("name,system,kind\nx,y,legacy\n"), false); err == nil || !strings.Contains(err.Error(), `lacks column "credential"`) {
		t.Errorf("header without credential: %v", err)
	}
}

// FuzzImportRegistered feeds arbitrary CSV to a dry-run import of
// registered accounts: it must not panic, must never write, and every row
// error must carry a data line number; a clean row has a key.
func FuzzImportRegistered(f *testing.F) {
	for _, s := range []string{
		"name,system,kind,credential,owner,env,tier,remedy,purpose\nmf,ledger,legacy,static_password,team,prod,2,gateway,export\n",
		"credential,kind,system,name\nnone,cloud,okta,okta-sync\n",
		"name,system,kind,credential\n\"mf,ledger\n",
		"\ufeffNAME,SYSTEM,KIND,CREDENTIAL,TIER\r\nmf,l,legacy,shared_secret,9\r\n",
		"name,system,kind,credential\na,b,c,d\n",
		"name\n",
		"",
	} {
		f.Add(s)
	}
	inv, _ := inventorytest.Open(f, inventory.Options{})
	if _, err := inv.Ingest(ctx, inventorytest.NewReport("h", "", t0, inventorytest.Account("a", 5))); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		res, err := inv.ImportRegistered(ctx, strings.NewReader(in), false)
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
			if r.Err == "" && r.Key == "" {
				t.Fatalf("clean row without a key: %+v", r)
			}
		}
		if l, err := inv.ListAccounts(ctx, inventory.Filter{Retired: true}); err != nil || len(l) != 1 {
			t.Fatalf("the dry run wrote: %v, %v", l, err)
		}
	})
}

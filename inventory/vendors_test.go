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

func acme() inventory.Vendor {
	return inventory.Vendor{Name: "acme", Owner: "team-vendors", Contact: "ops@acme.example", Route: "vpn"}
}

func vendorHint(err error) string {
	var ie *inventory.InvalidError
	if errors.As(err, &ie) {
		return ie.HintText
	}
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

func TestVendorValidation(t *testing.T) {
	inv, _ := open(t)
	for _, tc := range []struct {
		desc string
		edit func(v *inventory.Vendor)
		want string // substring of the error, "" for accepted
		hint string // substring of the hint
	}{
		{"minimal", func(v *inventory.Vendor) {}, "", ""},
		{"every field", func(v *inventory.Vendor) {
			v.Name, v.Factor, v.Domain, v.OnLapse, v.Note = "acme-2.eu_x", "totp", "corp.acme.example", "revoke", "support contract 2026"
		}, "", ""},
		{"no name", func(v *inventory.Vendor) { v.Name = "" }, "missing", ""},
		{"uppercase", func(v *inventory.Vendor) { v.Name = "Acme" }, "use lowercase", "roster vendor add acme"},
		{"space", func(v *inventory.Vendor) { v.Name = "ac me" }, "vendor name", ""},
		{"at", func(v *inventory.Vendor) { v.Name = "acme@x" }, "vendor name", ""},
		{"leading dash", func(v *inventory.Vendor) { v.Name = "-acme" }, "starting with a letter or digit", ""},
		{"long", func(v *inventory.Vendor) { v.Name = strings.Repeat("a", 65) }, "longer than 64", ""},
		{"no owner", func(v *inventory.Vendor) { v.Owner = " " }, "needs an owner", "--owner"},
		{"placeholder owner", func(v *inventory.Vendor) { v.Owner = "TBD" }, "placeholder", ""},
		{"no contact", func(v *inventory.Vendor) { v.Contact = "" }, "needs a contact", "--contact EMAIL"},
		{"contact not mail", func(v *inventory.Vendor) { v.Contact = "call bob" }, "not an email address", ""},
		{"contact with name", func(v *inventory.Vendor) { v.Contact = "Bob <bob@acme.example>" }, "not an email address", ""},
		{"unknown route", func(v *inventory.Vendor) { v.Route = "vnp" }, "want one of vpn, ssh, rdp, api, sftp, portal, other", "did you mean vpn?"},
		{"no route", func(v *inventory.Vendor) { v.Route = "" }, "unknown route", ""},
		{"unknown factor", func(v *inventory.Vendor) { v.Factor = "totpp" }, "unknown factor", "did you mean totp?"},
		{"unknown on-lapse", func(v *inventory.Vendor) { v.OnLapse = "revok" }, "want one of notify, revoke", "did you mean revoke?"},
		{"bad domain", func(v *inventory.Vendor) { v.Domain = "a b" }, "not a domain name", ""},
		{"note lines", func(v *inventory.Vendor) { v.Note = "a\nb" }, "one line", ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			v := acme()
			tc.edit(&v)
			got, err := inv.AddVendor(ctx, v)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.OnLapse == "" || got.Created.IsZero() {
					t.Errorf("defaults not set: %+v", got)
				}
				if err := inv.RemoveVendor(ctx, v.Name); err != nil {
					t.Fatal(err)
				}
				return
			}
			var ie *inventory.InvalidError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want an InvalidError with %q", err, tc.want)
			}
			if !strings.Contains(ie.HintText, tc.hint) {
				t.Errorf("hint %q, want %q", ie.HintText, tc.hint)
			}
		})
	}
	if _, err := inv.AddVendor(ctx, acme()); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddVendor(ctx, acme()); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("second add: %v", err)
	}
	v, err := inv.ListVendors(ctx)
	if err != nil || len(v) != 1 || v[0].OnLapse != inventory.OnLapseNotify {
		t.Errorf("list: %+v %v (on lapse defaults to notify)", v, err)
	}
}

// TestVendorFactorsOrdered: people's factors in the seed's order, every
// factor on the strength spectrum, the scale never going down.
func TestVendorFactorsOrdered(t *testing.T) {
	people := []string{"password", "sms", "push", "totp", "hardware_bound"}
	for i := 1; i < len(people); i++ {
		if inventory.FactorRank(people[i-1]) >= inventory.FactorRank(people[i]) {
			t.Errorf("%s is not weaker than %s", people[i-1], people[i])
		}
	}
	for i, f := range inventory.VendorFactors {
		if inventory.FactorStrength(f) == 0 {
			t.Errorf("%s has no level", f)
		}
		if i > 0 && inventory.FactorStrength(f) < inventory.FactorStrength(inventory.VendorFactors[i-1]) {
			t.Errorf("%s (%s) sorts after %s but is weaker", f, inventory.FactorStrength(f), inventory.VendorFactors[i-1])
		}
	}
	for f, want := range map[string]inventory.Strength{
		"password": inventory.StrengthStaticPassword, "totp": inventory.StrengthStaticPassword,
		"api_key": inventory.StrengthSecretFile, "certificate": inventory.StrengthLongLivedCert,
		"hardware_bound": inventory.StrengthHardwareBound,
	} {
		if got := inventory.FactorStrength(f); got != want {
			t.Errorf("%s: %s, want %s", f, got, want)
		}
	}
	if inventory.FactorRank("fax") != -1 || inventory.FactorStrength("fax") != 0 {
		t.Error("unknown factor placed")
	}
}

func TestVendorLinking(t *testing.T) {
	inv, _ := open(t)
	mustIngest(t, inv, inventorytest.NewReport("gw1", "", t0, inventorytest.Account("ftp-acme", 700,
		inventorytest.Cred(scan.CredPassword, "/etc/shadow:ftp-acme", "pw"))))
	err := inv.TagAccount(ctx, "ftp-acme", []string{"third-party=acme"}, nil)
	if h := vendorHint(err); err == nil || !strings.Contains(err.Error(), "unknown vendor acme") ||
		h != "roster vendor add acme --owner OWNER --contact EMAIL --route ROUTE" {
		t.Fatalf("tag with unknown vendor: %v (hint %q)", err, h)
	}
	if err := inv.TagAccount(ctx, "ftp-acme", []string{"third-party="}, nil); err == nil {
		t.Error("third-party= without a name accepted")
	}
	if _, err := inv.AddVendor(ctx, acme()); err != nil {
		t.Fatal(err)
	}
	if err := inv.TagAccount(ctx, "ftp-acme", []string{"third-party=acme"}, nil); err != nil {
		t.Fatal(err)
	}
	a, err := inv.GetAccount(ctx, "ftp-acme")
	if err != nil {
		t.Fatal(err)
	}
	if a.Tier != inventory.TierExternal || a.TierReason != "used by third party acme" {
		t.Errorf("tier %d (%s), want 2 from the vendor", a.Tier, a.TierReason)
	}
	d, err := inv.Vendor(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Accounts) != 1 || d.Accounts[0].Key != "ftp-acme@default" || d.Accounts[0].Strength != inventory.StrengthStaticPassword {
		t.Errorf("vendor accounts: %+v", d.Accounts)
	}
	err = inv.RemoveVendor(ctx, "acme")
	if h := vendorHint(err); err == nil || !strings.Contains(err.Error(), "ftp-acme@default") ||
		h != "untag them first: roster account tag ftp-acme@default third-party=acme --remove" {
		t.Fatalf("remove while linked: %v (hint %q)", err, h)
	}
	if err := inv.TagAccount(ctx, "ftp-acme", nil, []string{"third-party=acme"}); err != nil {
		t.Fatal(err)
	}
	if err := inv.RemoveVendor(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Vendor(ctx, "acme"); !errors.Is(err, inventory.ErrNotFound) || !strings.Contains(vendorHint(err), "roster vendor add acme") {
		t.Errorf("removed vendor: %v", err)
	}
	evs, err := audit.List(ctx, inv, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs {
		if strings.HasPrefix(e.Action, "vendor.") {
			actions = append(actions, e.Action)
		}
	}
	if !slices.Equal(actions, []string{audit.ActionVendorAdd, audit.ActionVendorRemove}) {
		t.Errorf("vendor audit actions %v", actions)
	}
}

func TestSetVendorPartial(t *testing.T) {
	inv, clk := open(t)
	v, err := inv.AddVendor(ctx, acme())
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(time.Hour))
	f, ol := "hardware_bound", "revoke"
	got, err := inv.SetVendor(ctx, "acme", inventory.VendorPatch{Factor: &f, OnLapse: &ol})
	if err != nil {
		t.Fatal(err)
	}
	if got.Owner != v.Owner || got.Route != "vpn" || got.Factor != f || got.OnLapse != ol || got.Strength != inventory.StrengthHardwareBound ||
		!got.Created.Equal(t0) || !got.Updated.Equal(t0.Add(time.Hour)) {
		t.Errorf("after set: %+v", got)
	}
	bad := "rdpp"
	if _, err := inv.SetVendor(ctx, "acme", inventory.VendorPatch{Route: &bad}); err == nil || !strings.Contains(vendorHint(err), "did you mean rdp?") {
		t.Errorf("bad route: %v", err)
	}
	if _, err := inv.SetVendor(ctx, "nobody", inventory.VendorPatch{Route: &bad}); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("unknown vendor: %v", err)
	}
}

// TestVendorLapses: an expired exception on a vendor's account is a
// lapse until renewed or closed; the hold applies to revoke vendors only;
// a lapse is recorded once.
func TestVendorLapses(t *testing.T) {
	inv, clk := open(t)
	mustIngest(t, inv, inventorytest.NewReport("gw1", "", t0,
		inventorytest.Account("ftp-acme", 700, inventorytest.Cred(scan.CredPassword, "/etc/shadow:ftp-acme", "pw1")),
		inventorytest.Account("ftp-beta", 701, inventorytest.Cred(scan.CredPassword, "/etc/shadow:ftp-beta", "pw2"))))
	revoke := acme()
	revoke.OnLapse = inventory.OnLapseRevoke
	notify := acme()
	notify.Name = "beta"
	for _, v := range []inventory.Vendor{revoke, notify} {
		if _, err := inv.AddVendor(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	var excs []inventory.Exception
	for _, a := range []struct{ acct, vendor string }{{"ftp-acme", "acme"}, {"ftp-beta", "beta"}} {
		if err := inv.SetOwner(ctx, a.acct, inventory.Owner{Name: "team-ftp"}); err != nil {
			t.Fatal(err)
		}
		if err := inv.TagAccount(ctx, a.acct, []string{"third-party=" + a.vendor}, nil); err != nil {
			t.Fatal(err)
		}
		e, err := inv.AddException(ctx, inventory.Exception{Account: a.acct, Owner: "team-ftp", Reason: "vendor migrates in Q2", Expires: t0.AddDate(0, 0, 10)})
		if err != nil {
			t.Fatal(err)
		}
		excs = append(excs, e)
	}
	hold := func(acct string) *inventory.VendorHold {
		t.Helper()
		s, err := inv.Identity(ctx, "gw1", acct)
		if err != nil {
			t.Fatal(err)
		}
		return s.VendorHold
	}
	if l, err := inv.VendorLapses(ctx, clk.Now()); err != nil || len(l) != 0 || hold("ftp-acme") != nil {
		t.Fatalf("before expiry: %+v %v", l, err)
	}
	clk.Set(t0.AddDate(0, 0, 11))
	lapses, err := inv.VendorLapses(ctx, clk.Now())
	if err != nil || len(lapses) != 2 {
		t.Fatalf("lapses %+v %v", lapses, err)
	}
	for i, want := range []struct{ vendor, onLapse string }{{"acme", "revoke"}, {"beta", "notify"}} {
		l := lapses[i]
		if l.Vendor != want.vendor || l.OnLapse != want.onLapse || l.Owner != "team-vendors" || l.ID != "vendor-lapse/"+excs[i].ID || l.Processed != nil {
			t.Errorf("lapse %d: %+v", i, l)
		}
	}
	h := hold("ftp-acme")
	if h == nil || h.Vendor != "acme" || h.Exception != excs[0].ID ||
		h.Reason() != "vendor acme's exception "+excs[0].ID+" lapsed on 2026-03-11; renew or close the exception" {
		t.Errorf("hold %+v", h)
	}
	if hold("ftp-beta") != nil {
		t.Error("a notify vendor's account is held")
	}
	for i := range 2 {
		first, err := inv.RecordVendorLapse(ctx, lapses[0], []string{"42"})
		if err != nil || first != (i == 0) {
			t.Fatalf("record %d: %v %v", i, first, err)
		}
	}
	lapses, _ = inv.VendorLapses(ctx, clk.Now())
	if lapses[0].Processed == nil || !slices.Equal(lapses[0].Revoked, []string{"42"}) || lapses[1].Processed != nil {
		t.Errorf("processed: %+v", lapses)
	}
	// A notify lapse, recorded, is processed again once its vendor turns
	// to revoke, and once only.
	if first, err := inv.RecordVendorLapse(ctx, lapses[1], nil); !first || err != nil {
		t.Fatalf("record notify lapse: %v %v", first, err)
	}
	rv := inventory.OnLapseRevoke
	if _, err := inv.SetVendor(ctx, "beta", inventory.VendorPatch{OnLapse: &rv}); err != nil {
		t.Fatal(err)
	}
	lapses, _ = inv.VendorLapses(ctx, clk.Now())
	if lapses[1].Processed != nil || lapses[1].OnLapse != rv || hold("ftp-beta") == nil {
		t.Errorf("notify lapse after the vendor turned to revoke: %+v", lapses[1])
	}
	for i := range 2 {
		first, err := inv.RecordVendorLapse(ctx, lapses[1], nil)
		if err != nil || first != (i == 0) {
			t.Fatalf("record upgraded lapse %d: %v %v", i, first, err)
		}
	}
	hist, _ := inv.AccountHistory(ctx, "ftp-acme")
	if !slices.Contains(kinds(hist), inventory.EventVendorLapsed) {
		t.Errorf("history %v", kinds(hist))
	}
	evs, _ := audit.List(ctx, inv, audit.Filter{Account: "ftp-acme"})
	n := 0
	for _, e := range evs {
		if e.Action == audit.ActionVendorLapse {
			n++
			if !strings.Contains(e.Detail, "vendor acme") || !strings.Contains(e.Detail, excs[0].ID) {
				t.Errorf("audit detail %q", e.Detail)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d vendor.lapse records, want 1", n)
	}
	// Renewing lifts the hold; closing ends the other lapse.
	if _, err := inv.AddException(ctx, inventory.Exception{Account: "ftp-acme", Owner: "team-ftp", Reason: "extended", Expires: clk.Now().AddDate(0, 0, 10)}); err != nil {
		t.Fatal(err)
	}
	if err := inv.CloseException(ctx, excs[1].ID, "vendor left"); err != nil {
		t.Fatal(err)
	}
	if l, _ := inv.VendorLapses(ctx, clk.Now()); len(l) != 0 || hold("ftp-acme") != nil {
		t.Errorf("after renewal and close: %+v", l)
	}
}

func TestImportVendors(t *testing.T) {
	inv, _ := open(t)
	if _, err := inv.AddVendor(ctx, acme()); err != nil {
		t.Fatal(err)
	}
	bad := "Name,Owner,Contact,Route,On_Lapse,Extra\n" +
		"beta,team-b,ops@beta.example,ssh,revoke,x\n" +
		"gamma,TBD,ops@gamma.example,api,,\n" +
		"delta,team-d,ops@delta.example,telnet,,\n" +
		"beta,team-b,ops@beta.example,ssh,,\n" +
		"\n" +
		"acme,team-a2,ops@acme.example,sftp,notify,\n"
	for _, apply := range []bool{false, true} {
		res, err := inv.ImportVendors(ctx, strings.NewReader(bad), apply)
		if err != nil {
			t.Fatal(err)
		}
		if res.Errors != 3 || res.Applied || len(res.Rows) != 5 {
			t.Fatalf("apply=%v: %+v", apply, res)
		}
		for i, want := range []string{"", "placeholder", "unknown route \"telnet\"", "already given on line 2", ""} {
			if got := res.Rows[i].Err; (want == "") != (got == "") || !strings.Contains(got, want) {
				t.Errorf("row %d (line %d): error %q, want %q", i, res.Rows[i].Line, got, want)
			}
		}
		if res.Rows[2].Line != 4 || res.Rows[4].Line != 7 {
			t.Errorf("line numbers %d, %d", res.Rows[2].Line, res.Rows[4].Line)
		}
	}
	if vs, _ := inv.ListVendors(ctx); len(vs) != 1 || vs[0].Route != "vpn" {
		t.Fatalf("a failed import wrote: %+v", vs)
	}
	good := "name,owner,contact,route,on_lapse\nbeta,team-b,ops@beta.example,ssh,revoke\nacme,team-a2,ops@acme.example,sftp,\n"
	res, err := inv.ImportVendors(ctx, strings.NewReader(good), true)
	if err != nil || res.Errors != 0 || !res.Applied || res.Rows[0].Action != "add" || res.Rows[1].Action != "update" {
		t.Fatalf("apply: %+v %v", res, err)
	}
	vs, _ := inv.ListVendors(ctx)
	if len(vs) != 2 || vs[0].Name != "acme" || vs[0].Route != "sftp" || vs[0].Owner != "team-a2" || vs[1].OnLapse != "revoke" {
		t.Errorf("after import: %+v", vs)
	}
	if _, err := inv.ImportVendors(ctx, strings.NewReader("name,owner\nx,y\n"), false); err == nil || !strings.Contains(err.Error(), `lacks column "contact"`) {
		t.Errorf("bad header: %v", err)
	}
}

package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
)

// TestGoldenVendors: vendor list (table, CSV), vendor show with its
// accounts, levels and exceptions, and a vendor import.
func TestGoldenVendors(t *testing.T) {
	inv, t0 := fixture(t)
	ctx := audit.WithActor(t.Context(), "golden")
	for _, v := range []inventory.Vendor{
		{Name: "acme", Owner: "team-vendors", Contact: "ops@acme.example", Route: "vpn", Factor: "totp", Domain: "corp.example", OnLapse: "revoke", Note: "support contract until 2027"},
		{Name: "beta", Owner: "team-vendors", Contact: "it@beta.example", Route: "api", Factor: "api_key"},
	} {
		if _, err := inv.AddVendor(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []string{"billing", "etl"} {
		if err := inv.TagAccount(ctx, a, []string{"third-party=acme"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	list, err := inv.ListVendors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, f := range []string{FormatTable, FormatCSV} {
		b.Reset()
		if err := Vendors(&b, list, f); err != nil {
			t.Fatal(err)
		}
		golden(t, "vendors."+f, b.Bytes())
	}
	d, err := inv.Vendor(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := Vendor(&b, d, t0); err != nil {
		t.Fatal(err)
	}
	golden(t, "vendor.table", b.Bytes())
	res, err := inv.ImportVendors(ctx, strings.NewReader("name,owner,contact,route,on_lapse\ngamma,team-g,ops@gamma.example,sftp,revoke\nbeta,team-b,it@beta.example,api,\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := VendorImportResult(&b, res); err != nil {
		t.Fatal(err)
	}
	golden(t, "vendor-import.table", b.Bytes())
}

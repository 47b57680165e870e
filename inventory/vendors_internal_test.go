package inventory

import (
	"strings"
	"testing"
)

// FuzzReadVendorCSV: the vendor CSV parser never panics, every row has a
// line number, and a row it did not fail keeps only trimmed values.
func FuzzReadVendorCSV(f *testing.F) {
	for _, s := range []string{
		"name,owner,contact,route\nacme,team,ops@acme.example,vpn\n",
		"\ufeffRoute,NAME,owner,contact,factor,domain,on_lapse,note\nssh,acme,team,ops@acme.example,totp,corp,revoke,\"a, b\"\n",
		"name,owner,contact,route\n\"unterminated\n",
		"name,name,owner,contact,route\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := readVendorCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Line < 1 {
				t.Fatalf("row without a line: %+v", r)
			}
			if r.Err == "" && (r.Name != strings.TrimSpace(r.Name) || r.Route != strings.TrimSpace(r.Route)) {
				t.Fatalf("untrimmed row %+v", r)
			}
		}
	})
}

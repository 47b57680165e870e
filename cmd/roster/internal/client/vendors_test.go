package client

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rosterhq/roster/api"
)

// TestVendorMethods calls each vendor method against the real server.
func TestVendorMethods(t *testing.T) {
	c, _ := startServer(t)
	ctx := context.Background()
	s := func(v string) *string { return &v }
	v, err := c.AddVendor(ctx, api.VendorRequest{Name: "acme", Owner: s("team-v"), Contact: s("ops@acme.example"), Route: s("ssh"), Factor: s("certificate")})
	if err != nil || v.Name != "acme" || v.OnLapse != "notify" || v.Strength != "long_lived_cert" {
		t.Fatalf("AddVendor: %+v %v", v, err)
	}
	v, err = c.SetVendor(ctx, "acme", api.VendorRequest{OnLapse: s("revoke")})
	if err != nil || v.OnLapse != "revoke" || v.Route != "ssh" {
		t.Fatalf("SetVendor: %+v %v", v, err)
	}
	var out bytes.Buffer
	if err := c.ListVendors(ctx, api.FormatCSV, &out); err != nil || !strings.Contains(out.String(), "acme,team-v,ops@acme.example,ssh,certificate") {
		t.Errorf("ListVendors: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := c.ShowVendor(ctx, "acme", api.FormatTable, &out); err != nil || !strings.Contains(out.String(), "on lapse: revoke") {
		t.Errorf("ShowVendor: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := c.ImportVendors(ctx, strings.NewReader("name,owner,contact,route\nbeta,team-b,ops@beta.example,api\n"), true, api.FormatJSON, &out); err != nil ||
		!strings.Contains(out.String(), `"applied": true`) {
		t.Errorf("ImportVendors: %v\n%s", err, out.String())
	}
	if err := c.RemoveVendor(ctx, "beta"); err != nil {
		t.Errorf("RemoveVendor: %v", err)
	}
}

package issuer_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/issuer/issuertest"
)

// TestSweepVendorLapses: the sweep revokes the certificates of a revoke
// vendor's account whose exception lapsed, once; the policy refuses the
// account with the vendor and the exception named until the exception is
// closed.
func TestSweepVendorLapses(t *testing.T) {
	e := issuertest.New(t, true)
	ctx := audit.WithActor(context.Background(), "test")
	if _, err := e.Inv.AddVendor(ctx, inventory.Vendor{Name: "acme", Owner: "vendor-team", Contact: "ops@acme.example", Route: "vpn", OnLapse: inventory.OnLapseRevoke}); err != nil {
		t.Fatal(err)
	}
	if err := e.Inv.TagAccount(ctx, "billing-batch", []string{"third-party=acme"}, nil); err != nil {
		t.Fatal(err)
	}
	ex, err := e.Inv.AddException(ctx, inventory.Exception{Account: "billing-batch", Reason: "vendor app", Owner: "payments-team", Expires: e.Clock.Now().Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	_, chain := e.Enroll("web1", "billing-batch")
	if n, err := e.Iss.SweepVendorLapses(ctx); n != 0 || err != nil {
		t.Fatalf("before the lapse: %d %v", n, err)
	}
	e.Clock.Advance(20 * time.Minute)
	if n, err := e.Iss.SweepVendorLapses(ctx); n != 1 || err != nil {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if n, err := e.Iss.SweepVendorLapses(ctx); n != 0 || err != nil {
		t.Fatalf("second sweep: %d %v", n, err)
	}
	l, err := e.Inv.VendorLapses(ctx, e.Clock.Now())
	if err != nil || len(l) != 1 || !slices.Equal(l[0].Revoked, []string{chain[0].SerialNumber.String()}) {
		t.Fatalf("lapses %+v %v", l, err)
	}
	_, err = e.Iss.CreateEnrollToken(ctx, "web1", "billing-batch", 0)
	var de *issuer.DeniedError
	if !errors.As(err, &de) || !strings.Contains(de.Reason, "account billing-batch is on hold: vendor acme's exception "+ex.ID+" lapsed on") ||
		!strings.Contains(de.HintText, "roster exception close "+ex.ID) {
		t.Fatalf("enroll while held: %v", err)
	}
	if err := e.Inv.CloseException(ctx, ex.ID, "password removed"); err != nil {
		t.Fatal(err)
	}
	e.Enroll("web1", "billing-batch")
}

package inventory_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
)

// The lineage of a certificate: a renewal replaces only the certificate it
// names (check-and-set in its transaction), so of concurrent renewals of
// one certificate exactly one is recorded; a reuse is flagged once, audited
// every time, and kept until the identity is enrolled again.
func TestCertLineage(t *testing.T) {
	inv, _ := open(t)
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("app", 5)))
	renewal := func(from, serial string) inventory.Renewal {
		return inventory.Renewal{Host: "h", Account: "app", From: from, Serial: serial, NotBefore: t0, NotAfter: t0.Add(time.Hour)}
	}
	current := func() *inventory.CertState {
		t.Helper()
		s, err := inv.Identity(ctx, "h", "app")
		if err != nil || s.Cert == nil {
			t.Fatalf("identity: %+v, %v", s.Cert, err)
		}
		return s.Cert
	}
	audits := func(action string) int {
		t.Helper()
		evs, err := audit.List(ctx, inv, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Action == action {
				n++
			}
		}
		return n
	}
	if err := inv.RecordIssued(ctx, "h", "app", "01", t0, t0.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if err := inv.RecordRenewed(ctx, renewal("01", "02")); err != nil {
		t.Fatal(err)
	}
	if c := current(); c.Serial != "02" || c.Previous != "01" || c.LastRenewal.IsZero() {
		t.Errorf("after renewal: %+v", c)
	}
	// A renewal naming a certificate that is not current writes nothing.
	before := audits(audit.ActionCertRenew)
	for _, from := range []string{"01", "", "99"} {
		if err := inv.RecordRenewed(ctx, renewal(from, "x"+from)); !errors.Is(err, inventory.ErrNotCurrent) {
			t.Errorf("renewal from %q: %v, want ErrNotCurrent", from, err)
		}
	}
	if c := current(); c.Serial != "02" || audits(audit.ActionCertRenew) != before {
		t.Errorf("refused renewals left state: current %s, %d renew audits (was %d)", c.Serial, audits(audit.ActionCertRenew), before)
	}

	// Concurrent renewals of one certificate: one wins.
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = inv.RecordRenewed(ctx, renewal("02", fmt.Sprintf("1%02d", i)))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, inventory.ErrNotCurrent):
			t.Error(err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent renewals of one certificate recorded, want 1", won)
	}
	winner := current().Serial

	// Reuse: flagged once, audited each time, one history event.
	for range 2 {
		if err := inv.RecordReuse(ctx, "h", "app", "01", "certificate 01 is superseded"); err != nil {
			t.Fatal(err)
		}
	}
	c := current()
	if c.ReuseDetectedAt == nil || c.ReuseSerial != "01" || c.Serial != winner {
		t.Errorf("after reuse: %+v", c)
	}
	if got := audits(audit.ActionCertReuse); got != 2 {
		t.Errorf("%d reuse audits, want 2", got)
	}
	hist, err := inv.AccountHistory(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	var reuses []string
	for _, e := range hist {
		if e.Kind == inventory.EventCertReuse {
			reuses = append(reuses, e.Detail)
		}
	}
	if len(reuses) != 1 || !strings.Contains(reuses[0], "01") || !strings.Contains(reuses[0], "possible key theft") {
		t.Errorf("reuse events %q", reuses)
	}
	// Renewals keep the flag; a rekey is audited as such.
	r := renewal(winner, "03")
	r.Rekey = true
	if err := inv.RecordRenewed(ctx, r); err != nil {
		t.Fatal(err)
	}
	if c := current(); c.ReuseDetectedAt == nil || c.Previous != winner || audits(audit.ActionCertRekey) != 1 {
		t.Errorf("after rekey: %+v", c)
	}
	// A revoked certificate cannot be renewed.
	if err := inv.RecordRevoked(ctx, "h", "app", "03", "test"); err != nil {
		t.Fatal(err)
	}
	if err := inv.RecordRenewed(ctx, renewal("03", "04")); !errors.Is(err, inventory.ErrNotCurrent) {
		t.Errorf("renewal of a revoked certificate: %v", err)
	}
	// Enrollment starts a new line: no predecessor, no flag.
	if err := inv.RecordIssued(ctx, "h", "app", "05", t0, t0.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if c := current(); c.Previous != "" || c.ReuseDetectedAt != nil || c.ReuseSerial != "" {
		t.Errorf("after enrollment: %+v", c)
	}

	// The host identity.
	if err := inv.RecordIssued(ctx, "h", "", "h1", t0, t0.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if err := inv.RecordRenewed(ctx, inventory.Renewal{Host: "h", From: "h1", Serial: "h2", NotBefore: t0, NotAfter: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := inv.RecordReuse(ctx, "h", "", "h0", "superseded"); err != nil {
		t.Fatal(err)
	}
	if s, _ := inv.Identity(ctx, "h", ""); s.Cert == nil || s.Cert.Serial != "h2" || s.Cert.Previous != "h1" || s.Cert.ReuseSerial != "h0" {
		t.Errorf("host identity: %+v", s.Cert)
	}
}

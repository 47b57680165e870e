package inventory_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// twoEnrolledHosts ingests app1 (machine-id m1, two accounts with static
// credentials) and app2 (m2), and enrolls both host identities.
func twoEnrolledHosts(t *testing.T) (*inventory.Inventory, *clock) {
	t.Helper()
	inv, clk := open(t)
	mustIngest(t, inv, inventorytest.NewReport("app1", "m1", t0,
		inventorytest.Account("billing", 501, inventorytest.Cred(scan.CredPassword, "/etc/shadow:3", "billing-pw")),
		inventorytest.Account("backup", 502, inventorytest.Cred(scan.CredSSHPrivateKey, "/var/backups/.ssh/id_ed25519", "backup-key"))))
	mustIngest(t, inv, inventorytest.NewReport("app2", "m2", t0, inventorytest.Account("web", 503)))
	for _, h := range []string{"app1", "app2"} {
		if err := inv.RecordIssued(ctx, h, "", "cert-"+h, t0, t0.Add(time.Hour), false); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(t0.Add(time.Minute))
	return inv, clk
}

// hostsText lists the hosts as "NAME(ACCOUNTS)".
func hostsText(t *testing.T, inv *inventory.Inventory) string {
	t.Helper()
	hosts, err := inv.ListHosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, h := range hosts {
		s = append(s, fmt.Sprintf("%s(%d)", h.Hostname, h.Accounts))
	}
	return strings.Join(s, " ")
}

func lastAudit(t *testing.T, inv *inventory.Inventory) audit.Event {
	t.Helper()
	l, err := audit.List(ctx, inv, audit.Filter{Limit: 1})
	if err != nil || len(l) != 1 {
		t.Fatalf("audit: %v, %v", l, err)
	}
	return l[0]
}

// TestHostCertificateCannotTakeOverAnotherHost is issue 15's first
// finding: hosts are found by machine-id, and the server compared only the
// certificate's name with the report's hostname, so app2's certificate
// could send app1's machine-id with no accounts and mark all of app1's
// accounts and credentials gone.
func TestHostCertificateCannotTakeOverAnotherHost(t *testing.T) {
	attack := inventorytest.NewReport("app2", "m1", t0.Add(time.Minute)) // app1's machine-id, no accounts

	t.Run("the attack, as the server let it through before", func(t *testing.T) {
		inv, _ := twoEnrolledHosts(t)
		// The server's only check: the report's hostname is the
		// certificate's. Then it ingested.
		res, err := inv.Ingest(ctx, attack)
		if err != nil {
			t.Fatal(err)
		}
		if res.AccountsGone != 2 || res.CredentialsGone != 2 || hostsText(t, inv) != "app2(0) app2(1)" {
			t.Fatalf("the attack did not reproduce: %+v, hosts %s", res, hostsText(t, inv))
		}
	})

	for _, tc := range []struct {
		desc   string
		report *scan.Report
		sub    inventory.Submitter
		says   string
	}{
		{"app1's machine-id, no accounts", attack, inventory.Submitter{Host: "app2"}, "is about host app1"},
		{"app1's machine-id and hostname", inventorytest.NewReport("app1", "m1", t0.Add(time.Minute)),
			inventory.Submitter{Host: "app2"}, "is about host app1"},
		{"a new machine-id under app2's name (a second app2 row)", inventorytest.NewReport("app2", "m9", t0.Add(time.Minute)),
			inventory.Submitter{Host: "app2"}, "a host the inventory does not know"},
		{"app2 renaming itself app1", inventorytest.NewReport("app1", "m2", t0.Add(time.Minute)),
			inventory.Submitter{Host: "app2"}, "renaming a host takes an operator"},
		{"an identity the inventory never enrolled", inventorytest.NewReport("app1", "m1", t0.Add(time.Minute)),
			inventory.Submitter{Host: "app3"}, "bound to no host record"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			inv, _ := twoEnrolledHosts(t)
			_, err := inv.IngestAs(ctx, tc.report, tc.sub)
			var me *inventory.HostMismatchError
			if !errors.As(err, &me) || !errors.Is(err, inventory.ErrForbidden) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v, want a *HostMismatchError (ErrForbidden) saying %q", err, tc.says)
			}
			if me.Identity != tc.sub.Host || !strings.Contains(me.Hint(), "roster enroll --host") {
				t.Errorf("error %+v, hint %q", me, me.Hint())
			}
			if got := hostsText(t, inv); got != "app1(2) app2(1)" {
				t.Errorf("hosts after the refusal: %s", got)
			}
			d, err := inv.GetHost(ctx, "app1")
			if err != nil {
				t.Fatal(err)
			}
			if !d.LastScan.Equal(t0) || d.MachineID != "m1" {
				t.Errorf("app1 changed: %+v", d.Host)
			}
			for _, in := range d.Instances {
				if in.GoneAt != nil || len(in.Data.Credentials) != 1 {
					t.Errorf("app1/%s changed: gone %v, %d credentials", in.Account, in.GoneAt, len(in.Data.Credentials))
				}
			}
			e := lastAudit(t, inv)
			if e.Action != audit.ActionScanIngest || e.Outcome != audit.OutcomeRefused || e.Actor != "host:"+tc.sub.Host ||
				e.Host != tc.sub.Host || !strings.Contains(e.Reason, tc.says) {
				t.Errorf("audit record %+v, want the refusal", e)
			}
		})
	}

	t.Run("its own report is accepted", func(t *testing.T) {
		inv, _ := twoEnrolledHosts(t)
		res, err := inv.IngestAs(ctx, inventorytest.NewReport("app2", "m2", t0.Add(time.Minute)), inventory.Submitter{Host: "app2"})
		if err != nil || res.AccountsGone != 1 {
			t.Fatalf("%+v, %v", res, err)
		}
		// Without a machine-id the hostname finds it.
		if _, err := inv.IngestAs(ctx, inventorytest.NewReport("app2", "", t0.Add(2*time.Minute), inventorytest.Account("web", 503)),
			inventory.Submitter{Host: "app2"}); err != nil {
			t.Fatal(err)
		}
		if e := lastAudit(t, inv); e.Outcome != audit.OutcomeOK || e.Actor != "host:app2" {
			t.Errorf("audit %+v", e)
		}
	})
}

// TestOperatorMovesHost: an operator may still move a host, audited, and
// the host's identity follows the record.
func TestOperatorMovesHost(t *testing.T) {
	inv, clk := twoEnrolledHosts(t)
	ops := inventory.Submitter{Operator: "ops"}
	// app1 was renamed app1.example (same machine-id).
	if _, err := inv.IngestAs(ctx, inventorytest.NewReport("app1.example", "m1", t0.Add(time.Minute),
		inventorytest.Account("billing", 501), inventorytest.Account("backup", 502)), ops); err != nil {
		t.Fatal(err)
	}
	l, err := audit.List(ctx, inv, audit.Filter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 2 || l[0].Action != audit.ActionHostMove || l[0].Actor != "token:ops" ||
		!strings.Contains(l[0].Detail, "hostname app1 -> app1.example") || !strings.Contains(l[0].Detail, "host identity app1 follows") {
		t.Errorf("move audit: %+v", l)
	}
	if got := hostsText(t, inv); got != "app1.example(2) app2(1)" {
		t.Errorf("hosts %s", got)
	}
	// The host's own certificate (still named app1) reports as the moved
	// host; not as anything else.
	clk.Set(t0.Add(2 * time.Minute))
	if _, err := inv.IngestAs(ctx, inventorytest.NewReport("app1.example", "m1", t0.Add(2*time.Minute), inventorytest.Account("billing", 501)),
		inventory.Submitter{Host: "app1"}); err != nil {
		t.Errorf("the moved host's own report: %v", err)
	}
	if _, err := inv.IngestAs(ctx, inventorytest.NewReport("app1", "m1", t0.Add(3*time.Minute)), inventory.Submitter{Host: "app1"}); !errors.Is(err, inventory.ErrForbidden) {
		t.Errorf("renaming it back with the host certificate: %v", err)
	}
}

// TestEnrollmentBindsHost: the binding is made at enrollment and moves
// with a new enrollment.
func TestEnrollmentBindsHost(t *testing.T) {
	inv, clk := open(t)
	mustIngest(t, inv, inventorytest.NewReport("old", "m1", t0))
	mustIngest(t, inv, inventorytest.NewReport("new", "m2", t0))
	if _, err := inv.IngestAs(ctx, inventorytest.NewReport("old", "m1", t0.Add(time.Second)), inventory.Submitter{Host: "old"}); !errors.Is(err, inventory.ErrForbidden) {
		t.Errorf("before enrollment: %v", err)
	}
	if err := inv.RecordIssued(ctx, "old", "", "c1", t0, t0.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(time.Minute))
	// A renewal keeps the binding.
	if err := inv.RecordIssued(ctx, "old", "", "c2", t0, t0.Add(2*time.Hour), true); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.IngestAs(ctx, inventorytest.NewReport("old", "m1", t0.Add(time.Minute)), inventory.Submitter{Host: "old"}); err != nil {
		t.Errorf("after enrollment: %v", err)
	}
	// Enrolling host "new" under the identity name it reports leaves "old" alone.
	if err := inv.RecordIssued(ctx, "new", "", "c3", t0, t0.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.IngestAs(ctx, inventorytest.NewReport("old", "m1", t0.Add(2*time.Minute)), inventory.Submitter{Host: "new"}); !errors.Is(err, inventory.ErrForbidden) {
		t.Errorf("new's identity reporting for old: %v", err)
	}
}

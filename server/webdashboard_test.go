package server

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// ingestPrivileged scans host with a root-equivalent service account.
func (e *env) ingestPrivileged(host, account string) {
	e.t.Helper()
	a := inventorytest.Account(account, 990, inventorytest.Cred(scan.CredSSHAuthorizedKey, "/home/"+account+"/.ssh/authorized_keys:1", "key-"+account))
	a.Privileged, a.PrivilegeReasons = true, []string{"sudo ALL"}
	if _, err := e.inv.Ingest(context.Background(), inventorytest.NewReport(host, "mid-"+host, e.clock.Now().UTC(), a)); err != nil {
		e.t.Fatal(err)
	}
}

// count reads the dashboard's count with this id.
func count(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + id + `">(\d+)<`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s on the dashboard", id)
	}
	return m[1]
}

func TestWebDashboard(t *testing.T) {
	e := newWebEnv(t)
	ctx := context.Background()
	e.ingestPrivileged("db1", "dbadmin")
	now := e.clock.Now()
	if _, err := e.inv.SetPhase(ctx, inventory.Phase{Tier: inventory.TierPrivileged, Target: inventory.StrengthShortLivedCert,
		Owner: "security", Start: now.AddDate(0, 0, -10), End: now.AddDate(0, 0, 30)}); err != nil {
		t.Fatal(err)
	}
	// billing-batch is owned: an exception that expires within days, and
	// one that expires after the clock moves (expired).
	if _, err := e.inv.AddException(ctx, inventory.Exception{Account: "billing-batch", Reason: "vendor appliance", Owner: "payments",
		Expires: now.Add(3 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.owner("legacy", "ops")
	if _, err := e.inv.AddException(ctx, inventory.Exception{Account: "legacy", Reason: "old ERP", Owner: "ops",
		Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	// A refusal: a host reporting for another host.
	if err := e.inv.AuditRefusedScan(ctx, inventory.Submitter{Host: "web2"}, "host web2 reported for db1"); err != nil {
		t.Fatal(err)
	}
	u := e.webSignIn("dash", access.RoleViewer)
	code, page := u.get("/")
	if code != http.StatusOK {
		t.Fatalf("dashboard: %d\n%s", code, page)
	}
	for id, want := range map[string]string{"count-overdue": "0", "count-expired": "1", "count-ownerless": "1", "count-expiring": "1"} {
		if got := count(t, page, id); got != want {
			t.Errorf("%s = %s, want %s", id, got, want)
		}
	}
	for _, want := range []string{
		`<a href="/accounts/dbadmin@default">dbadmin@default</a>`, // ownerless privileged, linked
		"old ERP", "vendor appliance",
		"Phase: every account to <strong>short-lived certificate</strong>, owner security",
		`aria-label="Tier 1: 1 static ssh key; target short-lived certificate, 1 below it"`,
		`<line x1="600"`,                  // every tier 1 account is below the target: the mark is at the bar's end
		"<svg xmlns=", "Rollout burndown", // the chart, inline
	} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if strings.Contains(page, "<?xml") {
		t.Error("the inline chart keeps its XML declaration")
	}
	if got := count(t, page, "count-refusals"); got != "1" || !strings.Contains(page, "host web2 reported for db1") {
		t.Errorf("refusals: %s", got)
	}
	// Ordering: violations before ownerless before expiring before refusals.
	idx := func(s string) int { return strings.Index(page, s) }
	if !(idx(`id="viol-h"`) < idx(`id="ownerless-h"`) && idx(`id="ownerless-h"`) < idx(`id="expiring-h"`) &&
		idx(`id="expiring-h"`) < idx(`id="refusals-h"`)) {
		t.Error("the dashboard's sections are out of order")
	}
}

func TestStrengthBar(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dist    map[string]int
		target  inventory.Strength
		targetX int
		widths  []int
	}{
		{"half below", map[string]int{"static_password": 5, "short_lived_cert": 5}, inventory.StrengthShortLivedCert, 300, []int{300, 300}},
		{"none below", map[string]int{"short_lived_cert": 3}, inventory.StrengthStaticSSHKey, 0, []int{600}},
		{"all below", map[string]int{"shared_secret": 1, "secret_file": 2}, inventory.StrengthHardwareBound, 600, []int{200, 400}},
		{"no accounts", map[string]int{}, inventory.StrengthShortLivedCert, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := strengthBar(inventory.PlanTier{Tier: 1, ByStrength: tc.dist, Phase: &inventory.Phase{Target: tc.target}})
			var widths []int
			sum := 0
			for _, s := range d.Segments {
				widths = append(widths, s.Width)
				sum += s.Width
			}
			if d.TargetX != tc.targetX || len(widths) != len(tc.widths) || (len(widths) > 0 && sum != barWidth) {
				t.Errorf("target at %d, widths %v; want %d, %v", d.TargetX, widths, tc.targetX, tc.widths)
			}
			for i := range widths {
				if widths[i] != tc.widths[i] {
					t.Errorf("widths %v, want %v", widths, tc.widths)
				}
			}
		})
	}
}

package inventory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
)

// TestDirectoryAccounts: accounts of kind directory are service accounts
// of their domain in every count (listed by default, tier 1 when
// privileged, strength from their password, owners and exceptions), keep
// their directory entry, and an operator's kind wins until auto.
func TestDirectoryAccounts(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	inv, _ := inventorytest.Open(t, inventory.Options{Now: func() time.Time { return t0 }})
	ctx := audit.WithActor(context.Background(), "test")
	if _, err := inv.Ingest(ctx, inventorytest.DirectoryReport("corp.example", t0.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	list, err := inv.ListAccounts(ctx, inventory.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]inventory.AccountSummary{}
	for _, a := range list {
		by[a.Name] = a
	}
	for _, c := range []struct {
		name     string
		tier     inventory.Tier
		strength inventory.Strength
		status   inventory.Status
	}{
		{"svc-sql", inventory.TierPrivileged, inventory.StrengthStaticPassword, inventory.StatusStatic},
		{"svc-web", inventory.TierRest, inventory.StrengthStaticPassword, inventory.StatusStatic},
		{"gmsa-app$", inventory.TierRest, inventory.StrengthNone, inventory.StatusNone},
	} {
		a, ok := by[c.name]
		if !ok || !a.Directory || a.Human || a.System || a.Tier != c.tier || a.Strength != c.strength || a.Status != c.status {
			t.Errorf("%s: listed %v %+v", c.name, ok, a)
		}
	}
	rep, err := inv.Report(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Humans != 0 || rep.System != 0 || len(rep.OwnerlessPrivileged) != 1 || rep.OwnerlessPrivileged[0].Name != "svc-sql" {
		t.Errorf("report counts: humans %d system %d ownerless privileged %+v", rep.Humans, rep.System, rep.OwnerlessPrivileged)
	}
	if ts := rep.Tiers[0]; ts.Accounts != 1 || ts.Static != 1 || ts.ByStrength["static_password"] != 1 || rep.Tiers[3].Accounts != 2 {
		t.Errorf("tiers: %+v", rep.Tiers)
	}
	plan, err := inv.Plan(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if pt := plan.Tiers[0]; pt.Accounts != 1 || pt.ByStrength["static_password"] != 1 {
		t.Errorf("plan tier 1: %+v", pt)
	}
	// An owner and an exception, as for any service account.
	if err := inv.SetOwner(ctx, "svc-sql", inventory.Owner{Name: "team-db"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddException(ctx, inventory.Exception{Account: "svc-sql", Owner: "team-db", Reason: "SQL Server 2012 cannot use a gMSA",
		Expires: t0.Add(20 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	a, err := inv.GetAccount(ctx, "svc-sql")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != inventory.StatusException || len(a.DirectoryEntries) != 1 {
		t.Fatalf("svc-sql: %+v", a)
	}
	d := a.DirectoryEntries[0]
	if d.Domain != "corp.example" || !strings.HasPrefix(d.DN, "CN=svc-sql,") || len(d.SPNs) != 1 || d.Flags[0] != "DONT_EXPIRE_PASSWORD" ||
		d.PasswordAgeDays == nil || *d.PasswordAgeDays != 400 || !d.PasswordNeverExpires || d.Stale {
		t.Errorf("directory entry: %+v", d)
	}
	// The operator's kind wins; auto returns the account to directory.
	for _, c := range []struct {
		kind            string
		directory, over bool
	}{{"service", false, true}, {"human", false, true}, {"auto", true, false}} {
		if err := inv.SetKind(ctx, "svc-web", c.kind); err != nil {
			t.Fatal(err)
		}
		a, err := inv.GetAccount(ctx, "svc-web")
		if err != nil {
			t.Fatal(err)
		}
		if a.Directory != c.directory || a.KindOverride != c.over || len(a.DirectoryEntries) != 1 {
			t.Errorf("kind %s: directory %v override %v", c.kind, a.AccountSummary.Directory, a.KindOverride)
		}
	}
	if err := inv.SetKind(ctx, "svc-web", "directory"); err == nil || !strings.Contains(err.Error(), "service, human, system, auto") {
		t.Errorf("kind directory is not an operator's kind: %v", err)
	}
}

package render

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
)

// planFixture is the golden fixture with a plan: tier 1 active (root@prod
// below target, billing's exception is tier 4's), tier 2 planned without
// an end.
func planFixture(t *testing.T) (*inventory.Inventory, time.Time) {
	t.Helper()
	inv, t0 := fixture(t)
	ctx := audit.WithActor(context.Background(), "golden")
	for _, p := range []inventory.Phase{
		{Tier: 1, Target: inventory.StrengthShortLivedCert, Owner: "sec-team", Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
			End: time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), Note: "root logins move to the agent"},
		{Tier: 2, Target: inventory.StrengthShortLivedCert, Owner: "net-team", Start: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), MaxException: 60 * 24 * time.Hour},
		{Tier: 4, Target: inventory.StrengthLongLivedCert, Owner: "app-team", Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if p.Tier == 4 {
			p2 := inventory.Phase{Tier: 2, Target: inventory.StrengthShortLivedCert, Owner: "net-team", Start: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
				End: time.Date(2027, 6, 30, 23, 59, 59, 0, time.UTC), MaxException: 60 * 24 * time.Hour}
			p3 := inventory.Phase{Tier: 3, Target: inventory.StrengthShortLivedCert, Owner: "app-team", Start: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
				End: time.Date(2027, 6, 30, 23, 59, 59, 0, time.UTC)}
			for _, q := range []inventory.Phase{p2, p3} {
				if _, err := inv.SetPhase(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := inv.SetPhase(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return inv, t0
}

func TestGoldenPlan(t *testing.T) {
	inv, t0 := planFixture(t)
	ctx := audit.WithActor(context.Background(), "golden")
	pl, err := inv.Plan(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FormatTable, FormatCSV, FormatMarkdown} {
		var b bytes.Buffer
		if err := Plan(&b, pl, f); err != nil {
			t.Fatal(err)
		}
		golden(t, "plan."+f, b.Bytes())
	}
	// Later: tier 1's end passed with root@prod below target, and the
	// billing exception was extended three times: both are violations.
	later := t0.AddDate(0, 0, 40)
	excs, err := inv.ListExceptions(ctx, inventory.ExceptionFilter{})
	if err != nil || len(excs) != 1 {
		t.Fatalf("exceptions: %v %v", excs, err)
	}
	for _, d := range []int{40, 50, 60} {
		if _, err := inv.ExtendException(ctx, excs[0].ID, t0.AddDate(0, 0, d), "rollout slipped"); err != nil {
			t.Fatal(err)
		}
	}
	if pl, err = inv.Plan(ctx, later); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Plan(&b, pl, FormatTable); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-overdue.table", b.Bytes())
	rep, err := inv.Report(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FormatTable, FormatCSV, FormatMarkdown} {
		b.Reset()
		if err := Report(&b, rep, f); err != nil {
			t.Fatal(err)
		}
		golden(t, "report-overdue."+f, b.Bytes())
	}
	if excs, err = inv.ListExceptions(ctx, inventory.ExceptionFilter{}); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := Exceptions(&b, excs, FormatTable, later); err != nil {
		t.Fatal(err)
	}
	golden(t, "exceptions-extended.table", b.Bytes())
}

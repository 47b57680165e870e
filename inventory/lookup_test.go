package inventory_test

import (
	"errors"
	"testing"

	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
)

// TestLookupHints: an unknown account name suggests the nearest one, an
// ambiguous one lists its environments, each as a command to run.
func TestLookupHints(t *testing.T) {
	inv, _ := open(t)
	if err := inv.TagHost(ctx, "p1", []string{"env=prod"}, nil); err != nil {
		t.Fatal(err)
	}
	mustIngest(t, inv, inventorytest.NewReport("p1", "", t0, inventorytest.Account("billing", 5)))
	mustIngest(t, inv, inventorytest.NewReport("s1", "", t0, inventorytest.Account("billing", 5), inventorytest.Account("reporting", 6)))
	for _, tc := range []struct {
		name, hint string
		sentinel   error
	}{
		{"biling", "did you mean roster accounts show billing@default? list every account: roster accounts list --all", inventory.ErrNotFound},
		{"reportin@default", "did you mean roster accounts show reporting@default? list every account: roster accounts list --all", inventory.ErrNotFound},
		{"zzzzzz", "list every account: roster accounts list --all", inventory.ErrNotFound},
		{"billing", "roster accounts show billing@default, or roster accounts show billing@prod", inventory.ErrAmbiguous},
	} {
		_, err := inv.GetAccount(ctx, tc.name)
		var le *inventory.LookupError
		if !errors.As(err, &le) || !errors.Is(err, tc.sentinel) || le.Hint() != tc.hint {
			t.Errorf("GetAccount(%s) = %v; hint %q, want %q", tc.name, err, hintOf(le), tc.hint)
		}
	}
}

func hintOf(e *inventory.LookupError) string {
	if e == nil {
		return ""
	}
	return e.Hint()
}

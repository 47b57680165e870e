package render

import (
	"testing"

	"github.com/rosterhq/roster/inventory"
)

func TestKindLine(t *testing.T) {
	for _, tc := range []struct {
		a    inventory.AccountSummary
		want string
	}{
		{inventory.AccountSummary{}, ""},
		{inventory.AccountSummary{Human: true}, "human (found by scans)"},
		{inventory.AccountSummary{System: true}, "system (found by scans)"},
		{inventory.AccountSummary{Human: true, KindOverride: true}, "human (set by an operator)"},
		{inventory.AccountSummary{KindOverride: true}, "service (set by an operator)"},
	} {
		if got := kindLine(tc.a); got != tc.want {
			t.Errorf("kindLine(%+v) = %q, want %q", tc.a, got, tc.want)
		}
	}
}

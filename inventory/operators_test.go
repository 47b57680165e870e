package inventory

import (
	"testing"
	"time"
)

func TestOperators(t *testing.T) {
	used := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		desc     string
		passkeys int
		last     *time.Time
		factor   string
		strength Strength
	}{
		{"token only", 0, nil, FactorToken, StrengthSecretFile},
		{"passkey registered, never used", 1, nil, FactorToken, StrengthSecretFile},
		{"passkey used", 2, &used, FactorPasskey, StrengthHardwareBound},
		{"used passkey since revoked", 0, &used, FactorToken, StrengthSecretFile},
	} {
		op := NewOperator("alice", "admin", tc.passkeys, tc.last)
		if op.Factor != tc.factor || op.Strength != tc.strength || op.Passkeys != tc.passkeys {
			t.Errorf("%s: %+v", tc.desc, op)
		}
	}
	r := &Report{Tiers: []TierStats{{Tier: TierPrivileged, ByStrength: map[string]int{}}, {Tier: TierRest, ByStrength: map[string]int{}}}}
	r.AddOperators([]Operator{NewOperator("zed", "viewer", 0, nil), NewOperator("alice", "admin", 1, &used), NewOperator("bob", "operator", 0, nil)})
	if r.Operators[0].Name != "alice" || r.Operators[2].Name != "zed" {
		t.Errorf("operators not sorted by name: %+v", r.Operators)
	}
	st := r.Tiers[0].Operators
	if st == nil || st.Accounts != 3 || st.ByStrength["secret_file"] != 2 || st.ByStrength["hardware_bound"] != 1 {
		t.Errorf("tier 1 operators = %+v", st)
	}
	if r.Tiers[1].Operators != nil || r.Tiers[0].Accounts != 0 || len(r.Tiers[0].ByStrength) != 0 {
		t.Errorf("operators counted outside tier 1's operator line: %+v", r.Tiers)
	}
}

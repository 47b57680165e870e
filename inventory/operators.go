package inventory

import (
	"sort"
	"time"
)

// Operator factors: how one of roster's own operators signs in.
const (
	// FactorToken: the operator token alone, a bearer secret kept in a
	// file or the environment (ROSTER_TOKEN): StrengthSecretFile.
	FactorToken = "token"
	// FactorPasskey: a passkey registered and used to sign in, a key that
	// does not leave the authenticator: StrengthHardwareBound.
	FactorPasskey = "passkey"
)

// Operator is one of roster's own operators, an unrevoked operator token,
// with its sign-in factor. roster's administrators are privileged accounts
// too, so the report counts them in tier 1 with the strength of their
// factor. The server fills them in ([Report.AddOperators]): operator
// tokens are not the inventory's.
type Operator struct {
	Name   string `json:"name"`
	Role   string `json:"role"`
	Factor string `json:"factor"`
	// Strength is the factor's level: StrengthSecretFile for a token,
	// StrengthHardwareBound for a passkey.
	Strength Strength `json:"strength"`
	// Passkeys counts the token's passkeys that may sign in; LastPasskey
	// is the last sign-in with one (nil: none yet, so the factor is still
	// the token).
	Passkeys    int        `json:"passkeys"`
	LastPasskey *time.Time `json:"last_passkey_sign_in,omitempty"`
}

// NewOperator is the report line of an operator token named name with
// role, active passkeys and the last sign-in with one (nil: none): the
// factor is a passkey once one is registered and used, else the token.
func NewOperator(name, role string, passkeys int, lastPasskey *time.Time) Operator {
	op := Operator{Name: name, Role: role, Factor: FactorToken, Strength: StrengthSecretFile, Passkeys: passkeys}
	if passkeys > 0 && lastPasskey != nil {
		op.Factor, op.Strength, op.LastPasskey = FactorPasskey, StrengthHardwareBound, lastPasskey
	}
	return op
}

// AddOperators records roster's own operators in the report: listed by
// name, and counted by strength in tier 1's Operators, apart from its
// service accounts (they are neither in its counts nor below its target).
func (r *Report) AddOperators(ops []Operator) {
	r.Operators = append([]Operator{}, ops...)
	sort.Slice(r.Operators, func(i, j int) bool { return r.Operators[i].Name < r.Operators[j].Name })
	st := &PeopleStats{ByStrength: map[string]int{}}
	for _, op := range r.Operators {
		st.Accounts++
		st.ByStrength[op.Strength.Name()]++
	}
	for i := range r.Tiers {
		if r.Tiers[i].Tier == TierPrivileged {
			r.Tiers[i].Operators = st
		}
	}
}

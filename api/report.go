package api

import "time"

// Report is the body of GET /v1/report?format=json: progress per impact
// tier, never one flat percentage.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	// OwnerlessPrivileged lists tier 1 accounts without an owner.
	OwnerlessPrivileged []AccountSummary `json:"ownerless_privileged"`
	// NeedOwner lists new accounts without an owner whose name has one in
	// another environment (left out when empty).
	NeedOwner []OwnerNeeded `json:"need_owner,omitempty"`
	Tiers     []TierStats   `json:"tiers"`
	// Shared lists credentials held by several hosts or accounts.
	Shared []SharedCredential `json:"shared_credentials"`
	// ExpiredExceptions are violations until renewed or closed.
	ExpiredExceptions []Exception `json:"expired_exceptions"`
	// ExpiringExceptions run out within 30 days.
	ExpiringExceptions []Exception `json:"expiring_exceptions"`
	// OverduePhases are phases whose end passed with accounts still below
	// target: violations (left out when empty).
	OverduePhases []Phase `json:"overdue_phases,omitempty"`
	// OverExtended lists open exceptions extended more than twice:
	// violations (left out when empty).
	OverExtended []Exception `json:"over_extended_exceptions,omitempty"`
	// Retired counts retired service accounts (not in the tiers).
	Retired int `json:"retired"`
	// Humans counts people's accounts (not in the tiers; the privileged ones
	// also appear by login strength in tier 1's People).
	Humans int `json:"human_accounts"`
	// System counts unused OS accounts holding no credential (not in the
	// tiers).
	System int `json:"system_accounts"`
	// Instances counts live account instances over all tiers.
	Instances int `json:"instances"`
	// PendingReview lists the service accounts a scan found under a name
	// that already is an identity in another environment (left out when
	// empty).
	PendingReview []PendingReview `json:"pending_review,omitempty"`
	// Operators lists roster's own operators with their sign-in factor;
	// tier 1's Operators counts them by strength.
	Operators []Operator `json:"operators,omitempty"`
}

// TierStats counts one tier's service accounts.
type TierStats struct {
	Tier int    `json:"tier"`
	Name string `json:"name"`
	// Accounts counts live, unretired service accounts.
	Accounts  int `json:"accounts"`
	WithOwner int `json:"with_owner"`
	// ShortLived counts accounts on short-lived certificates; Managed
	// those with no static credential left.
	ShortLived int `json:"short_lived"`
	Managed    int `json:"managed"`
	Lapsed     int `json:"lapsed"`
	// Static counts accounts still holding a static credential; Covered
	// those of them fully covered by valid exceptions.
	Static             int `json:"static"`
	Covered            int `json:"covered_by_exception"`
	ExpiringExceptions int `json:"exceptions_expiring_30d"`
	ExpiredExceptions  int `json:"exceptions_expired"`
	SharedSecrets      int `json:"shared_secret_accounts"`
	// ByStrength counts the tier's service accounts per strength level
	// (machine name, see AccountSummary.Strength); empty levels are absent.
	ByStrength map[string]int `json:"by_strength"`
	// Target is the tier's target level once a phase sets one;
	// BelowTarget counts the accounts below it (absent without a target).
	Target      string `json:"target,omitempty"`
	BelowTarget *int   `json:"below_target,omitempty"`
	// PhaseEnd is the end date recorded for the tier's phase (absent
	// without one).
	PhaseEnd time.Time `json:"phase_end,omitzero"`
	// People counts privileged people's accounts, by login strength (tier
	// 1 only): not enrolled, but counted apart from service accounts.
	People *PeopleStats `json:"privileged_people,omitempty"`
	// Operators counts roster's own operators by the strength of their
	// sign-in factor (tier 1 only), apart from the service accounts.
	Operators *PeopleStats `json:"roster_operators,omitempty"`
}

// PeopleStats counts privileged people's accounts by login strength.
type PeopleStats struct {
	Accounts   int            `json:"accounts"`
	ByStrength map[string]int `json:"by_strength"`
}

// PendingReview is one service account waiting for an operator's decision:
// its key, the environments where its name is an identity, its hosts.
type PendingReview struct {
	Account     string    `json:"account"`
	Name        string    `json:"name"`
	Env         string    `json:"env"`
	Established []string  `json:"established_envs"`
	Instances   int       `json:"instances"`
	Hosts       []string  `json:"hosts"`
	FirstSeen   time.Time `json:"first_seen"`
}

package api

import "time"

// PhaseRequest is the body of PUT /v1/plan/{tier}: the tier's phase, set
// or replaced. Target is a strength level's machine name (not "none");
// Start and End are YYYY-MM-DD (Start the beginning of that day, End its
// end, UTC) or RFC 3339, End optional; MaxException a duration such as "30d" or "720h" (empty:
// the tier's default, 30 days for tier 1, 90 for tier 2, 180 otherwise).
type PhaseRequest struct {
	Target       string `json:"target"`
	Owner        string `json:"owner"`
	Start        string `json:"start"`
	End          string `json:"end"`
	MaxException string `json:"max_exception"`
	Note         string `json:"note"`
}

// Phase is one tier's rollout phase: the body of PUT /v1/plan/{tier} (200)
// and of the plan's tiers. MaxException is in nanoseconds (Go's
// time.Duration).
type Phase struct {
	Tier         int           `json:"tier"`
	Target       string        `json:"target"`
	Owner        string        `json:"owner"`
	Start        time.Time     `json:"start"`
	End          time.Time     `json:"end,omitzero"`
	MaxException time.Duration `json:"max_exception"`
	Note         string        `json:"note,omitempty"`
	SetAt        time.Time     `json:"set_at"`
	SetBy        string        `json:"set_by,omitempty"`
}

// Phase states (PlanTier.State).
const (
	PhaseNone    = "none"
	PhasePlanned = "planned"
	PhaseActive  = "active"
	PhaseDone    = "done"
	PhaseOverdue = "overdue"
)

// Plan is the body of GET /v1/plan?format=json: one entry per tier, 1 to 4.
type Plan struct {
	GeneratedAt time.Time  `json:"generated_at"`
	Tiers       []PlanTier `json:"tiers"`
}

// PlanTier is one tier's phase and its progress.
type PlanTier struct {
	Tier int    `json:"tier"`
	Name string `json:"name"`
	// Phase is absent when the tier has none (State "none").
	Phase *Phase `json:"phase,omitempty"`
	// State is one of the Phase* states.
	State string `json:"state"`
	// DaysLeft counts whole days until the phase's end, rounded up,
	// negative once passed; absent without an end.
	DaysLeft *int `json:"days_left,omitempty"`
	// Accounts counts the tier's service accounts; AtTarget and
	// BelowTarget split them at the phase's target (BelowTarget 0 without
	// a phase); ByStrength is the report's distribution by level.
	Accounts    int            `json:"accounts"`
	AtTarget    int            `json:"at_target"`
	BelowTarget int            `json:"below_target"`
	ByStrength  map[string]int `json:"by_strength"`
	// Below lists the first 50 accounts below target, weakest first.
	Below []BelowTarget `json:"below_target_accounts"`
	// People counts tier 1's privileged people's accounts apart (not in
	// the progress); PeopleBelowTarget those below the target.
	People            *PeopleStats `json:"privileged_people,omitempty"`
	PeopleBelowTarget *int         `json:"privileged_people_below_target,omitempty"`
	// OpenExceptions counts the tier's valid exceptions; Exceptions lists
	// the first 50, soonest expiry first.
	OpenExceptions int         `json:"open_exceptions"`
	Exceptions     []Exception `json:"exceptions"`
}

// BelowTarget is one account below its tier's target.
type BelowTarget struct {
	Account    string `json:"account"`
	Strength   string `json:"strength"`
	StrengthBy string `json:"strength_by,omitempty"`
	Owner      *Owner `json:"owner,omitempty"`
}

// ExtendRequest is the body of POST /v1/exceptions/{id}/extend: the new
// end (YYYY-MM-DD or RFC 3339), under the same caps as a new exception, and
// why (optional, kept in the history and the audit log). The answer is the
// extended Exception.
type ExtendRequest struct {
	Expires string `json:"expires"`
	Reason  string `json:"reason"`
}

// StatusRemoved is the [Status] of DELETE /v1/plan/{tier}.
const StatusRemoved = "removed"

package api

import (
	"net/url"
	"time"
)

// PlanHistoryQuery is the query of GET /v1/plan/history and GET
// /v1/plan/chart: a range of UTC days, YYYY-MM-DD (or RFC 3339, whose day
// counts). An empty To is today; an empty From is 90 days before To. At
// most three years.
type PlanHistoryQuery struct {
	From string
	To   string
}

// Values encodes q as the query parameters the server reads.
func (q PlanHistoryQuery) Values() url.Values {
	v := url.Values{}
	setString(v, "from", q.From)
	setString(v, "to", q.To)
	return v
}

// Content types of GET /v1/plan/chart.
const ContentTypeSVG = "image/svg+xml"

// PlanHistory is the body of GET /v1/plan/history?format=json: the daily
// snapshots of a range of UTC days, in date order. A day the server did
// not run has no snapshot and is absent.
type PlanHistory struct {
	From      string         `json:"from"`
	To        string         `json:"to"`
	Snapshots []PlanSnapshot `json:"snapshots"`
}

// PlanSnapshot is one day: each tier's distribution as the report counted
// it at TakenAt (the day's latest snapshot).
type PlanSnapshot struct {
	Date    string             `json:"date"`
	TakenAt time.Time          `json:"taken_at"`
	Tiers   []PlanTierSnapshot `json:"tiers"`
}

// PlanTierSnapshot is one tier's distribution on one day; Target,
// BelowTarget and PhaseEnd are absent without a phase (see TierStats).
type PlanTierSnapshot struct {
	Tier        int            `json:"tier"`
	Name        string         `json:"name"`
	Accounts    int            `json:"accounts"`
	ByStrength  map[string]int `json:"by_strength"`
	Target      string         `json:"target,omitempty"`
	BelowTarget *int           `json:"below_target,omitempty"`
	PhaseEnd    time.Time      `json:"phase_end,omitzero"`
	People      *PeopleStats   `json:"privileged_people,omitempty"`
	// Burndown is what the chart draws for the day.
	Burndown Burndown `json:"burndown"`
}

// Burndown is one point of a tier's burndown: Below accounts sat below
// Level that day. Basis "target": Level is the tier's target; "no_target":
// the tier had none, and Level is short_lived_cert.
type Burndown struct {
	Level string `json:"level"`
	Basis string `json:"basis"`
	Below int    `json:"below"`
}

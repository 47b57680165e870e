package api

import "time"

// Notice is the body of every webhook roster posts (package notify): one
// event, compact JSON, signed as a whole (header X-Roster-Signature). A
// receiver deduplicates by ID: delivery is at least once, so the same
// notice may arrive more than once, always with the same ID and the same
// X-Roster-Delivery-Id for one webhook. It carries no secret.
type Notice struct {
	// ID is stable for one occurrence of an event
	// ("exception-expiring-7d/exc-12/2026-05-01").
	ID string `json:"id"`
	// Kind is a stable machine name: exception.expiring,
	// exception.expired, account.ownerless_privileged, test (more kinds
	// may be added: ignore those you do not know).
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`
	// Owner is who should act; null when nobody owns the account, and
	// then Action says who should act and how.
	Owner   *Owner `json:"owner"`
	Action  string `json:"action,omitempty"`
	Account string `json:"account,omitempty"`
	Tier    int    `json:"tier,omitempty"`
	Summary string `json:"summary"`
	// Details are the kind's structured facts (exception_id, expires,
	// within_days, ...).
	Details map[string]string `json:"details,omitempty"`
}

// NotifyTestResponse is the body of POST /v1/notify/test: the ID of the
// test notice queued for every configured webhook.
type NotifyTestResponse struct {
	ID       string `json:"id"`
	Webhooks int    `json:"webhooks"`
}

// Delivery is one notice to one webhook, as GET /v1/notify/outbox lists the
// pending and failed ones (delivered ones leave the outbox). URL shows the
// webhook's scheme and host only: its path may hold a credential.
type Delivery struct {
	ID          string    `json:"id"`
	EventID     string    `json:"event_id"`
	Kind        string    `json:"kind"`
	URL         string    `json:"url"`
	State       string    `json:"state"` // pending or failed
	Attempts    int       `json:"attempts"`
	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
}

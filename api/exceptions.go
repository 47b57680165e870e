package api

import (
	"net/url"
	"time"
)

// ExceptionRequest is the body of POST /v1/exceptions. Expires is
// YYYY-MM-DD (the end of that day, UTC) or RFC 3339; CredentialType limits
// the exception to one credential type (empty: all of the account's static
// credentials).
type ExceptionRequest struct {
	Account        string `json:"account"`
	Reason         string `json:"reason"`
	Expires        string `json:"expires"`
	Owner          string `json:"owner"`
	CredentialType string `json:"credential_type"`
	// BeyondPhase accepts an end after the tier's phase end (Reason says
	// why).
	BeyondPhase bool `json:"beyond_phase,omitempty"`
}

// Exception accepts a static credential of an account until Expires. It is
// the body of POST /v1/exceptions (201) and an entry of GET /v1/exceptions.
type Exception struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	// Credential is the credential type covered; empty covers all.
	Credential string     `json:"credential,omitempty"`
	Reason     string     `json:"reason"`
	Owner      string     `json:"owner"`
	Expires    time.Time  `json:"expires"`
	Created    time.Time  `json:"created"`
	CreatedBy  string     `json:"created_by,omitempty"`
	Closed     *time.Time `json:"closed,omitempty"`
	ClosedBy   string     `json:"closed_by,omitempty"`
	CloseNote  string     `json:"close_reason,omitempty"`
	// Extensions counts the extensions of the exception's chain (more than
	// two is a violation); Extends names the earlier exception it
	// continues; BeyondPhase is set when it was accepted past its tier's
	// phase end.
	Extensions  int    `json:"extensions,omitempty"`
	Extends     string `json:"extends,omitempty"`
	BeyondPhase bool   `json:"beyond_phase,omitempty"`
}

// ExceptionQuery is the query of GET /v1/exceptions.
type ExceptionQuery struct {
	Account string
	// Expiring keeps open exceptions expiring within this window ("30d",
	// "12h") and those already expired.
	Expiring string
	// Closed also lists closed exceptions.
	Closed bool
}

// Values encodes q as the query parameters the server reads.
func (q ExceptionQuery) Values() url.Values {
	v := url.Values{}
	setString(v, "account", q.Account)
	setString(v, "expiring", q.Expiring)
	setBool(v, "closed", q.Closed)
	return v
}

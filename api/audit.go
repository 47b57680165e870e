package api

import (
	"net/url"
	"time"
)

// AuditEvent is one record of the hash-chained audit log, an entry of
// GET /v1/audit. PrevHash and Hash chain the records; no field ever holds
// a secret.
type AuditEvent struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Host     string    `json:"host,omitempty"`
	Account  string    `json:"account,omitempty"`
	Serial   string    `json:"serial,omitempty"`
	Outcome  string    `json:"outcome"` // "ok", "refused", "error"
	Reason   string    `json:"reason,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// AuditQuery is the query of GET /v1/audit.
type AuditQuery struct {
	// Account keeps events about this account.
	Account string
	// Since keeps events after this time: RFC 3339, or a duration back
	// from now such as "24h" or "7d".
	Since string
}

// Values encodes q as the query parameters the server reads.
func (q AuditQuery) Values() url.Values {
	v := url.Values{}
	setString(v, "account", q.Account)
	setString(v, "since", q.Since)
	return v
}

// AuditVerification is the body of GET /v1/audit/verify. A broken chain is
// OK false with Error naming the first bad record (the status is still 200:
// the check ran).
type AuditVerification struct {
	Error   string `json:"error,omitempty"`
	OK      bool   `json:"ok"`
	Records int    `json:"records"`
}

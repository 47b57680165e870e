package inventory

import (
	"errors"
	"fmt"
	"time"
)

// IngestResult says what one Ingest changed.
type IngestResult struct {
	HostID   string `json:"host_id"`
	Hostname string `json:"hostname"`
	// Stale is true when the report is older than the newest one already
	// ingested for the host; nothing was written.
	Stale bool `json:"stale,omitempty"`
	// Unchanged is true when the same report was ingested before.
	Unchanged       bool `json:"unchanged,omitempty"`
	Accounts        int  `json:"accounts"`
	AccountsNew     int  `json:"accounts_new"`
	AccountsGone    int  `json:"accounts_gone"`
	CredentialsNew  int  `json:"credentials_new"`
	CredentialsGone int  `json:"credentials_gone"`
	Events          int  `json:"events"`
}

// Role is what an operator token may do.
type Role string

// Roles, most powerful first.
const (
	RoleAdmin    Role = "admin"    // everything, including tokens
	RoleOperator Role = "operator" // read and change the inventory, enroll, revoke
	RoleViewer   Role = "viewer"   // read only
)

// Allows reports whether r includes the rights of need.
func (r Role) Allows(need Role) bool {
	rank := map[Role]int{RoleViewer: 1, RoleOperator: 2, RoleAdmin: 3}
	return rank[r] > 0 && rank[r] >= rank[need]
}

// TokenPrefix starts every operator token.
const TokenPrefix = "rst_"

// Token is an operator token without its secret. Only the SHA-256 hash of
// the secret is stored, and no API returns it.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// EnrollToken is a one-time enrollment token as the issuer stores it: the
// hash of the secret (the inventory never sees the secret), the identity it
// is bound to (Account "" for the host identity) and its expiry.
type EnrollToken struct {
	Hash      []byte     `json:"hash"`
	Host      string     `json:"host"`
	Account   string     `json:"account"`
	ExpiresAt time.Time  `json:"expires_at"`
	CreatedBy string     `json:"created_by,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
}

// IdentityState is what the issuer needs to decide on a certificate for
// (Host, Account). Account "" is the host's own identity.
type IdentityState struct {
	Host    string `json:"host"`
	Account string `json:"account"`
	// HostKnown is false when no host of that name was ever ingested.
	HostKnown bool `json:"host_known"`
	// Exists is true when the instance (or the host) is known; Gone when the
	// newest scan of the host no longer found it.
	Exists bool       `json:"exists"`
	Gone   bool       `json:"gone"`
	GoneAt *time.Time `json:"gone_at,omitempty"`
	// ServiceAccount is the key (NAME@GROUP) the instance belongs to.
	ServiceAccount   string     `json:"service_account,omitempty"`
	Env              string     `json:"env"`
	Owner            *Owner     `json:"owner,omitempty"`
	Retired          bool       `json:"retired"`
	SharedAcrossEnvs bool       `json:"shared_across_envs"`
	Tier             Tier       `json:"tier"`
	Cert             *CertState `json:"cert,omitempty"`
}

// AuditEvent is one record of the hash-chained audit log. Seq, PrevHash and
// Hash are set by AppendAudit. No secret may be put in any field.
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

// Audit outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeRefused = "refused"
	OutcomeError   = "error"
)

// AuditFilter selects audit records. Zero fields match all.
type AuditFilter struct {
	Account string
	Since   time.Time
	// Limit > 0 keeps only the newest Limit records.
	Limit int
}

// Sentinel errors. Match them with errors.Is.
var (
	ErrNotFound        = errors.New("not found")
	ErrAmbiguous       = errors.New("ambiguous account name")
	ErrUnauthenticated = errors.New("unknown or revoked token")
	ErrEnrollUnknown   = errors.New("enrollment token unknown")
	ErrEnrollUsed      = errors.New("enrollment token already used")
	ErrEnrollExpired   = errors.New("enrollment token expired")
	ErrNotInventory    = errors.New("not a roster inventory")
	ErrSchemaTooNew    = errors.New("inventory schema is newer than this program")
	ErrAuditTampered   = errors.New("audit log does not verify")
	ErrClosed          = errors.New("inventory is closed")
	// ErrLocked: another process (another roster server on the same data
	// directory) holds the inventory file.
	ErrLocked = errors.New("inventory is in use by another process")
)

// InvalidError is a refused operator request: what was wrong and what to do.
// Hint, when set, is the next step for the operator.
type InvalidError struct {
	Field    string
	Reason   string
	HintText string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Reason)
}

// Hint is the next step, for the CLI's "roster: hint:" line.
func (e *InvalidError) Hint() string { return e.HintText }

// AuditError says which record broke the chain.
type AuditError struct {
	Seq    uint64
	Reason string
}

func (e *AuditError) Error() string {
	return fmt.Sprintf("audit record %d: %s", e.Seq, e.Reason)
}

// Unwrap makes errors.Is(err, ErrAuditTampered) true.
func (e *AuditError) Unwrap() error { return ErrAuditTampered }

package audit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Event is one record of the log. Seq, PrevHash and Hash are set by
// [Append]. No secret may be put in any field.
type Event struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Host     string    `json:"host,omitempty"`
	Account  string    `json:"account,omitempty"`
	Serial   string    `json:"serial,omitempty"`
	Outcome  string    `json:"outcome"` // OutcomeOK, OutcomeRefused, OutcomeError
	Reason   string    `json:"reason,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// Outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeRefused = "refused"
	OutcomeError   = "error"
)

// Actions: the one set of names. Group.verb, lowercase.
const (
	ActionOwnerSet        = "owner.set"
	ActionOwnerUnset      = "owner.unset"
	ActionExceptionAdd    = "exception.add"
	ActionExceptionClose  = "exception.close"
	ActionAccountTag      = "account.tag"
	ActionAccountTier     = "account.tier"
	ActionAccountKind     = "account.kind"
	ActionAccountRetire   = "account.retire"
	ActionAccountUnretire = "account.unretire"
	ActionAccountSplit    = "account.split"
	ActionAccountMerge    = "account.merge"
	ActionAccountMove     = "account.move"
	ActionHostTag         = "host.tag"
	ActionHostMove        = "host.move"
	ActionScanIngest      = "scan.ingest"
	ActionTokenCreate     = "token.create"
	ActionTokenRevoke     = "token.revoke"
	ActionPasskeyRegister = "passkey.register" // an operator registered a passkey for their token
	ActionPasskeyLogin    = "passkey.login"    // a sign-in with a passkey (refused: a clone warning or a revoked token)
	ActionPasskeyRevoke   = "passkey.revoke"   // a passkey revoked: it signs in no more
	ActionEnrollCreate    = "enroll.token.create"
	ActionEnrollUse       = "enroll.token.use"
	ActionCertIssue       = "cert.issue"
	ActionCertRenew       = "cert.renew"
	ActionCertRekey       = "cert.rekey"
	ActionCertRevoke      = "cert.revoke"
	ActionCertReuse       = "cert.reuse"
	ActionAccountAdd      = "account.add"     // a registered account (no scan finds it)
	ActionAccountRemove   = "account.remove"  // a registered account retired
	ActionAccountPurpose  = "account.purpose" // an operator set what an account is for
	ActionVendorAdd       = "vendor.add"
	ActionVendorSet       = "vendor.set"
	ActionVendorRemove    = "vendor.remove"
	ActionVendorLapse     = "vendor.lapse"
	ActionNotifyTest      = "notify.test"
	ActionPlanSet         = "plan.set"
	ActionPlanRemove      = "plan.remove"
	ActionExceptionExtend = "exception.extend"
	ActionSSHRevoke       = "ssh.revoke"    // an identity's SSH certificates revoked (Serial: their serials)
	ActionSSHSign         = "ssh.sign"      // an SSH user or host certificate signed (Serial: its serial)
	ActionSSHAllow        = "ssh.allow"     // an SSH login grant added
	ActionSSHDeny         = "ssh.deny"      // an SSH login grant removed
	ActionSSHPolicy       = "ssh.policy"    // an account's SSH certificate extensions set
	ActionUISignIn        = "ui.signin"     // a web session made from a token (Detail: how: form or link)
	ActionUISignOut       = "ui.signout"    // a web session ended by its operator
	ActionUILoginLink     = "ui.login.link" // a one-time sign-in link made (roster ui login)
)

// Filter selects records. Zero fields match all.
type Filter struct {
	// Account matches the record's account or its service account key
	// (NAME matches NAME@ENV).
	Account string
	Since   time.Time
	// Limit > 0 keeps only the newest Limit records.
	Limit int
}

// ErrTampered is wrapped by every [*Error].
var ErrTampered = errors.New("audit log does not verify")

// Error says which record broke the chain.
type Error struct {
	Seq    uint64
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("audit record %d: %s", e.Seq, e.Reason)
}

// Unwrap makes errors.Is(err, ErrTampered) true.
func (e *Error) Unwrap() error { return ErrTampered }

type actorKey struct{}

// WithActor returns a context naming who acts (a token name, "system",
// "host:HOST"); audited functions record it.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// Actor returns the actor set by WithActor, or "unknown".
func Actor(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "unknown"
}

package inventory

import (
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster/scan"
)

// DefaultEnv is the environment of a host without an env=NAME tag.
const DefaultEnv = "default"

// Host tags with a meaning to roster. Any other tag is kept as given.
const (
	TagExternal  = "external"     // host reachable from outside: SSH keys on it make an account tier 2
	TagCritical  = "critical"     // host or account whose compromise hurts: tier 3
	TagEnvPrefix = "env="         // env=NAME groups the host's accounts into environment NAME
	TagThirdPart = "third-party=" // on an account: used by a vendor, tier 2
)

// Host is one scanned (or pre-registered) machine.
type Host struct {
	// ID is the inventory's own stable key for the host.
	ID        string    `json:"id"`
	Hostname  string    `json:"hostname"`
	MachineID string    `json:"machine_id,omitempty"`
	OS        scan.OS   `json:"os"`
	Tags      []string  `json:"tags,omitempty"`
	Env       string    `json:"env"`
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	// LastScan is the scanned_at of the newest report ingested.
	LastScan time.Time `json:"last_scan,omitzero"`
	// Accounts counts the account instances still present on the host.
	Accounts int `json:"accounts"`
	// Cert is the host identity's certificate, if one was issued.
	Cert *CertState `json:"cert,omitempty"`
}

// HostDetail is a host with its account instances.
type HostDetail struct {
	Host
	Instances []Instance `json:"instances"`
}

// Instance is one account on one host: what the newest scan found, and when
// it was first and last seen.
type Instance struct {
	Host    string `json:"host"`
	HostID  string `json:"host_id"`
	Account string `json:"account"`
	// ServiceAccount is the key (NAME@GROUP) of the service account the
	// instance belongs to.
	ServiceAccount string       `json:"service_account"`
	Data           scan.Account `json:"data"`
	FirstSeen      time.Time    `json:"first_seen"`
	LastSeen       time.Time    `json:"last_seen"`
	GoneAt         *time.Time   `json:"gone_at,omitempty"`
	Cert           *CertState   `json:"cert,omitempty"`
}

// CertState is the certificate an identity currently holds.
type CertState struct {
	Serial      string    `json:"serial"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	IssuedAt    time.Time `json:"issued_at"`
	LastRenewal time.Time `json:"last_renewal,omitzero"`
	// Managed is set once a scan after IssuedAt found no static credential
	// left on the instance.
	Managed   bool       `json:"managed"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Previous is the serial this certificate was renewed from ("" after
	// an enrollment). ReuseDetectedAt is set when a superseded certificate
	// of the identity (ReuseSerial) was presented for renewal: a possible
	// key theft, kept until the identity is enrolled again (certs.go).
	Previous        string     `json:"previous,omitempty"`
	ReuseDetectedAt *time.Time `json:"reuse_detected_at,omitempty"`
	ReuseSerial     string     `json:"reuse_serial,omitempty"`
}

// Owner is the person or team answerable for a service account.
type Owner struct {
	Name    string `json:"name"`
	Contact string `json:"contact,omitempty"`
}

// Tier is an impact tier: 1 is the most dangerous. 0 means "not set" where
// a Tier is optional (filters, clearing an override).
type Tier int

// Tiers.
const (
	TierPrivileged Tier = 1 // UID 0, sudo, root-equivalent groups
	TierExternal   Tier = 2 // reachable from outside or used by a third party
	TierCritical   Tier = 3 // internal but tagged critical
	TierRest       Tier = 4
)

// String names the tier.
func (t Tier) String() string {
	switch t {
	case TierPrivileged:
		return "1 privileged"
	case TierExternal:
		return "2 external"
	case TierCritical:
		return "3 internal critical"
	case TierRest:
		return "4 other"
	}
	return fmt.Sprintf("tier %d", int(t))
}

// Strength is one ordered scale for every credential and account, weakest
// first: an account's level is its weakest live credential (the
// attacker's path). StrengthNone, no credential at all, sorts last.
type Strength int

// Strengths, weakest first.
const (
	StrengthSharedSecret   Strength = iota + 1 // a static secret found on several hosts or accounts
	StrengthEmptyPassword                      // login without a password
	StrengthStaticPassword                     // usable password hash
	StrengthStaticSSHKey                       // authorized key or unencrypted private key
	StrengthSecretFile                         // secret in a file or a unit's environment
	StrengthLongLivedCert                      // certificate valid longer than a day (see longLived)
	StrengthShortLivedCert                     // short-lived identity-bound certificate, nothing static
	StrengthHardwareBound                      // a key that cannot leave hardware: a FIDO sk- SSH key
	StrengthNone                               // no credential found
)

// Strengths lists every level in scale order, weakest first, StrengthNone
// last.
var Strengths = []Strength{StrengthSharedSecret, StrengthEmptyPassword, StrengthStaticPassword, StrengthStaticSSHKey,
	StrengthSecretFile, StrengthLongLivedCert, StrengthShortLivedCert, StrengthHardwareBound, StrengthNone}

// strengthNames are the readable names, for tables.
var strengthNames = map[Strength]string{
	StrengthSharedSecret:   "shared static secret",
	StrengthEmptyPassword:  "empty password",
	StrengthStaticPassword: "static password",
	StrengthStaticSSHKey:   "static ssh key",
	StrengthSecretFile:     "secret in file or environment",
	StrengthLongLivedCert:  "long-lived certificate",
	StrengthShortLivedCert: "short-lived certificate",
	StrengthHardwareBound:  "hardware-bound key",
	StrengthNone:           "no credential",
}

// strengthMachine are the stable machine names, for JSON, CSV and flags.
var strengthMachine = map[Strength]string{
	StrengthSharedSecret:   "shared_secret",
	StrengthEmptyPassword:  "empty_password",
	StrengthStaticPassword: "static_password",
	StrengthStaticSSHKey:   "static_ssh_key",
	StrengthSecretFile:     "secret_file",
	StrengthLongLivedCert:  "long_lived_cert",
	StrengthShortLivedCert: "short_lived_cert",
	StrengthHardwareBound:  "hardware_bound",
	StrengthNone:           "none",
}

// String is the readable name ("static password"), for tables.
func (s Strength) String() string {
	if n, ok := strengthNames[s]; ok {
		return n
	}
	return fmt.Sprintf("strength %d", int(s))
}

// Name is the stable machine name ("static_password"), for JSON, CSV and
// flags; "" for a value off the scale.
func (s Strength) Name() string { return strengthMachine[s] }

// ParseStrength reads a machine name ("short_lived_cert"), as flags take it.
func ParseStrength(name string) (Strength, error) {
	for _, s := range Strengths {
		if strengthMachine[s] == name {
			return s, nil
		}
	}
	names := make([]string, len(Strengths))
	for i, s := range Strengths {
		names[i] = strengthMachine[s]
	}
	return 0, &InvalidError{Field: "strength", Reason: fmt.Sprintf("unknown level %q (want one of %s)", name, strings.Join(names, ", "))}
}

// MarshalText writes the machine name ("" for the zero value, not set).
func (s Strength) MarshalText() ([]byte, error) {
	if s != 0 && s.Name() == "" {
		return nil, fmt.Errorf("strength %d: not on the scale", int(s))
	}
	return []byte(s.Name()), nil
}

// UnmarshalText reads a machine name ("" is the zero value, not set).
func (s *Strength) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = 0
		return nil
	}
	v, err := ParseStrength(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Status is the migration status of a service account.
type Status string

// Statuses.
const (
	// StatusStatic: holds a static credential not covered by a valid exception.
	StatusStatic Status = "static"
	// StatusException: every static credential is covered by a valid exception.
	StatusException Status = "exception"
	// StatusEnrolled: every live instance holds a current certificate (or
	// is managed by SSH certificates alone, see StatusManaged).
	StatusEnrolled Status = "enrolled"
	// StatusManaged: enrolled, and scans since found no static credential left;
	// or, for an instance without an X.509 certificate, its last scan found
	// it logging in with SSH certificates of our user CA
	// (Options.SSHUserCAFingerprints) and no static credential.
	StatusManaged Status = "managed"
	// StatusLapsed: a certificate expired without renewal.
	StatusLapsed Status = "lapsed"
	// StatusRetired: an operator retired the account.
	StatusRetired Status = "retired"
	// StatusNone: no static credential and no certificate (nothing to migrate).
	StatusNone Status = "none"
)

// AccountSummary is one service account as lists and reports show it.
type AccountSummary struct {
	// Key is NAME@GROUP, unique; Name is the account name and Env its
	// environment (or the group an operator split it into).
	Key  string `json:"key"`
	Name string `json:"name"`
	Env  string `json:"env"`
	// Instances counts live instances; Hosts lists their host names (at most
	// the first 20).
	Instances int      `json:"instances"`
	Hosts     []string `json:"hosts,omitempty"`
	Owner     *Owner   `json:"owner,omitempty"`
	Tier      Tier     `json:"tier"`
	// TierReason says why; TierOverride is true when an operator set it.
	TierReason   string   `json:"tier_reason"`
	TierOverride bool     `json:"tier_override,omitempty"`
	Strength     Strength `json:"strength"`
	// StrengthBy names the credential that sets Strength: its type and
	// where one was found ("ssh_authorized_key on web1:
	// /home/app/.ssh/authorized_keys:3"); "" for StrengthNone.
	StrengthBy string `json:"strength_by,omitempty"`
	Status     Status `json:"status"`
	// Static counts live static credentials over all instances.
	Static           int  `json:"static_credentials"`
	Privileged       bool `json:"privileged"`
	SharedAcrossEnvs bool `json:"shared_across_envs"`
	// PendingReview is set when a scan found the name in this environment
	// while it already was an identity in another; SharedAcrossEnvs is set
	// too. It clears when an operator confirms the account as separate
	// (Inventory.Split) or merges it (Inventory.Merge).
	PendingReview bool `json:"pending_review,omitempty"`
	Retired       bool `json:"retired"`
	// Human is true when every live instance is a person's account (scan
	// kind "human"): listed only on request, and counted apart in reports.
	Human bool `json:"human,omitempty"`
	// System is true when every live instance is an OS account that
	// nothing uses and that holds no credential (scan kind "system"):
	// nothing to migrate, so listed only on request and counted apart.
	System bool `json:"system,omitempty"`
	// Directory is true when every live instance was found in a directory
	// (scan kind "directory": Active Directory or LDAP, the host being the
	// domain) and no operator set the kind: a service account in every
	// count, tier and plan.
	Directory bool `json:"directory,omitempty"`
	// KindOverride is true when an operator set the kind (Human, System,
	// or neither: a service account) instead of the scan's kinds.
	KindOverride bool      `json:"kind_override,omitempty"`
	Tags         []string  `json:"tags,omitempty"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	// Purpose says what the account is for: set by an operator (roster
	// account purpose), else prefilled from the passwd GECOS field or
	// the Description= of a unit that runs as it; PurposeFrom says which
	// ("operator", "passwd gecos on HOST", "unit NAME on HOST").
	Purpose     string `json:"purpose,omitempty"`
	PurposeFrom string `json:"purpose_from,omitempty"`
	// Registered is set for an account an operator registered on a
	// system no scan reaches (roster account add): it has no instances.
	Registered *Registration `json:"registered,omitempty"`
}

// Account is a service account with its instances and exceptions.
type Account struct {
	AccountSummary
	Instances  []Instance  `json:"instance_list"`
	Exceptions []Exception `json:"exceptions"`
	// SharedFingerprints lists fingerprints of this account's credentials
	// that are also held elsewhere.
	SharedFingerprints []string `json:"shared_fingerprints,omitempty"`
	// SSHPermit is what the account's SSH user certificates permit
	// (roster ssh policy: pty, port-forwarding, ...); empty for nothing.
	SSHPermit []string `json:"ssh_permit,omitempty"`
	// DirectoryEntries lists, by domain, the directory entry of each live
	// instance a directory scan found.
	DirectoryEntries []DirectoryEntry `json:"directory_entries,omitempty"`
}

// DirectoryEntry is what the newest directory scan of a domain found of
// the account: its entry (DN, class, SPNs, flags, managed, last logon)
// and its password's age and scheme, from the instance's scan data.
type DirectoryEntry struct {
	Domain string `json:"domain"`
	scan.DirectoryAccount
	PasswordLastSet      *time.Time `json:"password_last_set,omitempty"`
	PasswordAgeDays      *int       `json:"password_age_days,omitempty"`
	PasswordNeverExpires bool       `json:"password_never_expires,omitempty"`
	// PasswordScheme is plain LDAP's userPassword scheme ("{SSHA}",
	// "cleartext") when the scan could read it; never the hash.
	PasswordScheme string `json:"password_scheme,omitempty"`
}

// directoryEntry is the DirectoryEntry of a live instance found in a
// directory; ok is false for another instance.
func directoryEntry(in *Instance) (DirectoryEntry, bool) {
	d := in.Data.Directory
	if d == nil || in.GoneAt != nil {
		return DirectoryEntry{}, false
	}
	p := in.Data.Password
	return DirectoryEntry{Domain: in.Host, DirectoryAccount: *d, PasswordLastSet: p.LastChanged, PasswordAgeDays: p.AgeDays,
		PasswordNeverExpires: p.NeverExpires, PasswordScheme: p.Algorithm}, true
}

// Filter selects service accounts in ListAccounts. Zero fields match all.
type Filter struct {
	Tier    Tier   // only this tier
	NoOwner bool   // only accounts without an owner
	Static  bool   // only accounts still holding a static credential
	Host    string // only accounts with a live instance on this host (hostname or machine-id)
	Env     string // only this environment / group
	// Retired includes retired accounts (excluded by default).
	Retired bool
	// Humans includes people's accounts (excluded by default).
	Humans bool
	// System includes unused OS accounts (excluded by default).
	System bool
}

// Event kinds in an account's history.
const (
	EventAccountAppeared    = "account appeared"
	EventAccountGone        = "account gone"
	EventCredentialAppeared = "credential appeared"
	EventCredentialGone     = "credential gone"
	EventOwnerSet           = "owner set"
	EventOwnerUnset         = "owner unset"
	EventExceptionAdded     = "exception added"
	EventExceptionExpired   = "exception expired"
	EventExceptionClosed    = "exception closed"
	EventExceptionExtended  = "exception extended"
	EventTierChanged        = "tier changed"
	EventTagged             = "tags changed"
	EventCertIssued         = "certificate issued"
	EventCertRevoked        = "certificate revoked"
	EventStatusChanged      = "status changed"
	EventRetired            = "retired"
	EventUnretired          = "unretired"
	EventRegrouped          = "regrouped"
	EventPendingReview      = "pending review"
	EventRegistered         = "registered"
	EventPurposeSet         = "purpose set"
	EventKindChanged        = "kind changed"
)

// Event is one entry of a service account's history.
type Event struct {
	Time    time.Time `json:"time"`
	Account string    `json:"account"` // service account key
	Kind    string    `json:"kind"`
	Host    string    `json:"host,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Actor   string    `json:"actor,omitempty"`
}

// Exception accepts a static credential of an account until Expires.
type Exception struct {
	ID      string `json:"id"`
	Account string `json:"account"` // service account key
	// Credential limits the exception to one credential type (scan.Cred*);
	// empty covers all of the account's static credentials.
	Credential string     `json:"credential,omitempty"`
	Reason     string     `json:"reason"`
	Owner      string     `json:"owner"`
	Expires    time.Time  `json:"expires"`
	Created    time.Time  `json:"created"`
	CreatedBy  string     `json:"created_by,omitempty"`
	Closed     *time.Time `json:"closed,omitempty"`
	ClosedBy   string     `json:"closed_by,omitempty"`
	CloseNote  string     `json:"close_reason,omitempty"`
	// Extensions counts how often the exception's chain was extended
	// (ExtendException, or a new exception for the same account and
	// credential type while an earlier one was not closed); Extends names
	// that earlier exception. More than MaxExtensions is a violation.
	Extensions int    `json:"extensions,omitempty"`
	Extends    string `json:"extends,omitempty"`
	// BeyondPhase is set when an operator accepted an end after the tier's
	// phase end (--beyond-phase, with a reason).
	BeyondPhase bool `json:"beyond_phase,omitempty"`
}

// OverExtended reports whether an open exception was extended more than
// MaxExtensions times: a violation.
func (e Exception) OverExtended() bool {
	return e.Closed == nil && e.Extensions > MaxExtensions
}

// Valid reports whether the exception covers its credential at now.
func (e Exception) Valid(now time.Time) bool {
	return e.Closed == nil && now.Before(e.Expires)
}

// covers reports whether e is valid at now and covers credentials of type
// t: an exception that names no credential type covers them all.
func (e Exception) covers(t string, now time.Time) bool {
	return e.Valid(now) && (e.Credential == "" || e.Credential == t)
}

// Expired reports whether the exception ran out without being closed:
// such an exception is a violation until closed, or renewed by a newer
// valid exception covering the same credential type.
func (e Exception) Expired(now time.Time) bool {
	return e.Closed == nil && !now.Before(e.Expires)
}

// ExceptionFilter selects exceptions in ListExceptions.
type ExceptionFilter struct {
	Account string // NAME or NAME@ENV
	// ExpiringWithin > 0 keeps open exceptions expiring within that
	// duration from now, and those already expired.
	ExpiringWithin time.Duration
	// Closed includes closed exceptions.
	Closed bool
}

// SharedCredential is a fingerprint held by several hosts or accounts.
type SharedCredential struct {
	Fingerprint string `json:"fingerprint"`
	Type        string `json:"type"`
	// HolderCount counts every (host, account) holding it; Holders lists
	// at most the first 50.
	HolderCount int      `json:"holder_count"`
	Holders     []Holder `json:"holders"`
	// Accounts lists the service account keys involved.
	Accounts []string `json:"accounts"`
}

// Holder is one (host, account) holding a credential.
type Holder struct {
	Host    string `json:"host"`
	Account string `json:"account"`
}

// splitKey splits NAME@GROUP.
func splitKey(key string) (name, group string) {
	i := strings.LastIndexByte(key, '@')
	if i < 0 {
		return key, ""
	}
	return key[:i], key[i+1:]
}

// State says where an exception stands at now: closed, EXPIRED (a
// violation), expiring (within ExpiringWindow) or valid.
func (e Exception) State(now time.Time) string {
	switch {
	case e.Closed != nil:
		return "closed"
	case e.Expired(now):
		return "EXPIRED"
	case e.Expires.Sub(now) < ExpiringWindow:
		return "expiring"
	}
	return "valid"
}

// Regrouping says what a host tag change did to service accounts when
// env= moved instances between them ([Inventory.RetagHosts]).
type Regrouping struct {
	// Moved lists the service accounts every live instance of which moved
	// to one other key: the same service account under a new key, with its
	// owner, tags, tier override and exceptions.
	Moved []AccountMove `json:"moved,omitempty"`
	// NeedOwner lists the new accounts that received only some instances
	// of another and have no owner: each is an identity of its own and
	// needs one.
	NeedOwner []OwnerNeeded `json:"need_owner,omitempty"`
}

// AccountMove is a service account that moved as a whole from one key to
// another.
type AccountMove struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Carried says what followed it ("owner team-r, 1 exception(s)");
	// NotCarried what did not, because the account it joined has its own
	// ("owner team-r (svc@prod has team-p)").
	Carried    string `json:"carried,omitempty"`
	NotCarried string `json:"not_carried,omitempty"`
}

// OwnerNeeded is a service account without an owner whose name lives in
// another group, Sibling, owned by SiblingOwner when set: typically some
// of Sibling's instances moved to Account with a host's env= tag.
type OwnerNeeded struct {
	Account      string `json:"account"`
	Sibling      string `json:"sibling"`
	SiblingOwner string `json:"sibling_owner,omitempty"`
}

package api

import (
	"encoding/json"
	"net/url"
	"strconv"
	"time"
)

// AccountQuery is the query of GET /v1/accounts. Zero fields match all.
type AccountQuery struct {
	Tier    int    // only this impact tier, 1 to 4
	NoOwner bool   // only accounts without an owner
	Static  bool   // only accounts still holding a static credential
	Host    string // only accounts with a live instance on this host
	Env     string // only this environment (or group)
	// All also lists people's accounts and unused system accounts.
	All bool
	// Retired also lists retired accounts.
	Retired bool
}

// Values encodes q as the query parameters the server reads.
func (q AccountQuery) Values() url.Values {
	v := url.Values{}
	if q.Tier != 0 {
		v.Set("tier", strconv.Itoa(q.Tier))
	}
	setBool(v, "no_owner", q.NoOwner)
	setBool(v, "static", q.Static)
	setString(v, "host", q.Host)
	setString(v, "env", q.Env)
	setBool(v, "all", q.All)
	setBool(v, "retired", q.Retired)
	return v
}

func setBool(v url.Values, k string, b bool) {
	if b {
		v.Set(k, "true")
	}
}

func setString(v url.Values, k, s string) {
	if s != "" {
		v.Set(k, s)
	}
}

// AccountSummary is one service account as GET /v1/accounts lists it.
type AccountSummary struct {
	// Key is NAME@GROUP, unique; Name is the account name and Env its
	// environment (or the group an operator split it into).
	Key  string `json:"key"`
	Name string `json:"name"`
	Env  string `json:"env"`
	// Instances counts live instances; Hosts lists their host names (at
	// most the first 20).
	Instances int      `json:"instances"`
	Hosts     []string `json:"hosts,omitempty"`
	Owner     *Owner   `json:"owner,omitempty"`
	// Tier is the impact tier, 1 (privileged) to 4; TierReason says why and
	// TierOverride is true when an operator set it.
	Tier         int    `json:"tier"`
	TierReason   string `json:"tier_reason"`
	TierOverride bool   `json:"tier_override,omitempty"`
	// Strength is the level of the weakest live credential, by machine
	// name, weakest first: shared_secret, empty_password, static_password,
	// static_ssh_key, secret_file, long_lived_cert, short_lived_cert,
	// hardware_bound, or none. StrengthBy names the credential that sets it.
	Strength   string `json:"strength"`
	StrengthBy string `json:"strength_by,omitempty"`
	// Status is the migration status: static, exception, enrolled,
	// managed, lapsed, retired or none.
	Status           string `json:"status"`
	Static           int    `json:"static_credentials"`
	Privileged       bool   `json:"privileged"`
	SharedAcrossEnvs bool   `json:"shared_across_envs"`
	// PendingReview: a scan found the name in this environment while it
	// already was an identity in another (SharedAcrossEnvs is set too).
	PendingReview bool `json:"pending_review,omitempty"`
	Retired       bool `json:"retired"`
	Human         bool `json:"human,omitempty"`
	System        bool `json:"system,omitempty"`
	// Directory is true when every live instance was found in a directory
	// (scan kind "directory": Active Directory or LDAP, the host being the
	// domain) and no operator set the kind: a service account in every
	// count, tier and plan.
	Directory bool `json:"directory,omitempty"`
	// KindOverride is true when an operator set the kind (Human, System,
	// or neither) instead of the scan's kinds.
	KindOverride bool      `json:"kind_override,omitempty"`
	Tags         []string  `json:"tags,omitempty"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	// Purpose says what the account is for; PurposeFrom where it came
	// from: "operator" (roster account purpose), "passwd gecos on HOST"
	// or "unit NAME on HOST" (prefilled by scans).
	Purpose     string `json:"purpose,omitempty"`
	PurposeFrom string `json:"purpose_from,omitempty"`
	// Registered is set for an account registered by an operator
	// (POST /v1/accounts): it lives on a system no scan reaches.
	Registered *Registration `json:"registered,omitempty"`
}

// Account is the body of GET /v1/accounts/{name}: a service account with
// its instances and exceptions.
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
	// DirectoryEntries lists, by domain, what the newest directory scan
	// found of each live instance found in a directory (roster scan --ldap).
	DirectoryEntries []DirectoryEntry `json:"directory_entries,omitempty"`
}

// DirectoryEntry is an account's entry in one directory (Active Directory
// or plain LDAP) as the newest scan of its domain found it.
type DirectoryEntry struct {
	Domain      string     `json:"domain"`                // the instance's host: the domain the base DN names
	DN          string     `json:"dn"`                    // the entry's distinguished name
	ObjectClass string     `json:"object_class"`          // its most specific (structural) class
	SPNs        []string   `json:"spns,omitempty"`        // servicePrincipalName values (AD)
	Flags       []string   `json:"flags,omitempty"`       // userAccountControl flags (AD); LOCKED, PASSWORD_RESET (ppolicy)
	Managed     bool       `json:"managed,omitempty"`     // a managed service account: the domain rotates its password
	AdminCount  bool       `json:"admin_count,omitempty"` // adminCount=1 (AD)
	LastLogon   *time.Time `json:"last_logon,omitempty"`  // lastLogonTimestamp (AD), pwdLastSuccess (LDAP)
	Stale       bool       `json:"stale,omitempty"`       // no logon for 90 days
	// PasswordLastSet is pwdLastSet (AD), pwdChangedTime or
	// shadowLastChange (LDAP); PasswordAgeDays its age at the scan.
	PasswordLastSet      *time.Time `json:"password_last_set,omitempty"`
	PasswordAgeDays      *int       `json:"password_age_days,omitempty"`
	PasswordNeverExpires bool       `json:"password_never_expires,omitempty"`
	// PasswordScheme is the userPassword scheme ("{SSHA}", "cleartext")
	// when the scan could read it (LDAP); never the hash.
	PasswordScheme string `json:"password_scheme,omitempty"`
}

// Instance is one account on one host.
type Instance struct {
	Host    string `json:"host"`
	HostID  string `json:"host_id"`
	Account string `json:"account"`
	// ServiceAccount is the key (NAME@GROUP) of the service account the
	// instance belongs to.
	ServiceAccount string `json:"service_account"`
	// Data is the scan.Account of the newest report that found the
	// instance (package scan defines it; it is versioned with the report).
	Data      json.RawMessage `json:"data"`
	FirstSeen time.Time       `json:"first_seen"`
	LastSeen  time.Time       `json:"last_seen"`
	GoneAt    *time.Time      `json:"gone_at,omitempty"`
	Cert      *CertState      `json:"cert,omitempty"`
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
	// key theft.
	Previous        string     `json:"previous,omitempty"`
	ReuseDetectedAt *time.Time `json:"reuse_detected_at,omitempty"`
	ReuseSerial     string     `json:"reuse_serial,omitempty"`
}

// Event is one entry of GET /v1/accounts/{name}/history.
type Event struct {
	Time    time.Time `json:"time"`
	Account string    `json:"account"`
	Kind    string    `json:"kind"`
	Host    string    `json:"host,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Actor   string    `json:"actor,omitempty"`
}

// TagsRequest is the body of POST /v1/accounts/{name}/tags and
// POST /v1/hosts/{host}/tags.
type TagsRequest struct {
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
}

// TierRequest is the body of PUT /v1/accounts/{name}/tier; tier 0 clears
// the override.
type TierRequest struct {
	Tier   int    `json:"tier"`
	Reason string `json:"reason"`
}

// RetireRequest is the body of POST /v1/accounts/{name}/retire.
type RetireRequest struct {
	Reason string `json:"reason"`
}

// SplitRequest is the body of POST /v1/accounts/{name}/split: either the
// instance on Host moves into service account NAME@Env (Env defaults to
// Host), or, with Separate and neither Host nor Env, the account is
// confirmed as an identity of its own and nothing moves.
type SplitRequest struct {
	Host     string `json:"host,omitempty"`
	Env      string `json:"env,omitempty"`
	Separate bool   `json:"separate,omitempty"`
}

// UnretireRequest is the body of POST /v1/accounts/{name}/unretire.
type UnretireRequest struct {
	Reason string `json:"reason"`
}

// TagHostResponse answers POST /v1/hosts/{host}/tags: what an env= change
// did to service accounts. Moved are accounts every live instance of which
// moved, with their owner and exceptions; NeedOwner are new accounts that
// got only some instances of another and have no owner.
type TagHostResponse struct {
	Status    string        `json:"status"`
	Moved     []AccountMove `json:"moved,omitempty"`
	NeedOwner []OwnerNeeded `json:"need_owner,omitempty"`
}

// AccountMove is a service account that moved as a whole from one key to
// another; Carried says what followed it, NotCarried what did not because
// the account it joined has its own.
type AccountMove struct {
	From       string `json:"from"`
	To         string `json:"to"`
	Carried    string `json:"carried,omitempty"`
	NotCarried string `json:"not_carried,omitempty"`
}

// OwnerNeeded is a service account without an owner whose name lives in
// another group, Sibling (owned by SiblingOwner when set).
type OwnerNeeded struct {
	Account      string `json:"account"`
	Sibling      string `json:"sibling"`
	SiblingOwner string `json:"sibling_owner,omitempty"`
}

// SplitResponse names the service account split off.
type SplitResponse struct {
	Name string `json:"name"`
}

// MergeRequest is the body of POST /v1/accounts/{name}/merge: service
// account From merges into {name}.
type MergeRequest struct {
	From string `json:"from"`
}

// SharedCredential is one entry of GET /v1/credentials/shared: a
// fingerprint held by several hosts or accounts.
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

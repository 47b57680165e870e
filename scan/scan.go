// Package scan defines the host scan report: the JSON document that the
// discovery scanner writes, that roster-agent and `roster scan --submit` send,
// and that the inventory server ingests.
//
// The report is the contract between a host and the inventory. It is
// versioned by [SchemaVersion]: a reader accepts the versions it knows and
// refuses the others with a clear error; fields are only ever added, never
// renamed or given a new meaning within a version.
//
// A report never carries secret material. Passwords, password hashes, tokens
// and private keys appear only as keyed fingerprints ("hmac-sha256:" followed
// by base64url of HMAC-SHA256(key, secret)); SSH public keys appear as their
// standard "SHA256:" fingerprint, as ssh-keygen -l prints it.
//
// Host and account names follow the rules of package spiffeid, and every
// string is bounded and safe to print ([Validate] has the table of limits,
// [textout.UnsafeAt] says what is unsafe): [Decode] refuses a report that breaks
// them, and producers use [textout.Fit] so that theirs never do.
package scan

import (
	"strconv"
	"time"
)

// SchemaVersion is the version of the report format written by this code.
const SchemaVersion = 1

// Account kinds.
const (
	KindHuman   = "human"   // a person's interactive account
	KindService = "service" // a non-human account that something runs as or that holds machine credentials
	KindSystem  = "system"  // an OS account that nothing uses and that holds no credential
	// KindDirectory is a service account found in a directory (Active
	// Directory or LDAP, package directory): the report's host is the
	// domain and Account.Directory is set. (Added within schema version 1:
	// a server that predates it refuses such a report.)
	KindDirectory = "directory"
)

// Credential types.
const (
	CredPassword         = "password"           // usable password hash in shadow
	CredEmptyPassword    = "empty_password"     // empty shadow hash field: login without a password
	CredSSHAuthorizedKey = "ssh_authorized_key" // one authorized_keys line
	CredSSHPrivateKey    = "ssh_private_key"    // an unencrypted private key file
	CredSecretFile       = "secret_file"        // a credential file such as ~/.pgpass or a keytab
	CredSecretEnv        = "secret_env"         // a secret variable handed to a unit via Environment= or EnvironmentFile=
)

// Password statuses (Password.Status).
const (
	PasswordUsable  = "usable"  // a usable hash
	PasswordEmpty   = "empty"   // an empty hash field: login without a password
	PasswordLocked  = "locked"  // a "!"-prefixed hash, kept but not usable
	PasswordNone    = "none"    // no password ("*", "!", "!!")
	PasswordUnknown = "unknown" // no shadow entry, or shadow unreadable
)

// FingerprintPrefix starts every keyed secret fingerprint: it is followed by
// base64url of HMAC-SHA256(key, secret).
const FingerprintPrefix = "hmac-sha256:"

// Usage types.
const (
	UsageSystemd = "systemd"
	UsageCron    = "cron"
	UsageProcess = "process"
)

// Report is one scan of one host.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	Scanner       Scanner   `json:"scanner"`
	Host          Host      `json:"host"`
	Accounts      []Account `json:"accounts"`
	// Shared lists every fingerprint held by more than one credential in
	// this report (on two accounts, or twice on one).
	Shared   []SharedCredential `json:"shared_credentials"`
	Warnings []Warning          `json:"warnings"`
}

// Scanner names the program that produced the report.
type Scanner struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Host identifies the scanned host. All of it is read from the scanned
// root, never from the machine running the scan.
type Host struct {
	Hostname  string    `json:"hostname"`
	MachineID string    `json:"machine_id,omitempty"`
	OS        OS        `json:"os"`
	ScannedAt time.Time `json:"scanned_at"`
	// Root is the filesystem root that was scanned ("/" for a live scan).
	Root string `json:"root"`
	// Live is true when process and socket state was read from /proc.
	Live bool `json:"live"`
	// SSHD is sshd's certificate configuration (see [SSHD]); nil when
	// there is none. (Added within schema version 1.)
	SSHD *SSHD `json:"sshd,omitempty"`
}

// OS is the subset of os-release that identifies a distribution.
type OS struct {
	ID         string `json:"id,omitempty"`
	IDLike     string `json:"id_like,omitempty"`
	VersionID  string `json:"version_id,omitempty"`
	PrettyName string `json:"pretty_name,omitempty"`
}

// Account is one local account and everything the scan concluded about it.
type Account struct {
	Name         string   `json:"name"`
	UID          int      `json:"uid"`
	GID          int      `json:"gid"`
	PrimaryGroup string   `json:"primary_group,omitempty"`
	Groups       []string `json:"groups,omitempty"` // supplementary groups
	Home         string   `json:"home,omitempty"`
	Shell        string   `json:"shell,omitempty"`
	// GECOS is the passwd comment field (often the account's full name or
	// what it is for), command-line secrets redacted. (Added within schema
	// version 1: older reports omit it.)
	GECOS string `json:"gecos,omitempty"`
	// LoginShell is false for nologin, false and similar shells.
	LoginShell bool `json:"login_shell"`
	// Dynamic is true for an account that systemd allocates when a unit
	// with DynamicUser=yes starts: it is not in /etc/passwd, and its UID
	// and GID are -1 because they are not known from files.
	Dynamic bool `json:"dynamic,omitempty"`

	Kind         string   `json:"kind"` // KindHuman, KindService, KindSystem or KindDirectory
	KindEvidence []string `json:"kind_evidence"`

	// Privileged is true when the account is root-equivalent: UID 0,
	// membership of a group that gives root (sudo, wheel, admin, docker,
	// lxd, disk), a sudo rule that runs commands as another user, or a
	// systemd unit that runs it with such a group. PrivilegeReasons say
	// why, one reason per fact. Reading what only root should read is not
	// root-equivalent: that is SensitiveRead.
	Privileged       bool     `json:"privileged"`
	PrivilegeReasons []string `json:"privilege_reasons,omitempty"`
	// SensitiveRead is true when the account may read data that only
	// root should, without being root-equivalent: membership of adm
	// (system logs), shadow (password hashes) or systemd-journal (the
	// whole journal), a unit that runs it with one of these groups, or a
	// sudo rule that only adds one of them. SensitiveReadReasons say why.
	// Both are omitted when false; an account may be both Privileged and
	// SensitiveRead. (Added within schema version 1: before, these
	// reasons were privilege reasons.)
	SensitiveRead        bool       `json:"sensitive_read,omitempty"`
	SensitiveReadReasons []string   `json:"sensitive_read_reasons,omitempty"`
	Sudo                 []SudoRule `json:"sudo,omitempty"`

	Password    Password     `json:"password"`
	Credentials []Credential `json:"credentials,omitempty"`
	// UsedBy lists what runs as the account: enabled or instantiated
	// units (a template unit "name@.service" that nothing instantiates
	// runs nothing and is not listed), cron entries and live processes.
	UsedBy   []Usage  `json:"used_by,omitempty"`
	Exposure Exposure `json:"exposure"`
	// SSHCertLogin is set when the account logs in with SSH certificates
	// (see [SSHCertLogin]). (Added within schema version 1.)
	SSHCertLogin *SSHCertLogin `json:"ssh_certificate_login,omitempty"`

	// Directory is set for an account found in a directory (Active
	// Directory or LDAP, package directory); the report's host is then the
	// domain. Optional, so older servers ignore it.
	Directory *DirectoryAccount `json:"directory,omitempty"`
}

// DirectoryAccount is what a directory scan records of one account.
type DirectoryAccount struct {
	DN          string     `json:"dn"`
	ObjectClass string     `json:"object_class"`          // the most specific class: user, msDS-GroupManagedServiceAccount...
	SPNs        []string   `json:"spns,omitempty"`        // servicePrincipalName values
	Flags       []string   `json:"flags,omitempty"`       // userAccountControl flag names (DONT_EXPIRE_PASSWORD...)
	Managed     bool       `json:"managed,omitempty"`     // a managed service account: the domain rotates its password
	AdminCount  bool       `json:"admin_count,omitempty"` // adminCount=1: protected by AdminSDHolder now or once
	LastLogon   *time.Time `json:"last_logon,omitempty"`  // lastLogonTimestamp (replicated about weekly)
	Stale       bool       `json:"stale,omitempty"`       // no logon recorded for 90 days (or ever)
}

// Password describes the shadow entry without its hash.
type Password struct {
	// Status is one of the Password* constants: "usable", "empty",
	// "locked" (a "!"-prefixed hash, kept but not usable), "none" ("*",
	// "!", "!!"), or "unknown" (no shadow entry or shadow unreadable).
	Status string `json:"status"`
	// Algorithm of a usable or locked hash: yescrypt, sha512, sha256, md5,
	// bcrypt, des, or the raw "$id$" for others.
	Algorithm   string     `json:"algorithm,omitempty"`
	LastChanged *time.Time `json:"last_changed,omitempty"`
	AgeDays     *int       `json:"age_days,omitempty"`
	MaxDays     *int       `json:"max_days,omitempty"`
	// NeverExpires is true when the maximum age is empty or 99999.
	NeverExpires    bool       `json:"never_expires"`
	PasswordExpired bool       `json:"password_expired"`
	AccountExpires  *time.Time `json:"account_expires,omitempty"`
	AccountExpired  bool       `json:"account_expired"`
}

// SudoRule is what one sudoers rule lets the account do.
type SudoRule struct {
	Source     string   `json:"source"` // file:line in the scanned root
	Via        string   `json:"via"`    // "user", "%group", or "User_Alias NAME"
	Hosts      []string `json:"hosts"`
	RunAs      []string `json:"run_as"` // users it may run as (empty means root)
	RunAsGroup []string `json:"run_as_group,omitempty"`
	Commands   []string `json:"commands"`
	NoPassword bool     `json:"no_password"`
	// PasswordOf says whose password sudo asks for when NoPassword is
	// false: empty for the account's own, "target" (Defaults targetpw),
	// "root" (rootpw) or "runas_default" (runaspw). A rule that asks for
	// another account's password does not make this account privileged.
	PasswordOf string `json:"password_of,omitempty"`
}

// Credential is one static credential the account holds.
type Credential struct {
	Type string `json:"type"` // one of the Cred* constants
	// Location is a path in the scanned root, with ":LINE" where a line
	// is meaningful, or "unit NAME" for a unit's Environment=.
	Location string `json:"location"`
	// Name says which secret: the variable for secret_env, the file kind
	// for secret_file (pgpass, netrc, mycnf, aws, docker, git-credentials,
	// kubeconfig, keytab, env_file).
	Name        string     `json:"name,omitempty"`
	Fingerprint string     `json:"fingerprint"`
	Algorithm   string     `json:"algorithm,omitempty"` // hash algorithm or key type
	Bits        int        `json:"bits,omitempty"`
	Options     []string   `json:"options,omitempty"` // authorized_keys options, verbatim names with values
	ChangedAt   *time.Time `json:"changed_at,omitempty"`
	AgeDays     *int       `json:"age_days,omitempty"`
	Mode        string     `json:"mode,omitempty"` // octal file mode, "0600"
	// Findings are problems with this credential: "readable by others",
	// "readable by group", "shared", "no from= restriction", ...
	Findings []string `json:"findings,omitempty"`
	// Unit names the systemd unit for secret_env.
	Unit string `json:"unit,omitempty"`
}

// Usage is one thing that runs as the account.
type Usage struct {
	Type     string `json:"type"`               // one of the Usage* constants
	Name     string `json:"name"`               // unit name, cron source "file:line", or process name
	Detail   string `json:"detail,omitempty"`   // ExecStart=, the cron command, or the process command line (secrets redacted)
	Enabled  bool   `json:"enabled,omitempty"`  // systemd: linked from a *.wants directory
	Schedule string `json:"schedule,omitempty"` // cron schedule or @reboot
	PID      int    `json:"pid,omitempty"`      // the lowest PID when Count > 1
	Source   string `json:"source,omitempty"`   // file in the scanned root
	// Description is a systemd unit's Description=, secrets redacted.
	// (Added within schema version 1: older reports omit it.)
	Description string `json:"description,omitempty"`
	// Count is how many identical uses the entry stands for: uses equal
	// in every field but the PID (a pool of worker processes with one
	// command line) are one entry. Omitted (0) means one. (Added within
	// schema version 1.)
	Count int `json:"count,omitempty"`
}

// Uses returns how many uses u stands for: Count, or 1 when it is 0.
func (u Usage) Uses() int { return max(u.Count, 1) }

// SummarizeUsage describes uses for people, one "TYPE:NAME" per distinct
// type and name in first-seen order, with " ×N" when it stands for N > 1
// uses: "process:postgres ×5", "systemd:postgresql.service". Renderers use
// it so that a list never repeats an entry.
func SummarizeUsage(us []Usage) []string {
	var order []string
	counts := map[string]int{}
	for _, u := range us {
		k := u.Type + ":" + u.Name
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k] += u.Uses()
	}
	for i, k := range order {
		if n := counts[k]; n > 1 {
			order[i] = k + " ×" + strconv.Itoa(n)
		}
	}
	return order
}

// Exposure is how the account can be reached from elsewhere.
type Exposure struct {
	Listening []Socket `json:"listening,omitempty"`
	// SSH is true when the account can log in over SSH with a key or a
	// password (a login shell and an authorized key, usable password, or
	// an AuthorizedKeysCommand / TrustedUserCAKeys configuration).
	SSH        bool     `json:"ssh"`
	SSHReasons []string `json:"ssh_reasons,omitempty"`
}

// Socket is a listening socket owned by a process of the account.
type Socket struct {
	Proto    string `json:"proto"` // tcp, tcp6, udp, udp6
	Address  string `json:"address"`
	Port     int    `json:"port"`
	Loopback bool   `json:"loopback"`
	PID      int    `json:"pid,omitempty"`
	Process  string `json:"process,omitempty"`
}

// SharedCredential is a fingerprint found on more than one credential.
type SharedCredential struct {
	Fingerprint string   `json:"fingerprint"`
	Type        string   `json:"type"`
	Accounts    []string `json:"accounts"`
	Locations   []string `json:"locations"`
}

// Warning is something the scanner could not read or parse. It never
// quotes secret material.
type Warning struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// FIDO security key types of SSH (ssh-keygen -t ed25519-sk / ecdsa-sk).
const (
	KeyAlgoSKEd25519  = "sk-ssh-ed25519@openssh.com"
	KeyAlgoSKECDSA256 = "sk-ecdsa-sha2-nistp256@openssh.com"
)

// IsFIDOKey reports whether a credential's Algorithm names a FIDO security
// key: a key that cannot leave its hardware and needs a touch to sign.
func IsFIDOKey(algorithm string) bool {
	return algorithm == KeyAlgoSKEd25519 || algorithm == KeyAlgoSKECDSA256
}

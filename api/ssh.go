package api

import "time"

// SSHRoots is GET /ssh/roots: the CA's SSH public keys, each an
// authorized_keys line ("ssh-ed25519 AAAA..."). User CA keys are what sshd's
// TrustedUserCAKeys lists; host CA keys are what a client's known_hosts
// trusts with "@cert-authority * LINE".
type SSHRoots struct {
	User []string `json:"user"`
	Host []string `json:"host"`
}

// SSHSignRequest is POST /v1/ssh/sign, sent over mTLS with the identity's
// current X.509 certificate (so every gate of a renewal applies). PublicKey
// is an authorized_keys line of a key generated on the host. Type is
// "user" (the default: a user certificate for the identity's account) or
// "host" (the host identity only: a host certificate for one of the host's
// own host keys).
type SSHSignRequest struct {
	PublicKey string `json:"public_key"`
	Type      string `json:"type,omitempty"`
}

// SSH certificate types in [SSHSignRequest].
const (
	SSHCertUser = "user"
	SSHCertHost = "host"
)

// SSHSignResponse is the answer to POST /v1/ssh/sign. Certificate is the
// "...-cert-v01@openssh.com AAAA..." line; UserCA and HostCA are the CA
// keys as authorized_keys lines (a client trusts hosts with
// "@cert-authority * " + HostCA). Serial, ValidAfter and ValidBefore repeat
// what the certificate says, for the agent's schedule and status.
type SSHSignResponse struct {
	Certificate string    `json:"certificate"`
	UserCA      string    `json:"user_ca"`
	HostCA      string    `json:"host_ca"`
	Serial      uint64    `json:"serial"`
	ValidAfter  time.Time `json:"valid_after"`
	ValidBefore time.Time `json:"valid_before"`
}

// SSHHostConfig is GET /v1/ssh/host-config, asked for over mTLS by a host
// identity: what its sshd needs to accept roster's user certificates,
// built from the grants whose target is this host (or its environment).
// The agent writes TrustedUserCAKeys to the file sshd's TrustedUserCAKeys
// names, one principals file per account (sshd's AuthorizedPrincipalsFile
// .../principals/%u) with that account's principals, one per line, and
// removes the principals files of accounts no longer listed. The KRL comes
// from GET /ssh/krl.
type SSHHostConfig struct {
	Host              string   `json:"host"`
	TrustedUserCAKeys []string `json:"trusted_user_ca_keys"`
	// Principals maps a local account name to the principals that may log
	// in as it: the service account keys (NAME@ENV) of the granted
	// identities, sorted. An account without grants is absent.
	Principals map[string][]string `json:"principals"`
}

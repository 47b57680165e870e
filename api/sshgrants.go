package api

import "time"

// SSHGrantRequest is POST /v1/ssh/grants (roster ssh allow) and POST
// /v1/ssh/grants/remove (roster ssh deny): the service account Identity
// (NAME or NAME@ENV) may log in as the local account As on Host, or on
// every host of Env (exactly one of the two).
type SSHGrantRequest struct {
	Identity string `json:"identity"`
	As       string `json:"as"`
	Host     string `json:"host,omitempty"`
	Env      string `json:"env,omitempty"`
}

// SSHGrant is one grant; Identity is the service account key NAME@ENV,
// the principal of its SSH user certificates.
type SSHGrant struct {
	Identity  string    `json:"identity"`
	As        string    `json:"as"`
	Host      string    `json:"host,omitempty"`
	Env       string    `json:"env,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// SSHPolicyRequest is PUT /v1/accounts/{name}/ssh-policy: the extensions
// the account's SSH user certificates carry, by name (pty,
// port-forwarding, agent-forwarding, x11-forwarding, user-rc; empty for
// none). SourceAddress asks for the source-address critical option.
type SSHPolicyRequest struct {
	Permit        []string `json:"permit"`
	SourceAddress bool     `json:"source_address,omitempty"`
}

// SSHPolicy is an account's SSH policy.
type SSHPolicy struct {
	Account string    `json:"account"`
	Permit  []string  `json:"permit"`
	SetAt   time.Time `json:"set_at,omitzero"`
	SetBy   string    `json:"set_by,omitempty"`
}

// SSHMigration is GET /v1/ssh/migration?account=A&host=H (roster ssh
// migrate): the static authorized_keys entries of local account Account
// on Host, and the holders of their private keys the inventory knows.
type SSHMigration struct {
	Account        string            `json:"account"`
	ServiceAccount string            `json:"service_account"`
	Host           string            `json:"host"`
	Env            string            `json:"env"`
	Keys           []SSHMigrationKey `json:"keys"`
	Granted        []string          `json:"granted"`
}

// SSHMigrationKey is one authorized_keys entry (Location PATH:LINE).
type SSHMigrationKey struct {
	Location    string      `json:"location"`
	Fingerprint string      `json:"fingerprint"`
	Algorithm   string      `json:"algorithm,omitempty"`
	Clients     []SSHClient `json:"clients"`
}

// SSHClient holds the private key of an authorized_keys entry.
type SSHClient struct {
	Host           string `json:"host"`
	Account        string `json:"account"`
	ServiceAccount string `json:"service_account"`
}

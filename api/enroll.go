package api

import "time"

// EnrollmentRequest is the body of POST /v1/enrollments: a one-time
// enrollment token for Account on Host (Account "" for the host identity),
// usable for Valid (a Go duration such as "15m"; empty for the default).
type EnrollmentRequest struct {
	Host    string `json:"host"`
	Account string `json:"account"`
	Valid   string `json:"valid,omitempty"`
}

// Enrollment is the body of POST /v1/enrollments (201): what an operator
// hands to the agent, and the command to run on the host.
type Enrollment struct {
	// Token is the one-time secret; the server keeps only its hash.
	Token           string    `json:"token"`
	RootFingerprint string    `json:"root_fingerprint"`
	ExpiresAt       time.Time `json:"expires_at"`
	Identity        string    `json:"identity"`
	Command         string    `json:"command,omitempty"`
}

// EnrollRequest is the body of POST /v1/enroll (step-compatible): the
// one-time token and a PEM certificate request. OTT is accepted as step-ca's
// name for the token.
type EnrollRequest struct {
	Token string `json:"token"`
	OTT   string `json:"ott,omitempty"`
	CSR   string `json:"csr"`
	// ServerAuth asks for the serverAuth extended key usage too.
	ServerAuth bool `json:"server_auth,omitempty"`
}

// RekeyRequest is the body of POST /1.0/rekey and /rekey: a PEM
// certificate request for the new key. POST /1.0/renew and /renew take no
// body: the client certificate is the request.
type RekeyRequest struct {
	CSR string `json:"csr"`
}

// SignResponse is step-ca's sign/renew/rekey response, the body of
// POST /v1/enroll, /1.0/renew, /renew, /1.0/rekey and /rekey (201): PEM
// strings of the leaf, the issuing CA, and the chain, leaf first.
type SignResponse struct {
	Crt       string   `json:"crt"`
	CA        string   `json:"ca"`
	CertChain []string `json:"certChain"`
}

// RevokeRequest is the body of POST /v1/revocations: a serial (decimal, as
// roster prints it), or an identity: Account on Host, the host identity
// (Host only), or Account on every host (Account only).
type RevokeRequest struct {
	Host    string `json:"host"`
	Account string `json:"account"`
	Serial  string `json:"serial"`
	Reason  string `json:"reason"`
}

// RevokeResponse lists the serials revoked: X.509 certificates, and the
// SSH certificates of the identities revoked.
type RevokeResponse struct {
	Serials    []string `json:"serials"`
	SSHSerials []string `json:"ssh_serials,omitempty"`
}

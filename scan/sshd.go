package scan

// SSHD is what the host's sshd configuration says about certificate
// logins (Host.SSHD). It is omitted when the host has no sshd_config or
// sets none of these keywords. (Added within schema version 1: older
// reports omit it, and readers that do not know it ignore it.)
//
// Values are the global ones, as sshd applies them to a connection that no
// Match block selects: the first value of a keyword wins. A Match block
// that sets one of these keywords is listed in MatchBlocks with the
// keywords it sets, so a reader sees that some connections get other values.
type SSHD struct {
	// TrustedUserCAKeysFile is the TrustedUserCAKeys path; TrustedUserCAKeys
	// the CA public keys it holds (public keys are not secrets).
	TrustedUserCAKeysFile string   `json:"trusted_user_ca_keys_file,omitempty"`
	TrustedUserCAKeys     []SSHKey `json:"trusted_user_ca_keys,omitempty"`
	// AuthorizedPrincipalsFile is the pattern (%u, %h, %%) as configured;
	// the principals it grants are on each account (Account.SSHCertLogin).
	AuthorizedPrincipalsFile string       `json:"authorized_principals_file,omitempty"`
	RevokedKeys              *RevokedKeys `json:"revoked_keys,omitempty"`
	// HostCertificates are the HostCertificate paths, all of them (sshd
	// takes every line of this keyword).
	HostCertificates []string     `json:"host_certificates,omitempty"`
	MatchBlocks      []MatchBlock `json:"match_blocks,omitempty"`
}

// SSHKey is one SSH public key: its type ("ssh-ed25519") and SHA256
// fingerprint as ssh-keygen -l prints it, and where it was read (FILE:LINE).
type SSHKey struct {
	Type        string `json:"type"`
	Fingerprint string `json:"fingerprint"`
	Location    string `json:"location,omitempty"`
}

// RevokedKeys formats.
const (
	RevokedKRL     = "krl"   // an OpenSSH key revocation list (by its magic header; not parsed further)
	RevokedKeyList = "keys"  // a list of public keys
	RevokedEmpty   = "empty" // an empty file
)

// RevokedKeys describes sshd's RevokedKeys file.
type RevokedKeys struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	Size   int64  `json:"size,omitempty"`
	// Format is RevokedKRL, RevokedKeyList or RevokedEmpty; empty when the
	// file is missing or unreadable.
	Format string `json:"format,omitempty"`
}

// MatchBlock is one sshd Match block: where it starts, its criteria, and
// the keywords roster records that it sets (lower case).
type MatchBlock struct {
	Location string   `json:"location"`
	Criteria string   `json:"criteria"`
	Sets     []string `json:"sets,omitempty"`
}

// SSHCertLogin says that an account logs in with SSH certificates: the
// host's sshd trusts a user CA (CAFingerprints, the SHA256 fingerprints of
// Host.SSHD.TrustedUserCAKeys) and its AuthorizedPrincipalsFile, expanded
// for the account (PrincipalsFile), lists Principals. It is not a static
// credential. (Added within schema version 1, as Account.SSHCertLogin.)
type SSHCertLogin struct {
	PrincipalsFile string   `json:"principals_file"`
	Principals     []string `json:"principals"`
	CAFingerprints []string `json:"ca_fingerprints"`
}

// CredSSHCertificateLogin is the name the inventory gives an SSH
// certificate login (Account.SSHCertLogin) in its strength reasons. It is
// not a Credential type: reports carry it in its own field, so that a
// reader that does not know it still accepts the report.
const CredSSHCertificateLogin = "ssh_certificate_login"

package api

// SSHRoots is GET /ssh/roots: the CA's SSH public keys, each an
// authorized_keys line ("ssh-ed25519 AAAA..."). User CA keys are what sshd's
// TrustedUserCAKeys lists; host CA keys are what a client's known_hosts
// trusts with "@cert-authority * LINE".
type SSHRoots struct {
	User []string `json:"user"`
	Host []string `json:"host"`
}

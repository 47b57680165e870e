package discovery

import "github.com/rosterhq/roster/inventory/scan"

// sshdConfig is the part of sshd's configuration that decides who may log in.
type sshdConfig struct {
	AuthorizedKeysFiles                                                                           []string // raw patterns (%h %u %%); defaults applied when absent
	AuthorizedKeysCommand, AuthorizedKeysCommandUser, TrustedUserCAKeys, AuthorizedPrincipalsFile string
	PasswordAuthentication                                                                        bool
	PermitRootLogin                                                                               string
	Found                                                                                         bool // an sshd_config exists
}

func readSSHDConfig(r *Root, w *warnings) sshdConfig { return sshdConfig{} }

func (c sshdConfig) authorizedKeysPaths(user, home string) []string { return nil }

func readAuthorizedKeys(r *Root, path string, w *warnings) []scan.Credential { return nil }

func readPrivateKeys(r *Root, home string, fp *Fingerprinter, w *warnings) []scan.Credential {
	return nil
}

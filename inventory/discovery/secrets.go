package discovery

import "github.com/rosterhq/roster/inventory/scan"

func readSecretFiles(r *Root, home string, fp *Fingerprinter, w *warnings) []scan.Credential {
	return nil
}

// ownedCredential is a credential in a system file, owned by the file's uid.
type ownedCredential struct {
	UID  int
	Cred scan.Credential
}

func readSystemSecrets(r *Root, fp *Fingerprinter, w *warnings) []ownedCredential { return nil }

// Package certutil holds the certificate helpers that both sides of roster
// use: the agent on the host and the CA on the server. Standard library
// only, so that the agent may import it without linking server code.
//
// Start with [Fingerprint], the one way roster names a root certificate.
package certutil

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
)

// Fingerprint is the lowercase hex SHA-256 of a certificate's DER, as
// `step certificate fingerprint` prints it and as `roster enroll` and
// `roster-agent enroll --root-fingerprint` exchange it.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

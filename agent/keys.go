package agent

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
)

// Key types accepted by [GenerateKey].
const (
	KeyECDSA   = "ecdsa"   // P-256, the default
	KeyEd25519 = "ed25519" // Ed25519
	KeyRSA     = "rsa"     // RSA 3072
)

// GenerateKey creates a private key of the given type on this host; an
// empty type means [KeyECDSA].
func GenerateKey(keyType string) (crypto.Signer, error) {
	switch keyType {
	case "", KeyECDSA:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case KeyRSA:
		return rsa.GenerateKey(rand.Reader, 3072)
	default:
		return nil, fmt.Errorf("key type %q: want %s, %s or %s", keyType, KeyECDSA, KeyEd25519, KeyRSA)
	}
}

// keyTypeOf names the type of an existing key, so that a rekey keeps it.
func keyTypeOf(k crypto.Signer) string {
	switch k.(type) {
	case ed25519.PrivateKey:
		return KeyEd25519
	case *rsa.PrivateKey:
		return KeyRSA
	default:
		return KeyECDSA
	}
}

// newCSR returns a DER certificate request signed by key. It names nothing:
// the server takes the identity from the token or the current certificate,
// never from the request.
func newCSR(key crypto.Signer) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate request: %w", err)
	}
	return der, nil
}

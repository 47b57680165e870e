package discovery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"github.com/rosterhq/roster/scan"
)

// FingerprintPrefix starts every keyed secret fingerprint; it is
// [scan.FingerprintPrefix].
const FingerprintPrefix = scan.FingerprintPrefix

// Fingerprinter turns secret values into keyed fingerprints: equal secrets
// give equal fingerprints under one key, and nothing about a secret can be
// learnt from its fingerprint without the key.
type Fingerprinter struct {
	key []byte
}

// NewFingerprinter returns a Fingerprinter for key, which must hold at least
// 16 bytes.
func NewFingerprinter(key []byte) (*Fingerprinter, error) {
	if len(key) < 16 {
		return nil, errors.New("fingerprint key must be at least 16 bytes")
	}
	return &Fingerprinter{key: append([]byte(nil), key...)}, nil
}

// Secret returns the fingerprint of one secret value. The kind ("password",
// "env", "pgpass", ...) is not mixed in, so the same secret found in a
// shadow hash and a unit's environment is not recognised as equal, but the
// same password in .pgpass on two hosts is.
func (f *Fingerprinter) Secret(secret []byte) string {
	m := hmac.New(sha256.New, f.key)
	m.Write(secret)
	return FingerprintPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Package catest runs a real, in-process roster CA (the embedded smallstep
// authority over a bbolt database) in a test's temporary directory.
//
// Start with [New]; [Key] and [CSR] make requester keys and certificate
// requests. Nothing here is a fake: tests of the issuer and the agent sign,
// renew and revoke against the same code the server runs.
package catest

import (
	"crypto"
	"crypto/x509"
	"testing"
	"time"

	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/ca/internal/csrtest"
)

// Options adjust [New]. Zero fields take test-friendly defaults: trust
// domain roster.local, default validity 1h, minimum validity 1s, maximum
// 24h.
type Options struct {
	TrustDomain string
	ca.Options
}

// New initialises a CA in t.TempDir(), opens it and closes it at cleanup.
func New(t testing.TB, o Options) *ca.CA {
	t.Helper()
	return NewIn(t, t.TempDir(), o)
}

// NewIn is [New] in a given directory (which must not hold a CA yet).
func NewIn(t testing.TB, dir string, o Options) *ca.CA {
	t.Helper()
	if err := ca.Init(dir, ca.InitOptions{TrustDomain: o.TrustDomain, Passphrase: o.Passphrase}); err != nil {
		t.Fatalf("catest: init: %v", err)
	}
	if o.MinValidity == 0 {
		o.MinValidity = time.Second
	}
	c, err := ca.Open(dir, o.Options)
	if err != nil {
		t.Fatalf("catest: open: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("catest: close: %v", err)
		}
	})
	return c
}

// Key generates a requester key: "EC" (P-256), "OKP" (Ed25519) or "RSA"
// with the given size.
func Key(t testing.TB, kty string, size int) crypto.Signer { return csrtest.Key(t, kty, size) }

// CSR creates a certificate request signed by key, asking for common name
// cn and whatever SANs are given (DNS names, IPs, spiffe:// or other URIs):
// the CA must ignore them all.
func CSR(t testing.TB, key crypto.Signer, cn string, sans ...string) *x509.CertificateRequest {
	return csrtest.CSR(t, key, cn, sans...)
}

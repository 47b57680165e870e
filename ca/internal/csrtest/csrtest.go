// Package csrtest makes requester keys and certificate requests for tests of
// the ca package and of its users (through ca/catest). It does not import ca,
// so ca's own tests can use it.
package csrtest

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/url"
	"testing"

	"go.step.sm/crypto/keyutil"
)

// Key generates a requester key: "EC" (P-256), "OKP" (Ed25519) or "RSA"
// with the given size.
func Key(t testing.TB, kty string, size int) crypto.Signer {
	t.Helper()
	crv := ""
	switch kty {
	case "EC":
		crv = "P-256"
	case "OKP":
		crv = "Ed25519"
	}
	k, err := keyutil.GenerateSigner(kty, crv, size)
	if err != nil {
		t.Fatalf("catest: generate %s key: %v", kty, err)
	}
	return k
}

// CSR creates a certificate request signed by key, asking for common name
// cn and whatever SANs are given (DNS names, IPs, spiffe:// or other URIs):
// the CA must ignore them all.
func CSR(t testing.TB, key crypto.Signer, cn string, sans ...string) *x509.CertificateRequest {
	t.Helper()
	tpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			tpl.IPAddresses = append(tpl.IPAddresses, ip)
		} else if u, err := url.Parse(s); err == nil && u.Scheme != "" {
			tpl.URIs = append(tpl.URIs, u)
		} else {
			tpl.DNSNames = append(tpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tpl, key)
	if err != nil {
		t.Fatalf("catest: create csr: %v", err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatalf("catest: parse csr: %v", err)
	}
	return csr
}

package issuer

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
)

// ErrUnknownCertificate: a batch renewal entry names a serial this CA
// never issued; the server answers 404.
var ErrUnknownCertificate = errors.New("no certificate with this serial was issued by this CA")

// RenewOnHost is one entry of a batch renewal (POST /v1/renew-batch) made
// by host's identity over mTLS: it renews the certificate with this
// decimal serial, which must name an identity on host (else a
// [*DeniedError]), once csr, signed by that certificate's key, proves the
// caller holds it (else a [*RequestError] for a bad request, an
// [*AuthError] for another key). Then it is exactly [Issuer.Renew] with
// that certificate presented: expiry, revocation, eligibility, the
// idempotency and the reuse rule, and their audit. It returns the identity
// renewed (empty when the serial names none on host).
func (i *Issuer) RenewOnHost(ctx context.Context, host, serial string, csr *x509.CertificateRequest) (ID, []*x509.Certificate, error) {
	leaf, err := i.ca.Certificate(serial)
	if errors.Is(err, ca.ErrUnknownSerial) {
		err = fmt.Errorf("certificate %s: %w", serial, ErrUnknownCertificate)
		i.refused(ctx, audit.ActionCertRenew, ID{Host: host}, serial, err)
		return ID{}, nil, err
	}
	if err != nil {
		return ID{}, nil, fmt.Errorf("issuer: renew %s: %w", serial, err)
	}
	id, err := idFromCert(leaf)
	if err != nil || id.TrustDomain != i.ca.TrustDomain() || id.Host != host {
		err := &DeniedError{Host: host, Reason: fmt.Sprintf("certificate %s is not of an identity on host %s", serial, host),
			HintText: "a host renews only its own identities in a batch; renew others with their own certificate (POST /1.0/renew)"}
		i.refused(ctx, audit.ActionCertRenew, ID{Host: host}, serial, err)
		return ID{}, nil, err
	}
	if err := checkCSR(csr); err != nil {
		i.refused(ctx, audit.ActionCertRenew, id, serial, err)
		return id, nil, err
	}
	if !publicKeysEqual(leaf.PublicKey, csr.PublicKey) {
		err := &AuthError{Reason: fmt.Sprintf("the request for certificate %s of %s is not signed by that certificate's key", serial, id.Label()),
			HintText: "sign the entry's CSR with the key of the certificate it renews", Err: ca.ErrUntrusted}
		i.refused(ctx, audit.ActionCertRenew, id, serial, err)
		return id, nil, err
	}
	chain, err := i.renew(ctx, []*x509.Certificate{leaf}, nil)
	return id, chain, err
}

package issuer

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/rosterhq/roster/internal/textout"
)

// ParseCSR decodes one PEM "CERTIFICATE REQUEST" (or "NEW CERTIFICATE
// REQUEST") block. Only whitespace may surround the block. It does not
// check the signature: the [Issuer] does, once, when it uses the request
// (an ECDSA verification is a fifth of a batch renewal's CPU).
func ParseCSR(b []byte) (*x509.CertificateRequest, error) {
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("PEM block is %q, want CERTIFICATE REQUEST", textout.Fit(block.Type, 80))
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errors.New("data after the PEM block")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a certificate request: %w", err)
	}
	return csr, nil
}

package ca

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smallstep/certificates/authority/provisioner"
	"go.step.sm/crypto/keyutil"
	"go.step.sm/crypto/pemutil"
	"go.step.sm/crypto/x509util"
)

// ServerValidity is the lifetime of the HTTPS listener's certificate; it is
// reissued by [CA.ServerCertificate] once less than a third remains.
const ServerValidity = 30 * 24 * time.Hour

// serverTemplate is the x509util template of the listener certificate.
const serverTemplate = `{
	"subject": {"commonName": {{ toJson .Subject.CommonName }}},
	"sans": {{ toJson .SANs }},
	"keyUsage": ["digitalSignature"],
	"extKeyUsage": ["serverAuth"],
	"basicConstraints": {"isCA": false}
}`

// ServerCertificate returns the HTTPS listener's certificate (leaf and
// intermediate) for names (DNS names or IP addresses; default the names
// given at [Init], else localhost and 127.0.0.1). It reuses DIR/server.crt
// when that was issued by the current intermediate for the same names and
// has more than a third of its lifetime left; otherwise it issues a new one
// with a new key and stores it.
func (c *CA) ServerCertificate(names []string) (*tls.Certificate, error) {
	if len(names) == 0 {
		names = c.m.ServerNames
	}
	if len(names) == 0 {
		names = []string{"localhost", "127.0.0.1"}
	}
	want := slices.Clone(names)
	slices.Sort(want)
	want = slices.Compact(want)

	c.serverMu.Lock()
	defer c.serverMu.Unlock()
	crtPath := filepath.Join(c.dir, serverCertFile)
	keyPath := filepath.Join(c.dir, serverKeyFile)
	// A missing, damaged or mismatched pair is replaced, not fatal.
	if tc, err := tls.LoadX509KeyPair(crtPath, keyPath); err == nil && c.serverCertUsable(tc.Leaf, want) {
		return &tc, nil
	}
	return c.issueServerCert(want, crtPath, keyPath)
}

func (c *CA) serverCertUsable(leaf *x509.Certificate, want []string) bool {
	if leaf == nil || leaf.CheckSignatureFrom(c.inter) != nil {
		return false
	}
	if !slices.Equal(certNames(leaf), want) {
		return false
	}
	now := c.now()
	return now.After(leaf.NotBefore) && !renewDue(leaf, now)
}

// renewDue reports whether the server certificate leaf has a third of its
// life or less left at now.
func renewDue(leaf *x509.Certificate, now time.Time) bool {
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return !now.Before(leaf.NotAfter.Add(-life / 3))
}

func certNames(leaf *x509.Certificate) []string {
	var out []string
	out = append(out, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		out = append(out, ip.String())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (c *CA) issueServerCert(names []string, crtPath, keyPath string) (*tls.Certificate, error) {
	for _, n := range names {
		if net.ParseIP(n) == nil && !validDNSName(n) {
			return nil, fmt.Errorf("ca: server certificate: name %q is neither an IP address nor a DNS name", n)
		}
	}
	key, err := keyutil.GenerateDefaultSigner()
	if err != nil {
		return nil, fmt.Errorf("ca: server key: %w", err)
	}
	csr, err := x509util.CreateCertificateRequest(names[0], nil, key)
	if err != nil {
		return nil, fmt.Errorf("ca: server csr: %w", err)
	}
	data := x509util.CreateTemplateData(names[0], names)
	now := c.now()
	chain, err := c.auth.SignWithContext(context.Background(), csr, provisioner.SignOptions{},
		templateOption{text: serverTemplate, data: data},
		validityModifier{notBefore: now.Add(-c.opts.Backdate), notAfter: now.Add(ServerValidity)},
	)
	if err != nil {
		return nil, fmt.Errorf("ca: issue server certificate: %w", err)
	}
	block, err := pemutil.Serialize(key, pemutil.WithPKCS8(true))
	if err != nil {
		return nil, fmt.Errorf("ca: encode server key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(block)
	crtPEM := certPEM(chain...)
	if err := writeFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFile(crtPath, crtPEM, 0o644); err != nil {
		return nil, err
	}
	tc, err := tls.X509KeyPair(crtPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("ca: server certificate: %w", err)
	}
	return &tc, nil
}

// ServerCertPath is DIR/server.crt (leaf and intermediate, PEM).
func (c *CA) ServerCertPath() string { return filepath.Join(c.dir, serverCertFile) }

func validDNSName(n string) bool {
	if n == "" || len(n) > 253 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '*') {
			return false
		}
	}
	return true
}

// ServerTLSConfig is a TLS configuration for the HTTPS listener: TLS 1.2 or
// later, the certificate from [CA.ServerCertificate] (re-issued in the
// background of a handshake once a third of its life is left, so a server
// running for months never serves an expired certificate), and client
// certificates requested but not verified by the TLS stack - the issuer
// verifies them against this CA for the endpoints that need them - and no
// session tickets: a resumed session would carry the client certificate of
// an earlier handshake, and a renewal must authenticate with the one the
// client holds now. (Agents never resume anyway; the tickets only cost
// every handshake an encryption and a write.)
//
// Do not add Certificates to the returned config: Go prefers them over
// GetCertificate for clients that send no SNI (connections by IP address),
// which would stop the in-flight renewal.
func (c *CA) ServerTLSConfig(names []string) (*tls.Config, error) {
	first, err := c.ServerCertificate(names)
	if err != nil {
		return nil, err
	}
	var cur atomic.Pointer[tls.Certificate]
	cur.Store(first)
	var renewing sync.Mutex
	get := func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		tc := cur.Load()
		if !renewDue(tc.Leaf, c.now()) {
			return tc, nil
		}
		if !renewing.TryLock() {
			return tc, nil // another handshake is renewing it
		}
		defer renewing.Unlock()
		n, err := c.ServerCertificate(names)
		if err != nil {
			slog.Error("server certificate renewal failed", slog.String("error", err.Error()),
				slog.Time("not_after", tc.Leaf.NotAfter))
			return tc, nil
		}
		cur.Store(n)
		return n, nil
	}
	cfg := ListenerTLSConfig()
	cfg.GetCertificate = get
	return cfg, nil
}

// ListenerTLSConfig is the part of [CA.ServerTLSConfig] that does not
// depend on the CA: the protocol settings, without a certificate.
func ListenerTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:             tls.VersionTLS12,
		ClientAuth:             tls.RequestClientCert,
		SessionTicketsDisabled: true,
	}
}

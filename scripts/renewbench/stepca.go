package main

// Setting up step-ca to measure beside roster: `renewbench stepca-init`
// writes a CA directory for a step-ca binary built elsewhere (it is not a
// dependency of roster: scripts/bench-renew.sh --with-step-ca builds
// v0.30.2 in a throwaway module), and `renewbench stepca-enroll` gets
// identities from the running step-ca through its JWK provisioner, in the
// layout renewbench renews (agent.DirStore: cert.pem, key.pem, root.pem).

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.step.sm/crypto/jose"

	"github.com/rosterhq/roster/agent"
)

// The files stepca-init writes in its directory.
const (
	stepConfig   = "ca.json"
	stepRoot     = "root.crt"
	stepInter    = "intermediate.crt"
	stepInterKey = "intermediate.key"
	stepJWK      = "provisioner.jwk" // the provisioner's private key, for stepca-enroll
	stepProvName = "bench"
)

// stepcaInit writes a root, an intermediate and ca.json with one JWK
// provisioner (certificates of 1 h, as roster's default) and a bbolt
// database, for step-ca listening on --listen.
func stepcaInit(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("renewbench stepca-init", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory to write the CA into (created)")
	listen := fs.String("listen", "127.0.0.1:9443", "the address step-ca will listen on")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("stepca-init: %w (flags: --dir --listen)", err)
	}
	if *dir == "" {
		return errors.New("stepca-init: --dir is required")
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("stepca-init: --listen %q: %w", *listen, err)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return fmt.Errorf("stepca-init: %w", err)
	}
	now := time.Now()
	rootKey, root, err := selfSigned("step-ca bench root", now)
	if err != nil {
		return fmt.Errorf("stepca-init: %w", err)
	}
	interKey, inter, err := issueCA("step-ca bench intermediate", root, rootKey, now)
	if err != nil {
		return fmt.Errorf("stepca-init: %w", err)
	}
	jwk, err := jose.GenerateJWK("EC", "P-256", "ES256", "sig", "", 0)
	if err != nil {
		return fmt.Errorf("stepca-init: provisioner key: %w", err)
	}
	pub := jwk.Public()
	keyDER, err := x509.MarshalECPrivateKey(interKey)
	if err != nil {
		return fmt.Errorf("stepca-init: %w", err)
	}
	priv, err := json.Marshal(jwk)
	if err != nil {
		return fmt.Errorf("stepca-init: %w", err)
	}
	config := map[string]any{
		"root":     filepath.Join(*dir, stepRoot),
		"crt":      filepath.Join(*dir, stepInter),
		"key":      filepath.Join(*dir, stepInterKey),
		"address":  *listen,
		"dnsNames": []string{host, "localhost"},
		"logger":   map[string]any{"format": "text"},
		"db":       map[string]any{"type": "bbolt", "dataSource": filepath.Join(*dir, "db")},
		"authority": map[string]any{
			"provisioners": []any{map[string]any{
				"type": "JWK", "name": stepProvName, "key": pub,
				"claims": map[string]any{"defaultTLSCertDuration": "1h", "maxTLSCertDuration": "24h"},
			}},
		},
		"tls": map[string]any{"minVersion": 1.2, "maxVersion": 1.3, "renegotiation": false},
	}
	cfg, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		return fmt.Errorf("stepca-init: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{stepRoot, pemCert(root)},
		{stepInter, pemCert(inter)},
		{stepInterKey, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})},
		{stepJWK, priv},
		{stepConfig, cfg},
	} {
		if err := os.WriteFile(filepath.Join(*dir, f.name), f.data, 0o600); err != nil {
			return fmt.Errorf("stepca-init: %w", err)
		}
	}
	fmt.Fprintf(out, "step-ca directory %s: run step-ca %s\n", *dir, filepath.Join(*dir, stepConfig))
	return nil
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// selfSigned makes the bench root.
func selfSigned(cn string, now time.Time) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := caTemplate(cn, now, 1)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	crt, err := x509.ParseCertificate(der)
	return key, crt, err
}

// issueCA makes the bench intermediate, signed by the root.
func issueCA(cn string, parent *x509.Certificate, parentKey crypto.Signer, now time.Time) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := caTemplate(cn, now, 0)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, err
	}
	crt, err := x509.ParseCertificate(der)
	return key, crt, err
}

func caTemplate(cn string, now time.Time, pathLen int) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            pathLen,
		MaxPathLenZero:        pathLen == 0,
	}
}

// stepcaEnroll gets --n identities from the step-ca at --url: for each, a
// key, a CSR and a one-time token signed by the provisioner's key, posted
// to /1.0/sign.
func stepcaEnroll(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("renewbench stepca-enroll", flag.ContinueOnError)
	dir := fs.String("dir", "", "the directory stepca-init wrote")
	url := fs.String("url", "https://127.0.0.1:9443", "step-ca's URL")
	ids := fs.String("ids", "", "directory to write the identities into (one subdirectory each)")
	n := fs.Int("n", 64, "identities to enroll")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("stepca-enroll: %w (flags: --dir --url --ids --n)", err)
	}
	if *dir == "" || *ids == "" || *n < 1 {
		return errors.New("stepca-enroll: --dir, --ids and --n of at least 1 are required")
	}
	root, err := readCert(filepath.Join(*dir, stepRoot))
	if err != nil {
		return fmt.Errorf("stepca-enroll: %w", err)
	}
	raw, err := os.ReadFile(filepath.Join(*dir, stepJWK))
	if err != nil {
		return fmt.Errorf("stepca-enroll: %w", err)
	}
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(raw, &jwk); err != nil {
		return fmt.Errorf("stepca-enroll: %s: %w", stepJWK, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	errs := make([]error, *n)
	for i := range *n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = stepcaIdentity(hc, *url, &jwk, root, filepath.Join(*ids, fmt.Sprintf("step%04d", i)), fmt.Sprintf("svc%04d", i))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stepca-enroll: %w", err)
	}
	fmt.Fprintf(out, "enrolled %d identities from %s under %s\n", *n, *url, *ids)
	return nil
}

// stepcaIdentity enrolls one identity named cn into dir.
func stepcaIdentity(hc *http.Client, base string, jwk *jose.JSONWebKey, root *x509.Certificate, dir, cn string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn}}, key)
	if err != nil {
		return err
	}
	ott, err := stepToken(jwk, base+"/1.0/sign", cn)
	if err != nil {
		return fmt.Errorf("%s: token: %w", cn, err)
	}
	body, _ := json.Marshal(map[string]string{
		"csr": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})),
		"ott": ott,
	})
	resp, err := hc.Post(base+"/1.0/sign", "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: sign: %w", cn, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: sign: %w", cn, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%s: sign: %s: %s", cn, resp.Status, bytes.TrimSpace(data))
	}
	var signed struct {
		CertChain []string `json:"certChain"`
	}
	if err := json.Unmarshal(data, &signed); err != nil {
		return fmt.Errorf("%s: sign answer: %w", cn, err)
	}
	var chain []*x509.Certificate
	for _, p := range signed.CertChain {
		b, _ := pem.Decode([]byte(p))
		if b == nil {
			return fmt.Errorf("%s: sign answer: a chain entry is not PEM", cn)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return fmt.Errorf("%s: sign answer: %w", cn, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return fmt.Errorf("%s: sign answer has no chain", cn)
	}
	st, err := agent.OpenDir(dir, "", true)
	if err != nil {
		return err
	}
	if err := st.SaveRoot(root); err != nil {
		return err
	}
	return st.Save(context.Background(), &agent.Credential{Chain: chain, Key: key})
}

// stepToken is a JWK provisioner's one-time token for cn at audience aud.
func stepToken(jwk *jose.JSONWebKey, aud, cn string) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(jwk.Algorithm), Key: jwk.Key},
		new(jose.SignerOptions).WithType("JWT").WithHeader("kid", jwk.KeyID))
	if err != nil {
		return "", err
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	now := time.Now()
	claims := struct {
		jose.Claims
		SANs []string `json:"sans"`
	}{
		Claims: jose.Claims{
			Issuer: stepProvName, Subject: cn, Audience: jose.Audience{aud}, ID: fmt.Sprintf("%x", jti),
			IssuedAt: jose.NewNumericDate(now), NotBefore: jose.NewNumericDate(now), Expiry: jose.NewNumericDate(now.Add(5 * time.Minute)),
		},
		SANs: []string{cn},
	}
	return jose.Signed(signer).Claims(claims).CompactSerialize()
}

func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return x509.ParseCertificate(b.Bytes)
}

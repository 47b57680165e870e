package agent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/internal/certutil"
	"github.com/rosterhq/roster/scan"
)

// maxResponse bounds every response body the agent reads.
const maxResponse = 1 << 20

// defaultRequestTimeout bounds one request to the server.
const defaultRequestTimeout = 30 * time.Second

// normalizeFingerprint accepts the fingerprint in lowercase or uppercase
// hex, with or without colons, and returns it in lowercase hex.
func normalizeFingerprint(fp string) (string, error) {
	s := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(fp), ":", ""))
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("root fingerprint %q is not a hex SHA-256 (64 hex digits)", fp)
	}
	return s, nil
}

// ServerError is an error response from the roster server.
type ServerError struct {
	StatusCode int
	Message    string
	hint       string
}

func (e *ServerError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	return fmt.Sprintf("server answered %d: %s", e.StatusCode, e.Message)
}

// Hint is the server's advice on what to do next, if any.
func (e *ServerError) Hint() string { return e.hint }

// Refused reports whether the server refused the caller (bad token;
// revoked, expired or foreign certificate; ineligible identity), as opposed
// to failing: retrying unchanged will not help until an operator acts.
func (e *ServerError) Refused() bool {
	return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
}

// isRefused reports whether err is a [ServerError] that [ServerError.Refused].
func isRefused(err error) bool {
	var se *ServerError
	return errors.As(err, &se) && se.Refused()
}

// decodeError turns an error response into a *ServerError. It accepts
// roster's api.Error ({"error","hint"}) and step-ca's {"message"}.
func decodeError(status int, body []byte) *ServerError {
	var v api.Error
	e := &ServerError{StatusCode: status}
	if json.Unmarshal(body, &v) == nil {
		e.Message = clip(v.Error)
		if e.Message == "" {
			e.Message = clip(v.Message)
		}
		e.hint = clip(v.Hint)
	}
	return e
}

// clip keeps a server-supplied message to one readable line.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	return s
}

// DecodeSignResponse parses a sign, renew or rekey response (step-ca's
// shape, api.SignResponse) into a chain,
// leaf first. certChain wins when present; otherwise crt and ca are used.
// It checks only the encoding; see [VerifyChain].
func DecodeSignResponse(body []byte) ([]*x509.Certificate, error) {
	var r api.SignResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decode certificate response: %w", err)
	}
	parts := r.CertChain
	if len(parts) == 0 {
		parts = []string{r.Crt, r.CA}
	}
	return decodeChain(parts)
}

// decodeChain parses the PEM parts of a certificate response, leaf first.
func decodeChain(parts []string) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	for i, p := range parts {
		if strings.TrimSpace(p) == "" {
			continue
		}
		certs, err := ParseCertificates([]byte(p))
		if err != nil {
			return nil, fmt.Errorf("decode certificate response: chain element %d: %w", i, err)
		}
		chain = append(chain, certs...)
	}
	if len(chain) == 0 {
		return nil, errors.New("decode certificate response: no certificate")
	}
	if len(chain) > 8 {
		return nil, fmt.Errorf("decode certificate response: %d certificates, want at most 8", len(chain))
	}
	return chain, nil
}

// VerifyChain checks a chain the server returned before it is written: the
// leaf chains to root through the other certificates, is valid now for
// client authentication, and certifies pub.
func VerifyChain(chain []*x509.Certificate, root *x509.Certificate, pub crypto.PublicKey, now time.Time) error {
	if len(chain) == 0 {
		return errors.New("verify certificate: empty chain")
	}
	leaf := chain[0]
	if !publicKeyEqual(leaf.PublicKey, pub) {
		return errors.New("verify certificate: it certifies another key than ours")
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fmt.Errorf("verify certificate against the pinned root: %w", err)
	}
	return nil
}

// FetchRoot downloads {server}/roots.pem without verifying the server, and
// returns the root whose fingerprint is fp. It is the only unverified
// request: what it returns is checked against the fingerprint the operator
// supplied.
func FetchRoot(ctx context.Context, server, fp string) (*x509.Certificate, error) {
	want, err := normalizeFingerprint(fp)
	if err != nil {
		return nil, err
	}
	base, err := parseServer(server)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		// The answer is pinned by fingerprint below, not by the TLS chain.
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	body, err := do(ctx, &http.Client{Transport: tr, Timeout: defaultRequestTimeout}, http.MethodGet, base.JoinPath("roots.pem").String(), "", nil)
	if err != nil {
		return nil, fmt.Errorf("fetch roots: %w", err)
	}
	certs, err := ParseCertificates(body)
	if err != nil {
		return nil, fmt.Errorf("fetch roots: %s/roots.pem: %w", server, err)
	}
	var seen []string
	for _, c := range certs {
		got := certutil.Fingerprint(c)
		if got == want {
			return c, nil
		}
		seen = append(seen, got)
	}
	return nil, fmt.Errorf("no root at %s matches fingerprint %s (server offers %s): check the fingerprint printed by roster enroll", server, want, strings.Join(seen, ", "))
}

func parseServer(server string) (*url.URL, error) {
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("server URL: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want https://HOST[:PORT]", server)
	}
	return u, nil
}

// Client talks to a roster server that it verifies against a pinned root.
type Client struct {
	base  *url.URL
	root  *x509.Certificate
	roots *x509.CertPool
	now   func() time.Time
}

// NewClient returns a client for server that trusts only root. now may be
// nil for the real clock.
func NewClient(server string, root *x509.Certificate, now func() time.Time) (*Client, error) {
	base, err := parseServer(server)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return &Client{base: base, root: root, roots: pool, now: now}, nil
}

// Root returns the pinned root.
func (c *Client) Root() *x509.Certificate { return c.root }

// httpClient returns a client for one exchange, presenting cred when it is
// not nil. Connections are not kept: an agent talks to the server every few
// minutes at most.
//
// At most maxExchanges exchanges run at once in the process: identities
// that fall due together (every one at start, all of them on SIGHUP) queue
// for a slot instead of holding a dozen TLS connections and their buffers
// at the same time, which is what the agent's peak memory was made of.
func (c *Client) httpClient(ctx context.Context, cred *Credential) (*http.Client, func(), error) {
	select {
	case exchanges <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	cfg := &tls.Config{RootCAs: c.roots, Time: c.now, MinVersion: tls.VersionTLS12}
	if cred != nil {
		cfg.Certificates = []tls.Certificate{cred.TLSCertificate()}
	}
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: cfg, DisableKeepAlives: true}
	done := func() {
		tr.CloseIdleConnections()
		<-exchanges
	}
	return &http.Client{Transport: tr, Timeout: defaultRequestTimeout}, done, nil
}

// maxExchanges bounds the exchanges with the server in flight at once.
const maxExchanges = 2

var exchanges = make(chan struct{}, maxExchanges)

func (c *Client) call(ctx context.Context, cred *Credential, method, path string, in any) ([]byte, error) {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = b
	}
	hc, done, err := c.httpClient(ctx, cred)
	if err != nil {
		return nil, err
	}
	defer done()
	return do(ctx, hc, method, c.base.JoinPath(path).String(), "application/json", body)
}

func do(ctx context.Context, hc *http.Client, method, u, contentType string, body []byte) ([]byte, error) {
	return doLimit(ctx, hc, method, u, contentType, body, maxResponse)
}

// doLimit is do with a bound of limit bytes on the response body.
func doLimit(ctx context.Context, hc *http.Client, method, u, contentType string, body []byte, limit int64) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" && body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", method, req.URL.Path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s %s: response larger than %d bytes", method, req.URL.Path, limit)
	}
	if resp.StatusCode/100 != 2 {
		return nil, decodeError(resp.StatusCode, b)
	}
	return b, nil
}

// Enroll exchanges a one-time token and a CSR for a certificate chain. The
// chain is decoded, not yet verified.
func (c *Client) Enroll(ctx context.Context, token string, csrDER []byte) ([]*x509.Certificate, error) {
	b, err := c.call(ctx, nil, http.MethodPost, "v1/enroll", api.EnrollRequest{Token: token, CSR: csrPEM(csrDER)})
	if err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	return DecodeSignResponse(b)
}

// Renew asks for a new certificate for cred's key, authenticating with cred.
func (c *Client) Renew(ctx context.Context, cred *Credential) ([]*x509.Certificate, error) {
	b, err := c.call(ctx, cred, http.MethodPost, "1.0/renew", nil)
	if err != nil {
		return nil, fmt.Errorf("renew: %w", err)
	}
	return DecodeSignResponse(b)
}

// Rekey asks for a certificate for a new key (in csrDER), authenticating
// with cred.
func (c *Client) Rekey(ctx context.Context, cred *Credential, csrDER []byte) ([]*x509.Certificate, error) {
	b, err := c.call(ctx, cred, http.MethodPost, "1.0/rekey", api.RekeyRequest{CSR: csrPEM(csrDER)})
	if err != nil {
		return nil, fmt.Errorf("rekey: %w", err)
	}
	return DecodeSignResponse(b)
}

// ScanConfig fetches the key the host's scans fingerprint secrets with,
// authenticating with the host identity.
func (c *Client) ScanConfig(ctx context.Context, host *Credential) ([]byte, error) {
	b, err := c.call(ctx, host, http.MethodGet, "v1/scan-config", nil)
	if err != nil {
		return nil, fmt.Errorf("scan config: %w", err)
	}
	var v api.ScanConfig
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("scan config: decode: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(v.FingerprintKey)
	if err != nil || len(key) < 16 {
		return nil, errors.New("scan config: fingerprint_key is not base64 of at least 16 bytes")
	}
	return key, nil
}

// SubmitScan sends a host scan report, authenticating with the host
// identity.
func (c *Client) SubmitScan(ctx context.Context, host *Credential, r *scan.Report) error {
	if _, err := c.call(ctx, host, http.MethodPost, "v1/scans", r); err != nil {
		return fmt.Errorf("submit scan: %w", err)
	}
	return nil
}

func csrPEM(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// Bounds on what the SSH calls read: a host-config lists at most a few
// thousand principals; a KRL of 4 MiB holds half a million serials.
const (
	maxHostConfig = 1 << 20
	maxKRL        = 4 << 20
)

// SSHSign asks for an SSH certificate for pub (an authorized_keys line) of
// type certType (api.SSHCertUser or api.SSHCertHost), authenticating with
// cred. The answer is decoded, not yet verified (see checkSSHCert).
func (c *Client) SSHSign(ctx context.Context, cred *Credential, pub, certType string) (*api.SSHSignResponse, error) {
	b, err := c.call(ctx, cred, http.MethodPost, "v1/ssh/sign", api.SSHSignRequest{PublicKey: pub, Type: certType})
	if err != nil {
		return nil, fmt.Errorf("ssh sign: %w", err)
	}
	var v api.SSHSignResponse
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("ssh sign: decode: %w", err)
	}
	return &v, nil
}

// SSHHostConfig fetches what the host's sshd needs (trusted user CA keys,
// principals per account), authenticating with the host identity. The
// answer is decoded, not yet validated (see cleanHostConfig).
func (c *Client) SSHHostConfig(ctx context.Context, host *Credential) (*api.SSHHostConfig, error) {
	hc, done, err := c.httpClient(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("ssh host config: %w", err)
	}
	defer done()
	b, err := doLimit(ctx, hc, http.MethodGet, c.base.JoinPath("v1/ssh/host-config").String(), "", nil, maxHostConfig)
	if err != nil {
		return nil, fmt.Errorf("ssh host config: %w", err)
	}
	var v api.SSHHostConfig
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("ssh host config: decode: %w", err)
	}
	return &v, nil
}

// SSHKRL fetches the KRL (GET /ssh/krl, no client certificate needed; the
// server is verified against the pinned root).
func (c *Client) SSHKRL(ctx context.Context) ([]byte, error) {
	hc, done, err := c.httpClient(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("ssh krl: %w", err)
	}
	defer done()
	b, err := doLimit(ctx, hc, http.MethodGet, c.base.JoinPath("ssh/krl").String(), "", nil, maxKRL)
	if err != nil {
		return nil, fmt.Errorf("ssh krl: %w", err)
	}
	return b, nil
}

// Package agenttest is a test fixture: a small HTTPS server on 127.0.0.1 that
// speaks the roster server's agent protocol (/roots.pem, /v1/enroll,
// /1.0/renew, /1.0/rekey, /v1/scan-config, /v1/scans, and issue 11's
// /v1/ssh/sign, /v1/ssh/host-config, /ssh/krl: see ssh.go) with a two-level
// CA made by go.step.sm/crypto/minica and Ed25519 SSH CA keys. It stands in for the roster server in
// the agent's own tests; the end-to-end tests run the real server.
//
// Start with [New], then [Server.Token] to enroll an identity. The server
// checks what the real one checks on the agent's side of the wire: one-time
// tokens, CSR signatures, client certificates chained to its CA, expiry and
// revocation. [Server.SetDown] makes it answer 503 to simulate an outage.
package agenttest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.step.sm/crypto/minica"

	"github.com/rosterhq/roster/internal/certutil"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/spiffeid"
)

// TrustDomain is the SPIFFE trust domain of issued identities.
const TrustDomain = "roster.test"

// Server is a running test CA.
type Server struct {
	URL         string
	Root        *x509.Certificate
	Fingerprint string // lowercase hex SHA-256 of the root's DER
	// FingerprintKey is what /v1/scan-config hands out.
	FingerprintKey []byte

	ca  *minica.CA
	srv *httptest.Server

	mu       sync.Mutex
	validity time.Duration
	backdate time.Duration
	down     bool
	tokens   map[string]string // token -> identity URI
	revoked  map[string]bool   // serial
	issued   map[string]int    // identity URI -> certificates issued
	calls    map[string]int    // path -> successful calls
	reports  []scan.Report
	ssh      *sshCA
}

// New starts a test CA that issues certificates valid for validity. It is
// closed at the end of the test.
func New(t testing.TB, validity time.Duration) *Server {
	t.Helper()
	s, err := Start(validity)
	if err != nil {
		t.Fatalf("testca: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start is [New] outside a test; call Close when done.
func Start(validity time.Duration) (*Server, error) {
	ca, err := minica.New(minica.WithName("roster test"))
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	s := &Server{
		Root:           ca.Root,
		FingerprintKey: key,
		ca:             ca,
		validity:       validity,
		tokens:         map[string]string{},
		revoked:        map[string]bool{},
		issued:         map[string]int{},
		calls:          map[string]int{},
	}
	s.Fingerprint = certutil.Fingerprint(ca.Root)
	if s.ssh, err = newSSHCA(); err != nil {
		return nil, err
	}
	tlsCert, err := s.serverCert()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /roots.pem", s.roots)
	mux.HandleFunc("POST /v1/enroll", s.enroll)
	mux.HandleFunc("POST /1.0/renew", s.renew)
	mux.HandleFunc("POST /1.0/rekey", s.rekey)
	mux.HandleFunc("GET /v1/scan-config", s.scanConfig)
	mux.HandleFunc("POST /v1/scans", s.scans)
	s.routeSSH(mux)
	s.srv = httptest.NewUnstartedServer(s.outage(mux))
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{tlsCert}, ClientAuth: tls.RequestClientCert}
	s.srv.StartTLS()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Token returns a one-time enrollment token for the identity of account on
// host; an empty account means the host identity.
func (s *Server) Token(host, account string) string {
	sid, err := spiffeid.New(TrustDomain, host, account)
	if err != nil {
		panic(err) // a test names a bad identity
	}
	id := sid.String()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	tok := hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = id
	s.mu.Unlock()
	return tok
}

// SetValidity changes the validity of certificates issued from now on.
func (s *Server) SetValidity(d time.Duration) { s.mu.Lock(); s.validity = d; s.mu.Unlock() }

// SetBackdate moves NotBefore of later certificates into the past, as the
// real server does for clock skew.
func (s *Server) SetBackdate(d time.Duration) { s.mu.Lock(); s.backdate = d; s.mu.Unlock() }

// SetDown makes every request fail with 503 while down is true.
func (s *Server) SetDown(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

// Revoke refuses renewal of the certificate with this serial (decimal).
func (s *Server) Revoke(serial string) { s.mu.Lock(); s.revoked[serial] = true; s.mu.Unlock() }

// Calls returns how many requests to path succeeded. POST /v1/ssh/sign
// is also counted as /v1/ssh/sign/user and /v1/ssh/sign/host.
func (s *Server) Calls(path string) int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls[path] }

// Reports returns the scan reports received so far.
func (s *Server) Reports() []scan.Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]scan.Report(nil), s.reports...)
}

// Issue signs a certificate for pub and identity directly, valid from
// notBefore to notAfter, for tests that need an expired or odd one.
func (s *Server) Issue(pub crypto.PublicKey, identity string, notBefore, notAfter time.Time) ([]*x509.Certificate, error) {
	u, err := url.Parse(identity)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	leaf, err := s.ca.Sign(&x509.Certificate{
		SerialNumber: serial,
		Subject:      subject(identity),
		URIs:         []*url.URL{u},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		PublicKey:    pub,
	})
	if err != nil {
		return nil, err
	}
	return []*x509.Certificate{leaf, s.ca.Intermediate}, nil
}

func subject(identity string) (n pkix.Name) {
	n.CommonName = identity[strings.LastIndex(identity, "/")+1:]
	return n
}

func (s *Server) serverCert() (tls.Certificate, error) {
	key, err := ecdsaKey()
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := s.ca.Sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:    []string{"localhost"},
		NotBefore:   time.Now().Add(-time.Minute),
		NotAfter:    time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		PublicKey:   key.Public(),
	})
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{leaf.Raw, s.ca.Intermediate.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

func (s *Server) outage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		down := s.down
		s.mu.Unlock()
		if down {
			writeError(w, http.StatusServiceUnavailable, "server is down for a test", "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeError(w http.ResponseWriter, status int, msg, hint string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg, "hint": hint})
}

func (s *Server) count(path string) { s.mu.Lock(); s.calls[path]++; s.mu.Unlock() }

func (s *Server) roots(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Root.Raw}))
	s.count(r.URL.Path)
}

// readCSR decodes {"csr": PEM} and checks the request's signature.
func readCSR(r *http.Request, dst any, csrPEM func() string) (*x509.CertificateRequest, error) {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(dst); err != nil {
		return nil, fmt.Errorf("bad request body: %v", err)
	}
	block, _ := pem.Decode([]byte(csrPEM()))
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("csr is not a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("csr signature: %v", err)
	}
	return csr, nil
}

func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	var body struct{ Token, CSR string }
	csr, err := readCSR(r, &body, func() string { return body.CSR })
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	s.mu.Lock()
	id, ok := s.tokens[body.Token]
	delete(s.tokens, body.Token)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusUnauthorized, "enrollment token is unknown, used or expired", "create a new one with roster enroll")
		return
	}
	s.sign(w, r, csr.PublicKey, id)
}

// client authenticates the caller's certificate: chained to the CA, not
// expired, not revoked.
func (s *Server) client(w http.ResponseWriter, r *http.Request) (*x509.Certificate, bool) {
	certs := r.TLS.PeerCertificates
	if len(certs) == 0 {
		writeError(w, http.StatusUnauthorized, "no client certificate", "")
		return nil, false
	}
	roots := x509.NewCertPool()
	roots.AddCert(s.Root)
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		writeError(w, http.StatusUnauthorized, "client certificate refused: "+err.Error(), "")
		return nil, false
	}
	s.mu.Lock()
	revoked := s.revoked[certs[0].SerialNumber.String()]
	s.mu.Unlock()
	if revoked {
		writeError(w, http.StatusForbidden, "certificate "+certs[0].SerialNumber.String()+" is revoked", "enroll the account again")
		return nil, false
	}
	return certs[0], true
}

func (s *Server) renew(w http.ResponseWriter, r *http.Request) {
	leaf, ok := s.client(w, r)
	if !ok {
		return
	}
	s.sign(w, r, leaf.PublicKey, leaf.URIs[0].String())
}

func (s *Server) rekey(w http.ResponseWriter, r *http.Request) {
	leaf, ok := s.client(w, r)
	if !ok {
		return
	}
	var body struct{ CSR string }
	csr, err := readCSR(r, &body, func() string { return body.CSR })
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	s.sign(w, r, csr.PublicKey, leaf.URIs[0].String())
}

func (s *Server) sign(w http.ResponseWriter, r *http.Request, pub crypto.PublicKey, id string) {
	s.mu.Lock()
	validity, backdate := s.validity, s.backdate
	s.mu.Unlock()
	now := time.Now()
	chain, err := s.Issue(pub, id, now.Add(-backdate), now.Add(validity))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	enc := func(c *x509.Certificate) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"crt": enc(chain[0]), "ca": enc(chain[1]), "certChain": []string{enc(chain[0]), enc(chain[1])},
	})
	s.mu.Lock()
	s.issued[id]++
	s.calls[r.URL.Path]++
	s.mu.Unlock()
}

// host authenticates a host identity certificate.
func (s *Server) host(w http.ResponseWriter, r *http.Request) (string, bool) {
	leaf, ok := s.client(w, r)
	if !ok {
		return "", false
	}
	id, err := spiffeid.ParseURL(leaf.URIs[0])
	if err != nil || !id.IsHost() || id.TrustDomain != TrustDomain {
		writeError(w, http.StatusForbidden, leaf.URIs[0].String()+" is not a host identity", "")
		return "", false
	}
	return id.Host, true
}

func (s *Server) scanConfig(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.host(w, r); !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"fingerprint_key": base64.StdEncoding.EncodeToString(s.FingerprintKey)})
	s.count(r.URL.Path)
}

func (s *Server) scans(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.host(w, r); !ok {
		return
	}
	var rep scan.Report
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(&rep); err != nil {
		writeError(w, http.StatusBadRequest, "bad report: "+err.Error(), "")
		return
	}
	s.mu.Lock()
	s.reports = append(s.reports, rep)
	s.calls[r.URL.Path]++
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	w.Write([]byte("{}"))
}

func ecdsaKey() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

package server

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/ca/catest"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/issuer/issuertest"
	"github.com/rosterhq/roster/store"
)

// env is a real CA, a real inventory and the issuer (issuertest) behind
// the server's handler on a real HTTPS listener on 127.0.0.1, with the
// listener settings the server uses (ca.ServerTLSConfig: client
// certificates requested, not verified).
type env struct {
	*issuertest.Env
	t     testing.TB
	ca    *ca.CA
	inv   *inventory.Inventory
	iss   *issuer.Issuer
	clock *issuertest.Clock
	logs  *issuertest.SyncBuffer
	s     *Server
	srv   *httptest.Server
	url   string // https://127.0.0.1:PORT
	roots *x509.CertPool
}

// newEnv starts from issuertest.New's inventory: host web1 with accounts
// billing-batch (owned), nobody-owns and legacy.
func newEnv(t testing.TB, quiet bool) *env {
	t.Helper()
	return newEnvWith(t, quiet, nil)
}

// newEnvWith is newEnv with the inventory's store wrapped by wrap (nil:
// not wrapped).
func newEnvWith(t testing.TB, quiet bool, wrap func(store.Store) store.Store) *env {
	t.Helper()
	return newEnvOpts(t, quiet, wrap, nil)
}

// newEnvOpts is newEnvWith with the server's Options edited by set (nil:
// as they are).
func newEnvOpts(t testing.TB, quiet bool, wrap func(store.Store) store.Store, set func(*Options)) *env {
	t.Helper()
	ie := issuertest.NewWith(t, quiet, wrap)
	e := &env{Env: ie, t: t, ca: ie.CA, inv: ie.Inv, iss: ie.Iss, clock: ie.Clock, logs: ie.Logs}
	var w io.Writer = ie.Logs
	if quiet {
		w = io.Discard
	}
	o := Options{Inventory: ie.Inv, Issuer: ie.Iss, CA: ie.CA, Logger: slog.New(slog.NewTextHandler(w, nil))}
	if set != nil {
		set(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	// localhost too: a browser test browses to https://localhost:PORT
	// (WebAuthn needs a domain as relying party ID).
	cfg, err := e.ca.ServerTLSConfig([]string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewUnstartedServer(s.Handler())
	e.srv.Listener = tls.NewListener(e.srv.Listener, cfg)
	e.srv.Start()
	e.url = "https://" + e.srv.Listener.Addr().String()
	t.Cleanup(e.srv.Close)
	e.roots = x509.NewCertPool()
	e.roots.AddCert(e.ca.Root())
	return e
}

func (e *env) ingest(host string, accounts ...string) { e.t.Helper(); e.Ingest(host, accounts...) }
func (e *env) owner(account, who string)              { e.t.Helper(); e.Owner(account, who) }
func (e *env) audits() string                         { e.t.Helper(); return e.Audits() }

// client returns an HTTPS client trusting only the CA's root, presenting
// chain (leaf first) with key when given.
func (e *env) client(key crypto.Signer, chain []*x509.Certificate, keepAlive bool) *http.Client {
	cfg := &tls.Config{RootCAs: e.roots, MinVersion: tls.VersionTLS12}
	if key != nil {
		tc := tls.Certificate{PrivateKey: key, Leaf: chain[0]}
		for _, c := range chain {
			tc.Certificate = append(tc.Certificate, c.Raw)
		}
		cfg.Certificates = []tls.Certificate{tc}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 64}}
}

// post sends a JSON body (nil for none) and returns status and body.
func (e *env) post(cl *http.Client, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	resp, err := cl.Post(e.url+path, "application/json", rd)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

func csrPEM(csr *x509.CertificateRequest) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw}))
}

// enroll creates a token for account on host and enrolls a new EC key over
// HTTPS, returning the key and chain.
func (e *env) enroll(host, account string) (crypto.Signer, []*x509.Certificate) {
	e.t.Helper()
	tk, err := e.iss.CreateEnrollToken(e.t.Context(), host, account, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	key := catest.Key(e.t, "EC", 0)
	code, body := e.post(e.client(nil, nil, false), "/v1/enroll", map[string]string{"token": tk.Token, "csr": csrPEM(catest.CSR(e.t, key, account))})
	if code != http.StatusCreated {
		e.t.Fatalf("enroll %s/%s: %d %s", host, account, code, body)
	}
	return key, e.chain(body)
}

// chain decodes a SignResponse and checks its shape.
func (e *env) chain(body []byte) []*x509.Certificate {
	e.t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		e.t.Fatalf("sign response: %v: %s", err, body)
	}
	for _, k := range []string{"crt", "ca", "certChain"} {
		if _, ok := raw[k]; !ok || len(raw) != 3 {
			e.t.Fatalf("sign response keys: %s", body)
		}
	}
	var sr api.SignResponse
	if err := json.Unmarshal(body, &sr); err != nil {
		e.t.Fatal(err)
	}
	var out []*x509.Certificate
	for _, p := range sr.CertChain {
		block, _ := pem.Decode([]byte(p))
		if block == nil {
			e.t.Fatalf("certChain entry is not PEM: %q", p)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) != 2 || sr.Crt != sr.CertChain[0] || sr.CA != sr.CertChain[1] {
		e.t.Fatalf("sign response chain: %d certs, crt/ca mismatch", len(out))
	}
	return out
}

// errBody decodes an error response.
func errBody(t testing.TB, b []byte) api.Error {
	t.Helper()
	var er api.Error
	if err := json.Unmarshal(b, &er); err != nil || er.Error == "" {
		t.Fatalf("error body %q: %v", b, err)
	}
	return er
}

// operatorCall sends one request to e with operator token tok.
func (e *env) operatorCall(tok, method, path, body string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	// The client checks the server's certificate at the moved clock: the
	// server issues its certificates at that time.
	cl := e.client(nil, nil, false)
	cl.Transport.(*http.Transport).TLSClientConfig.Time = e.clock.Now
	resp, err := cl.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

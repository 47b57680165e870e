package issuer_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/ca/catest"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// clock is real time plus an offset that tests move forward.
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// syncBuffer collects the issuer's log output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a real CA, a real inventory and the issuer behind a real HTTPS
// server on 127.0.0.1, as the server wires them.
type env struct {
	t     testing.TB
	ca    *ca.CA
	inv   *inventory.Inventory
	iss   *issuer.Issuer
	srv   *httptest.Server
	url   string // https://127.0.0.1:PORT
	clock *clock
	logs  *syncBuffer
	roots *x509.CertPool
}

// newEnv ingests host web1 with accounts billing-batch (owned), nobody-owns
// and legacy, and host db1 with billing-batch.
func newEnv(t testing.TB, quiet bool) *env {
	t.Helper()
	return newEnvWith(t, quiet, nil)
}

// newEnvWith is newEnv with the inventory's bbolt store wrapped by wrap
// (nil: not wrapped).
func newEnvWith(t testing.TB, quiet bool, wrap func(store.Store) store.Store) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{}, logs: &syncBuffer{}}
	e.ca = catest.New(t, catest.Options{Options: ca.Options{Now: e.clock.Now, MinValidity: time.Second}})
	if wrap == nil {
		e.inv, _ = inventorytest.Open(t, inventory.Options{Now: e.clock.Now})
	} else {
		bs, err := store.OpenBolt(filepath.Join(t.TempDir(), "inventory.db"), 0)
		if err != nil {
			t.Fatal(err)
		}
		e.inv, err = inventory.New(context.Background(), wrap(bs), inventory.Options{Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { inventorytest.CheckClose(t, e.inv) })
	}
	var w io.Writer = e.logs
	if quiet {
		w = io.Discard
	}
	iss, err := issuer.New(issuer.Config{
		CA: e.ca, Inventory: e.inv, Now: e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(w, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.iss = iss
	e.ingest("web1", "billing-batch", "nobody-owns", "legacy")
	e.owner("billing-batch", "payments-team")

	mux := http.NewServeMux()
	// Mounted as the server does: each pattern on the server's own mux.
	for _, p := range issuer.HandlerPatterns() {
		mux.Handle(p, iss.Handler())
	}
	for _, p := range ca.HandlerPatterns() {
		mux.Handle(p, e.ca.Handler())
	}
	mux.HandleFunc("POST /v1/scans", func(w http.ResponseWriter, r *http.Request) {
		host, err := iss.AuthenticateHost(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, host)
	})
	// The listener the server uses: ca.ServerTLSConfig (RequestClientCert).
	cfg, err := e.ca.ServerTLSConfig([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewUnstartedServer(mux)
	e.srv.Listener = tls.NewListener(e.srv.Listener, cfg)
	e.srv.Start()
	e.url = "https://" + e.srv.Listener.Addr().String()
	t.Cleanup(e.srv.Close)
	e.roots = x509.NewCertPool()
	e.roots.AddCert(e.ca.Root())
	return e
}

var scanSeq atomic.Int64

// ingest submits a scan of host with exactly these accounts.
func (e *env) ingest(host string, accounts ...string) {
	e.t.Helper()
	var accts []scan.Account
	for i, a := range accounts {
		accts = append(accts, inventorytest.Account(a, 900+i, inventorytest.Cred(scan.CredPassword, "/etc/shadow:"+a, "pw-"+a)))
	}
	at := e.clock.Now().Add(time.Duration(scanSeq.Add(1)) * time.Millisecond).UTC()
	if _, err := e.inv.Ingest(context.Background(), inventorytest.NewReport(host, "mid-"+host, at, accts...)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) owner(account, who string) {
	e.t.Helper()
	if err := e.inv.SetOwner(context.Background(), account, inventory.Owner{Name: who}); err != nil {
		e.t.Fatal(err)
	}
}

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

// enroll creates a token for account on host and enrolls a new EC key,
// returning the key and chain.
func (e *env) enroll(host, account string) (crypto.Signer, []*x509.Certificate) {
	e.t.Helper()
	tk, err := e.iss.CreateEnrollToken(context.Background(), host, account, 0)
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
	var sr issuer.SignResponse
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
func errBody(t testing.TB, b []byte) issuer.ErrorResponse {
	t.Helper()
	var er issuer.ErrorResponse
	if err := json.Unmarshal(b, &er); err != nil || er.Error == "" {
		t.Fatalf("error body %q: %v", b, err)
	}
	return er
}

// audits returns "action/outcome/reason" lines of the audit log.
func (e *env) audits() string {
	e.t.Helper()
	evs, err := audit.List(context.Background(), e.inv, audit.Filter{})
	if err != nil {
		e.t.Fatal(err)
	}
	var sb strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&sb, "%s %s %s/%s serial=%s %s\n", ev.Action, ev.Outcome, ev.Host, ev.Account, ev.Serial, ev.Reason)
	}
	return sb.String()
}

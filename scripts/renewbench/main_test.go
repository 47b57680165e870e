package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.step.sm/crypto/minica"

	"github.com/rosterhq/roster/agent"
)

// lineageCA is an HTTPS CA on 127.0.0.1 that renews as roster does since
// renewal became idempotent: an identity's current certificate is renewed
// once (201, a new certificate for the same key); renewing the certificate
// it was renewed from answers that same successor again (a replay); any
// older certificate is refused with 403. It counts what it answered and the
// connections it accepted.
type lineageCA struct {
	root       *x509.Certificate
	ca         *minica.CA
	url        string
	serverCert tls.Certificate

	mu       sync.Mutex
	current  map[string][]*x509.Certificate // identity -> the chain last issued to it
	previous map[string]*x509.Certificate   // identity -> the leaf current was renewed from
	status   int                            // success status, 201 unless a test changes it
	down     bool
	issued   int // renewals of the current certificate
	replayed int // renewals of the previous one
	refused  int // anything else
	conns    int
}

func newLineageCA(t *testing.T) *lineageCA {
	t.Helper()
	mca, err := minica.New(minica.WithName("renewbench test"))
	if err != nil {
		t.Fatal(err)
	}
	c := &lineageCA{root: mca.Root, ca: mca, current: map[string][]*x509.Certificate{},
		previous: map[string]*x509.Certificate{}, status: http.StatusCreated}
	key := newKey(t)
	leaf, err := mca.Sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		PublicKey:   key.Public(),
	})
	if err != nil {
		t.Fatal(err)
	}
	c.serverCert = tls.Certificate{Certificate: [][]byte{leaf.Raw, mca.Intermediate.Raw}, PrivateKey: key, Leaf: leaf}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /1.0/renew", c.renew)
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{c.serverCert}, ClientAuth: tls.RequestClientCert, SessionTicketsDisabled: true}
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.mu.Lock()
			c.conns++
			c.mu.Unlock()
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// enroll writes identity directories dir/NAME for names, as roster-agent
// does, and makes each certificate its identity's current one.
func (c *lineageCA) enroll(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		key := newKey(t)
		leaf, err := c.ca.Sign(c.template(name, key.Public()))
		if err != nil {
			t.Fatal(err)
		}
		chain := []*x509.Certificate{leaf, c.ca.Intermediate}
		st, err := agent.OpenDir(filepath.Join(dir, name), "", true)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Save(context.Background(), &agent.Credential{Chain: chain, Key: key}); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveRoot(c.root); err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		c.current[name] = chain
		c.mu.Unlock()
	}
}

func (c *lineageCA) template(name string, pub any) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		NotBefore:   time.Now().Add(-time.Minute),
		NotAfter:    time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		PublicKey:   pub,
	}
}

func (c *lineageCA) renew(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	peer := r.TLS.PeerCertificates
	if len(peer) == 0 {
		fail(http.StatusUnauthorized, "no client certificate")
		return
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(c.root)
	for _, p := range peer[1:] {
		inter.AddCert(p)
	}
	if _, err := peer[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		fail(http.StatusUnauthorized, err.Error())
		return
	}
	name := peer[0].Subject.CommonName
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		fail(http.StatusServiceUnavailable, "down for a test")
		return
	}
	cur := c.current[name]
	switch {
	case cur == nil:
		fail(http.StatusForbidden, "unknown identity "+name)
		return
	case peer[0].Equal(cur[0]):
		leaf, err := c.ca.Sign(c.template(name, peer[0].PublicKey))
		if err != nil {
			fail(http.StatusInternalServerError, err.Error())
			return
		}
		c.previous[name], c.current[name] = cur[0], []*x509.Certificate{leaf, c.ca.Intermediate}
		c.issued++
	case c.previous[name] != nil && peer[0].Equal(c.previous[name]):
		c.replayed++
	default:
		c.refused++
		fail(http.StatusForbidden, fmt.Sprintf("certificate %s of %s is superseded (its current certificate is %s)",
			peer[0].SerialNumber, name, cur[0].SerialNumber))
		return
	}
	var certs []string
	for _, x := range c.current[name] {
		certs = append(certs, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: x.Raw})))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(c.status)
	json.NewEncoder(w).Encode(map[string]any{"crt": certs[0], "ca": certs[1], "certChain": certs})
}

// counts is what the CA answered and accepted, since the last call.
type counts struct{ issued, replayed, refused, conns int }

func (c *lineageCA) take() counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := counts{c.issued, c.replayed, c.refused, c.conns}
	c.issued, c.replayed, c.refused, c.conns = 0, 0, 0, 0
	return n
}

func (c *lineageCA) set(f func(c *lineageCA)) { c.mu.Lock(); f(c); c.mu.Unlock() }

// checkSaved: each identity directory holds the chain the CA last issued.
func (c *lineageCA) checkSaved(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		st, _ := agent.OpenDir(filepath.Join(dir, name), "", false)
		cred, err := st.Load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		cur := c.current[name][0]
		c.mu.Unlock()
		if !cred.Leaf().Equal(cur) {
			t.Errorf("%s holds certificate %s, the CA's current one is %s", name, cred.Leaf().SerialNumber, cur.SerialNumber)
		}
	}
}

// rows returns the table rows of out whose first two fields are target and
// mode, as fields.
func rows(out, target, mode string) [][]string {
	var rs [][]string
	for l := range strings.Lines(out) {
		if f := strings.Fields(l); len(f) == 10 && f[0] == target && f[1] == mode {
			rs = append(rs, f)
		}
	}
	return rs
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args  []string
		err   string // empty: accepted
		modes string // the modes parsed, when accepted
	}{
		{[]string{"--target", "a,https://127.0.0.1:1,/ids"}, "", "fresh,replay"},
		{[]string{"--target", "a,https://127.0.0.1:1,/ids,42", "--target", "b,https://h,/x", "--repeat", "3"}, "", "fresh,replay"},
		{[]string{"--target", "a,https://h,/ids", "--modes", "keepalive, fresh"}, "", "replay,fresh"},
		{[]string{"--target", "a,https://h,/ids", "--modes", "replay"}, "", "replay"},
		{nil, "--target NAME,URL,IDS[,PID] is required", ""},
		{[]string{"--target", "a,https://h"}, "want NAME,URL,IDS[,PID]", ""},
		{[]string{"--target", "a,http://h,/ids"}, "is not an https:// URL", ""},
		{[]string{"--target", "a,https://h,/ids,pid"}, "is not a process id", ""},
		{[]string{"--target", "a,https://h,/ids", "--clients", "1,x"}, `--clients: "x"`, ""},
		{[]string{"--target", "a,https://h,/ids", "--clients", "0"}, `--clients: "0"`, ""},
		{[]string{"--target", "a,https://h,/ids", "--modes", "fresh,slow"}, `unknown mode "slow"`, ""},
		{[]string{"--target", "a,https://h,/ids", "--n", "0"}, "--n and --repeat", ""},
		{[]string{"--target", "a,https://h,/ids", "extra"}, `unexpected argument "extra"`, ""},
		{[]string{"--bogus"}, "flag provided but not defined", ""},
	}
	for _, tc := range tests {
		o, err := parseFlags(tc.args)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.err == "" && strings.Join(o.modes, ",") != tc.modes:
			t.Errorf("%q: modes %q, want %q", tc.args, o.modes, tc.modes)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got %v, want an error containing %q", tc.args, err, tc.err)
		}
	}
}

// TestFreshPresentsEachAnswer: in fresh mode every renewal is made on a new
// connection with the certificate the previous renewal returned, so the CA
// renews its identity's current certificate every time (no replay, no
// refusal), and the directories end up holding the last one.
func TestFreshPresentsEachAnswer(t *testing.T) {
	c := newLineageCA(t)
	ids := t.TempDir()
	names := []string{"svc0", "svc1", "svc2"}
	c.enroll(t, ids, names...)
	var out strings.Builder
	args := []string{"--target", "a," + c.url + "," + ids, "--modes", "fresh", "--clients", "1,3", "--n", "12", "--warmup", "2"}
	if err := run(args, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	// (12 + 2 warm-ups) + (12 + 3 x 2 warm-ups), each on its own connection.
	if got, want := c.take(), (counts{issued: 32, conns: 32}); got != want {
		t.Errorf("CA saw %+v, want %+v", got, want)
	}
	rs := rows(out.String(), "a", "fresh")
	if len(rs) != 2 {
		t.Fatalf("want 2 fresh rows:\n%s", out.String())
	}
	for _, r := range rs {
		if r[6] != "100" || r[7] != "12" {
			t.Errorf("new %% %s, conns %s, want 100 and 12: %q", r[6], r[7], r)
		}
	}
	if !strings.Contains(out.String(), "saved the current certificates of 3 identities") {
		t.Errorf("output does not report the saved identities:\n%s", out.String())
	}
	c.checkSaved(t, ids, names...)

	// The saved directories are current: a second run renews them as well.
	if err := run(args, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := c.take(); got.replayed != 0 || got.refused != 0 || got.issued != 32 {
		t.Errorf("second run: CA saw %+v", got)
	}
	c.checkSaved(t, ids, names...)
}

// TestReplayMode: one connection per client, authenticated with its first
// certificate: the first renewal on it is new, every later one a replay,
// and the output says that the mode measures replays.
func TestReplayMode(t *testing.T) {
	c := newLineageCA(t)
	ids := t.TempDir()
	c.enroll(t, ids, "svc0", "svc1")
	var out strings.Builder
	err := run([]string{"--target", "a," + c.url + "," + ids, "--modes", "keepalive", "--clients", "2", "--n", "10"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	// 10 + 2 x 2 warm-ups on 2 connections: one new certificate per client.
	if got, want := c.take(), (counts{issued: 2, replayed: 12, conns: 2}); got != want {
		t.Errorf("CA saw %+v, want %+v", got, want)
	}
	got := out.String()
	rs := rows(got, "a", "replay")
	if len(rs) != 1 || rs[0][6] != "0" || rs[0][7] != "0" {
		t.Errorf("want one replay row with new %% 0 and no new connections:\n%s", got)
	}
	for _, want := range []string{"replay: one TLS connection per client", "NOT comparable"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "fresh:") {
		t.Errorf("output describes a mode that was not run:\n%s", got)
	}
	c.checkSaved(t, ids, "svc0", "svc1")

	// Without warm-up the first timed renewal of each client is the new one.
	if err := run([]string{"--target", "a," + c.url + "," + ids, "--modes", "replay", "--clients", "2", "--n", "10", "--warmup", "0"}, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := c.take(), (counts{issued: 2, replayed: 8, conns: 2}); got != want {
		t.Errorf("without warm-up: CA saw %+v, want %+v", got, want)
	}
}

// TestRun measures two targets, the same CA and identities under two
// names, in both modes: the targets share the identities, so each run
// presents what the previous one was issued.
func TestRun(t *testing.T) {
	c := newLineageCA(t)
	ids := t.TempDir()
	c.enroll(t, ids, "svc0", "svc1")
	var out strings.Builder
	target := c.url + "," + ids
	err := run([]string{"--target", "a," + target, "--target", "b," + target, "--clients", "1,2", "--n", "6", "--repeat", "2"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{"fresh:  a new TLS connection", "replay: one TLS connection", "renewals/s", "new %",
		"a          fresh", "b          replay", "median/2", "a/b fresh 2 clients:", "a/b replay 1 clients:",
		"(new certificates: 100% / 100%)", "(new certificates: 0% / 0%)"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// 2 modes x 2 rounds x 2 targets x ((6 + 2 warm-ups) + (6 + 2 x 2)) renewals;
	// in replay mode each run issues one certificate per client.
	n := c.take()
	if all := n.issued + n.replayed; all != 2*2*2*((6+2)+(6+4)) || n.refused != 0 {
		t.Errorf("CA saw %+v", n)
	}
	if want := 2*2*(8+10) + 2*2*(1+2); n.issued != want {
		t.Errorf("%d renewals issued a certificate, want %d", n.issued, want)
	}
	c.checkSaved(t, ids, "svc0", "svc1")

	// More clients than identities: an error.
	if err := run([]string{"--target", "a," + target, "--clients", "3"}, &out); err == nil || !strings.Contains(err.Error(), "3 clients need 3 identities") {
		t.Errorf("too few identities: %v", err)
	}
}

// TestFailures: any answer but 201 with a chain for the client's key stops
// the run with the server's status and message.
func TestFailures(t *testing.T) {
	c := newLineageCA(t)
	ids := t.TempDir()
	c.enroll(t, ids, "svc0")
	stale := t.TempDir()
	if err := os.CopyFS(filepath.Join(stale, "svc0"), os.DirFS(filepath.Join(ids, "svc0"))); err != nil {
		t.Fatal(err)
	}
	args := func(dir string) []string {
		return []string{"--target", "a," + c.url + "," + dir, "--modes", "fresh", "--clients", "1", "--n", "3"}
	}
	if err := run(args(ids), io.Discard); err != nil {
		t.Fatal(err)
	}
	// A copy of the identity from before those renewals is a reuse.
	if err := run(args(stale), io.Discard); err == nil || !strings.Contains(err.Error(), "403 Forbidden") ||
		!strings.Contains(err.Error(), "is superseded") {
		t.Errorf("stale certificate: %v", err)
	}
	c.set(func(c *lineageCA) { c.status = http.StatusOK })
	if err := run(args(ids), io.Discard); err == nil || !strings.Contains(err.Error(), "200 OK, want 201 Created") {
		t.Errorf("200 instead of 201: %v", err)
	}
	// That answer was not taken, so the identity is one renewal behind the
	// CA, like an agent whose answer was lost: its next renewal is a replay
	// of the refused answer, then renewals go on.
	c.set(func(c *lineageCA) { c.status = http.StatusCreated })
	c.take()
	if err := run(args(ids), io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, want := c.take(), (counts{issued: 4, replayed: 1, conns: 5}); got != want {
		t.Errorf("after a refused answer: CA saw %+v, want %+v", got, want)
	}
	c.checkSaved(t, ids, "svc0")
	c.set(func(c *lineageCA) { c.down = true })
	if err := run(args(ids), io.Discard); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("server down: %v", err)
	}
}

// TestNullRenew: the null server answers with the client's own chain in
// the shape the agent decodes, and refuses a request without a certificate.
func TestNullRenew(t *testing.T) {
	c := newLineageCA(t)
	dir := t.TempDir()
	c.enroll(t, dir, "svc")
	st, _ := agent.OpenDir(filepath.Join(dir, "svc"), "", false)
	cred, err := st.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/1.0/renew", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: cred.Chain}
	w := httptest.NewRecorder()
	nullRenew(w, r)
	got, err := agent.DecodeSignResponse(w.Body.Bytes())
	if w.Code != http.StatusCreated || err != nil || len(got) != len(cred.Chain) || !got[0].Equal(cred.Leaf()) {
		t.Errorf("null renewal: %d, %v, %d certificates", w.Code, err, len(got))
	}
	w = httptest.NewRecorder()
	nullRenew(w, httptest.NewRequest("POST", "/1.0/renew", nil))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("without a client certificate: %d", w.Code)
	}
	for _, args := range [][]string{{"--cert", "x"}, {"--listen"}, {"--cert", "/nonexistent", "--key", "/nonexistent"}} {
		if err := serveNull(args, io.Discard); err == nil {
			t.Errorf("serve-null %q: no error", args)
		}
	}
}

// TestNullTarget runs serve-null and measures it in both modes: it answers
// every renewal with the certificate presented, so nothing is new and the
// identities are left as they are.
func TestNullTarget(t *testing.T) {
	c := newLineageCA(t)
	ids := t.TempDir()
	c.enroll(t, ids, "svc0", "svc1")
	files := t.TempDir()
	certFile, keyFile := filepath.Join(files, "server.crt"), filepath.Join(files, "server.key")
	var chain []byte
	for _, der := range c.serverCert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.serverCert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, chain, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	// serve-null runs until the process ends; the test binary's end stops it.
	go serveNull([]string{"--listen", "127.0.0.1:0", "--cert", certFile, "--key", keyFile}, pw)
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "serve-null listening on ")
	if !ok {
		t.Fatalf("serve-null said %q", line)
	}
	var out strings.Builder
	if err := run([]string{"--target", "null," + url + "," + ids, "--clients", "2", "--n", "8"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := out.String()
	fresh, replay := rows(got, "null", "fresh"), rows(got, "null", "replay")
	if len(fresh) != 1 || fresh[0][6] != "0" || fresh[0][7] != "8" || len(replay) != 1 || replay[0][6] != "0" {
		t.Errorf("null rows:\n%s", got)
	}
	if strings.Contains(got, "saved") {
		t.Errorf("the null server changed no certificate, yet:\n%s", got)
	}
	c.checkSaved(t, ids, "svc0", "svc1")
}

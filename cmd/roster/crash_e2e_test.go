package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent"
	"github.com/rosterhq/roster/api"
)

// The tests here are issue 12's "Evidence" for several nodes: two real
// server processes on one PostgreSQL database, node A killed with SIGKILL
// in the middle of a storm of requests. Everything A acknowledged before it
// died is known to node B, the clients carry on against B, `roster audit
// verify` accepts the chain, and A starts again from its data directory.

// rootPool is the pool of the nodes' root (one CA, so one root for both).
func rootPool(t *testing.T, s *serverProc) *x509.CertPool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.dataDir, "root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatal("root.crt holds no certificate")
	}
	return pool
}

// killDuring runs the storm's workers against node a and kills a with
// SIGKILL as soon as they have acknowledged atLeast requests: a worker
// calls ack for each answer, and the one that makes it atLeast wakes the
// kill, while the others keep going. It returns the acknowledgements
// counted. A worker returns on its first transport error after the kill
// (the node is gone); before the kill, every error is the test's failure,
// which the worker reports with t.Errorf before it returns.
func killDuring(t *testing.T, a *serverProc, workers int, work func(killed *atomic.Bool, ack func()), atLeast int) int {
	t.Helper()
	var (
		killed  atomic.Bool
		acked   atomic.Int64
		reached = make(chan struct{})
		wg      sync.WaitGroup
	)
	ack := func() {
		if acked.Add(1) == int64(atLeast) {
			close(reached)
		}
	}
	for range workers {
		wg.Go(func() { work(&killed, ack) })
	}
	exited := make(chan struct{})
	go func() { wg.Wait(); close(exited) }()
	select {
	case <-reached:
	case <-exited:
		t.Fatalf("every worker stopped before node A was killed, %d requests acknowledged", acked.Load())
	case <-time.After(3 * time.Minute):
		t.Fatalf("node A acknowledged %d requests in 3 minutes, want %d", acked.Load(), atLeast)
	}
	killed.Store(true)
	a.kill()
	<-exited
	return int(acked.Load())
}

// renewLine is one identity renewed again and again, as its agent does:
// over a fresh mTLS connection with its current certificate, each new
// certificate becoming the current one. One goroutine at a time uses it.
type renewLine struct {
	name  string
	key   crypto.Signer
	chain [][]byte // DER, leaf first
	// acked lists the serials of the certificates answered with 201, in
	// order; onA counts those answered by node A.
	acked []string
	onA   int
}

// enrollLines scans host app1 with the given service accounts, gives each
// an owner and enrolls its identity with the agent's enrollment
// (agent.Enroll, what roster-agent enroll runs) into tmp.
func enrollLines(t *testing.T, s *serverProc, admin string, accounts []string) []*renewLine {
	t.Helper()
	c := newAPIClient(t, s)
	if st, body := c.do("POST", "/v1/scans", admin, mustJSON(t, testReport("app1", time.Now().UTC(), accounts...))); st != http.StatusOK {
		t.Fatalf("submit app1: %d %s", st, body)
	}
	tmp := t.TempDir()
	var lines []*renewLine
	for _, acc := range accounts {
		if st, body := c.do("PUT", "/v1/accounts/"+acc+"/owner", admin, mustJSON(t, api.Owner{Name: "team-" + acc})); st != http.StatusOK {
			t.Fatalf("owner of %s: %d %s", acc, st, body)
		}
		st, body := c.do("POST", "/v1/enrollments", admin, mustJSON(t, api.EnrollmentRequest{Host: "app1", Account: acc}))
		var tk api.Enrollment
		if st != http.StatusCreated || json.Unmarshal(body, &tk) != nil {
			t.Fatalf("enrollment token for %s: %d %s", acc, st, body)
		}
		dir := filepath.Join(tmp, acc)
		if _, err := agent.Enroll(context.Background(), agent.EnrollOptions{Server: s.URL, RootFingerprint: tk.RootFingerprint, Token: tk.Token, Dir: dir}); err != nil {
			t.Fatalf("enroll %s: %v", acc, err)
		}
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, agent.CertFile), filepath.Join(dir, agent.KeyFile))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, &renewLine{name: acc, key: pair.PrivateKey.(crypto.Signer), chain: pair.Certificate})
	}
	return lines
}

// renew sends POST /1.0/renew to base over a new mTLS connection. On 201
// the answer, checked to be a chain for the line's key, becomes the
// current certificate and its serial is acknowledged. The error is a
// transport error (status 0) or a refusal.
func (l *renewLine) renew(base string, roots *x509.CertPool) (int, error) {
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{
		RootCAs: roots, MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: l.chain, PrivateKey: l.key}},
	}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	resp, err := hc.Post(base+"/1.0/renew", "application/json", http.NoBody)
	if err != nil {
		return 0, fmt.Errorf("renew %s: %w", l.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("renew %s: read the answer: %w", l.name, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return resp.StatusCode, fmt.Errorf("renew %s: %s: %s", l.name, resp.Status, body)
	}
	chain, err := agent.DecodeSignResponse(body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("renew %s: %w", l.name, err)
	}
	if !l.key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(chain[0].PublicKey) {
		return resp.StatusCode, fmt.Errorf("renew %s: certificate %s is for another key", l.name, chain[0].SerialNumber)
	}
	l.chain = nil
	for _, c := range chain {
		l.chain = append(l.chain, c.Raw)
	}
	l.acked = append(l.acked, chain[0].SerialNumber.String())
	return resp.StatusCode, nil
}

// auditEvents reads the whole audit log from s (GET /v1/audit, JSON
// lines).
func auditEvents(t *testing.T, s *serverProc, admin string) []api.AuditEvent {
	t.Helper()
	st, body := newAPIClient(t, s).do("GET", "/v1/audit?format=jsonl", admin, nil)
	if st != http.StatusOK {
		t.Fatalf("audit list: %d %s", st, body)
	}
	var evs []api.AuditEvent
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev api.AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit line %q: %v", sc.Bytes(), err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// auditVerify runs `roster audit verify` against s and requires an intact
// chain.
func auditVerify(t *testing.T, s *serverProc, admin string) {
	t.Helper()
	out := s.mustCLI(admin, "audit", "verify")
	if !strings.Contains(out, "intact") {
		t.Errorf("%s audit verify: %s", s.URL, out)
	}
	t.Logf("roster audit verify on %s: %s", s.URL, strings.TrimSpace(out))
}

// TestKillNodeDuringRenewalStorm: eight identities renew over and over
// against node A, each over a fresh mTLS connection, until A is killed
// with SIGKILL. Every certificate A answered with is known to node B: its
// renewal is in the audit log B reads, and each identity's last
// certificate from A renews on B (renewed anew, or, when A recorded a
// successor it never got to send, that successor replayed), then keeps
// renewing on B; B's inventory holds each identity's newest certificate,
// no reuse is flagged, the audit chain verifies, and A, restarted from its
// data directory, is ready and renews too.
func TestKillNodeDuringRenewalStorm(t *testing.T) {
	a, b := twoNodes(t)
	admin := a.adminToken()
	roots := rootPool(t, a)
	lines := enrollLines(t, a, admin, []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"})

	next := make(chan *renewLine, len(lines))
	for _, l := range lines {
		next <- l
	}
	close(next)
	onA := killDuring(t, a, len(lines), func(killed *atomic.Bool, ack func()) {
		l := <-next
		for {
			st, err := l.renew(a.URL, roots)
			if err != nil {
				if st != 0 || !killed.Load() {
					t.Errorf("node A: %v", err)
				}
				return
			}
			l.onA++
			ack()
		}
	}, 10*len(lines))
	if t.Failed() {
		t.FailNow()
	}

	// Each identity carries on against B: its first renewal there
	// presents the last certificate A answered with.
	const onB = 3
	var wg sync.WaitGroup
	for _, l := range lines {
		wg.Go(func() {
			for range onB {
				if _, err := l.renew(b.URL, roots); err != nil {
					t.Errorf("node B, after the kill: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	replays := strings.Count(b.out.String(), "certificate renewal replayed")
	t.Logf("renewals acknowledged by node A before the kill: %d (%d identities); by node B after it: %d; replays on B of a successor A recorded but never sent: %d",
		onA, len(lines), onB*len(lines), replays)

	// B's audit log holds every acknowledged renewal, A's and B's.
	renewed := map[string]bool{}
	for _, ev := range auditEvents(t, b, admin) {
		if ev.Action == "cert.renew" && ev.Outcome == "ok" {
			renewed[ev.Serial] = true
		}
		if ev.Action == "cert.reuse" || ev.Outcome != "ok" {
			t.Errorf("audit event %s %s %s: %s %s", ev.Action, ev.Outcome, ev.Serial, ev.Reason, ev.Detail)
		}
	}
	for _, l := range lines {
		for i, serial := range l.acked {
			if !renewed[serial] {
				t.Errorf("%s: certificate %s, acknowledged by node %s, has no renewal in B's audit log", l.name, serial, map[bool]string{true: "A", false: "B"}[i < l.onA])
			}
		}
	}

	// B's inventory: each identity's current certificate is its newest,
	// renewed from the one before, with no reuse flagged.
	st, body := newAPIClient(t, b).do("GET", "/v1/hosts/app1", admin, nil)
	var host api.HostDetail
	if st != http.StatusOK || json.Unmarshal(body, &host) != nil {
		t.Fatalf("host app1 on B: %d %s", st, body)
	}
	for _, l := range lines {
		i := slices.IndexFunc(host.Instances, func(in api.Instance) bool { return in.Account == l.name })
		switch {
		case i < 0:
			t.Errorf("%s: not on host app1 on B", l.name)
		case host.Instances[i].Cert == nil:
			t.Errorf("%s: no certificate on B", l.name)
		case host.Instances[i].Cert.Serial != l.acked[len(l.acked)-1] || host.Instances[i].Cert.Previous != l.acked[len(l.acked)-2]:
			t.Errorf("%s: B's current certificate %s (from %s), want %s (from %s)", l.name, host.Instances[i].Cert.Serial,
				host.Instances[i].Cert.Previous, l.acked[len(l.acked)-1], l.acked[len(l.acked)-2])
		case host.Instances[i].Cert.ReuseDetectedAt != nil:
			t.Errorf("%s: reuse flagged on B", l.name)
		}
	}

	// A starts again from its data directory, is ready, and renews what B
	// issued.
	a.restart()
	ready := newAPIClient(t, a)
	waitFor(t, "restarted node A's /readyz to answer 200", time.Minute, func() bool {
		st, _ := ready.do("GET", "/readyz", "", nil)
		return st == http.StatusOK
	}, nil)
	for _, l := range lines {
		if _, err := l.renew(a.URL, roots); err != nil {
			t.Errorf("restarted node A: %v", err)
		}
	}

	// B's CA holds the record of every certificate A acknowledged (all
	// superseded by now): B revokes each by serial, which it refuses for
	// a serial it did not issue, and its CRL lists them.
	cb := newAPIClient(t, b)
	var fromA []string
	for _, l := range lines {
		fromA = append(fromA, l.acked[:l.onA]...)
	}
	for _, serial := range fromA {
		if st, body := cb.do("POST", "/v1/revocations", admin, mustJSON(t, api.RevokeRequest{Serial: serial, Reason: "superseded"})); st != http.StatusOK {
			t.Errorf("revoke %s, acknowledged by node A, on node B: %d %s", serial, st, body)
		}
	}
	st, crlPEM := cb.do("GET", "/crl?format=pem", "", nil)
	blk, _ := pem.Decode(crlPEM)
	if st != http.StatusOK || blk == nil {
		t.Fatalf("B's CRL: %d %s", st, crlPEM)
	}
	crl, err := x509.ParseRevocationList(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, e := range crl.RevokedCertificateEntries {
		listed[e.SerialNumber.String()] = true
	}
	for _, serial := range fromA {
		if !listed[serial] {
			t.Errorf("B's CRL does not list %s, revoked on B", serial)
		}
	}
	auditVerify(t, b, admin)
}

// TestKillNodeDuringIngestStorm: 200 scan reports of distinct hosts go to
// node A from eight operator clients at once (POST /v1/scans, as roster
// scan --submit sends them) until A is killed with SIGKILL; the reports A
// did not acknowledge go to node B. B then lists every host with its
// accounts, its audit log holds an ingest of each, and the audit chain
// verifies.
func TestKillNodeDuringIngestStorm(t *testing.T) {
	a, b := twoNodes(t)
	admin := a.adminToken()
	const hosts = 200
	now := time.Now().UTC()
	reports := make([][]byte, hosts)
	names := make([]string, hosts)
	for i := range reports {
		names[i] = fmt.Sprintf("node%03d", i)
		// One account of its own and one every host has.
		reports[i] = mustJSON(t, testReport(names[i], now, fmt.Sprintf("app%03d", i), "backup"))
	}

	ackedBy := make([]string, hosts) // "A", "B", or "" for not yet
	var next atomic.Int64
	ca := newAPIClient(t, a) // its transport is safe for concurrent use
	submit := func(hc *http.Client, base string, i int) (int, error) {
		req, err := http.NewRequest("POST", base+"/v1/scans", bytes.NewReader(reports[i]))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, fmt.Errorf("submit %s: %w", names[i], err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, fmt.Errorf("submit %s: read the answer: %w", names[i], err)
		}
		if resp.StatusCode/100 != 2 {
			return resp.StatusCode, fmt.Errorf("submit %s: %s: %s", names[i], resp.Status, body)
		}
		return resp.StatusCode, nil
	}
	onA := killDuring(t, a, 8, func(killed *atomic.Bool, ack func()) {
		for {
			i := int(next.Add(1) - 1)
			if i >= hosts {
				return
			}
			st, err := submit(ca.hc, a.URL, i)
			if err != nil {
				if st != 0 || !killed.Load() {
					t.Errorf("node A: %v", err)
				}
				return
			}
			ackedBy[i] = "A"
			ack()
		}
	}, hosts/4)
	if t.Failed() {
		t.FailNow()
	}

	// The rest go to B, among them any A ingested without answering.
	cb := newAPIClient(t, b)
	for i := range hosts {
		if ackedBy[i] != "" {
			continue
		}
		if _, err := submit(cb.hc, b.URL, i); err != nil {
			t.Fatalf("node B, after the kill: %v", err)
		}
		ackedBy[i] = "B"
	}
	t.Logf("scan reports acknowledged by node A before the kill: %d of %d; by node B after it: %d", onA, hosts, hosts-onA)

	// Every host, with both its accounts, on B.
	for i, name := range names {
		st, body := cb.do("GET", "/v1/hosts/"+name, admin, nil)
		var h api.HostDetail
		if st != http.StatusOK || json.Unmarshal(body, &h) != nil {
			t.Errorf("host %s (acknowledged by %s) on B: %d %s", name, ackedBy[i], st, body)
			continue
		}
		var got []string
		for _, in := range h.Instances {
			if in.GoneAt == nil {
				got = append(got, in.Account)
			}
		}
		slices.Sort(got)
		if want := []string{fmt.Sprintf("app%03d", i), "backup"}; !slices.Equal(got, want) {
			t.Errorf("host %s (acknowledged by %s) on B has accounts %q, want %q", name, ackedBy[i], got, want)
		}
	}

	// An ingest of each in B's audit log.
	ingested := map[string]int{}
	for _, ev := range auditEvents(t, b, admin) {
		if ev.Action == "scan.ingest" && ev.Outcome == "ok" {
			ingested[ev.Host]++
		}
	}
	twice := 0
	for i, name := range names {
		switch {
		case ingested[name] == 0:
			t.Errorf("host %s (acknowledged by %s): no ingest in B's audit log", name, ackedBy[i])
		case ingested[name] > 1 && ackedBy[i] == "B":
			twice++ // A ingested it but died before it answered
		}
	}
	t.Logf("reports ingested by node A without an answer, then again by node B: %d", twice)
	auditVerify(t, b, admin)
}

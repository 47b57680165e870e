package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent/agenttest"
)

// fixtureHost writes a small host root: billing is a service account with
// a static password and a unit running as it.
func fixtureHost(t testing.TB, dir, hostname string, billingHash string) {
	t.Helper()
	files := map[string]string{
		"etc/hostname":   hostname + "\n",
		"etc/machine-id": "0123456789abcdef0123456789abcdef\n",
		"etc/os-release": "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
		"etc/passwd": "root:x:0:0:root:/root:/bin/bash\n" +
			"billing:x:1001:1001:billing batch:/srv/billing:/bin/sh\n",
		"etc/shadow": "root:*:19000:0:99999:7:::\n" +
			"billing:" + billingHash + ":19000:0:99999:7:::\n",
		"etc/group":                          "root:x:0:\nbilling:x:1001:\n",
		"etc/systemd/system/billing.service": "[Service]\nUser=billing\nExecStart=/usr/local/bin/billing-batch\n",
		"etc/systemd/system/multi-user.target.wants/.keep": "",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "etc/shadow"), 0o600)
	os.Symlink("/etc/systemd/system/billing.service", filepath.Join(dir, "etc/systemd/system/multi-user.target.wants/billing.service"))
}

// enrollTicket is `roster enroll --format json`.
type enrollTicket struct {
	Token           string `json:"token"`
	RootFingerprint string `json:"root_fingerprint"`
	Identity        string `json:"identity"`
}

func enroll(t testing.TB, s *serverProc, token string, args ...string) enrollTicket {
	t.Helper()
	out := s.mustCLI(token, append([]string{"enroll", "--format", "json"}, args...)...)
	var tk enrollTicket
	if err := json.Unmarshal([]byte(out), &tk); err != nil || tk.Token == "" {
		t.Fatalf("enroll %v: %v\n%s", args, err, out)
	}
	return tk
}

func leafOf(t testing.TB, certFile string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s: no PEM", certFile)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func countLines(path string) int {
	data, _ := os.ReadFile(path)
	return bytes.Count(data, []byte("\n"))
}

// waitFor polls cond every 200ms until it holds or timeout passes; check,
// when not nil, runs at every poll and may fail the test.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool, check func()) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if check != nil {
			check()
		}
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// TestAgentEndToEnd is the whole replacement story with real processes:
// scan, owner, enroll, an agent renewing a short-lived certificate and
// reloading the service, a server outage it rides out, host scans over mTLS
// that move the account to managed, a real PostgreSQL that accepts the
// certificate instead of a password, and revocation that ends it all.
func TestAgentEndToEnd(t *testing.T) {
	_, agentBin := buildBinaries(t)
	tmp := t.TempDir()
	fix := filepath.Join(tmp, "host")
	fixtureHost(t, fix, "app1", "$y$j9T$abcdefghijklmnopqrstu.$0123456789abcdefghijklmnopqrstuvwxyzABCDE")

	port := freePort(t)
	s := startServer(t, filepath.Join(tmp, "data"), "--scan-on-start=false", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--default-validity", "30s", "--min-validity", "1s")
	admin := s.adminToken()

	s.mustCLI(admin, "scan", "--root", fix, "--submit")
	out, errOut, code := s.cli(admin, "enroll", "billing", "--host", "app1")
	if code == 0 || !strings.Contains(errOut, "no owner") || !strings.Contains(errOut, "roster owner set") {
		t.Fatalf("enroll without owner: exit %d\n%s%s", code, out, errOut)
	}
	s.mustCLI(admin, "owner", "set", "billing", "team-billing")

	svc := enroll(t, s, admin, "billing", "--host", "app1")
	host := enroll(t, s, admin, "--host", "app1")
	if !strings.HasSuffix(svc.Identity, "/host/app1/sa/billing") || !strings.HasSuffix(host.Identity, "/host/app1") {
		t.Fatalf("identities: %q, %q", svc.Identity, host.Identity)
	}
	svcDir, hostDir := filepath.Join(tmp, "id-billing"), filepath.Join(tmp, "id-host")
	for _, e := range []struct {
		tk  enrollTicket
		dir string
	}{{svc, svcDir}, {host, hostDir}} {
		cmd := exec.Command(agentBin, "enroll", "--server", s.URL, "--root-fingerprint", e.tk.RootFingerprint, "--token", e.tk.Token, "--dir", e.dir)
		cmd.Env = cleanEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("roster-agent enroll: %v\n%s", err, out)
		}
	}
	// A token is usable once.
	cmd := exec.Command(agentBin, "enroll", "--server", s.URL, "--root-fingerprint", svc.RootFingerprint, "--token", svc.Token, "--dir", filepath.Join(tmp, "again"))
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("replayed token accepted:\n%s", out)
	}
	if fi, err := os.Stat(filepath.Join(svcDir, "key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key.pem: %v %v", fi, err)
	}

	// A host certificate reports for its own host only; a service
	// identity's certificate reports for no host.
	for _, tc := range []struct {
		dir, host string
		want      int
	}{{hostDir, "other-host", 403}, {svcDir, "app1", 401}} {
		pair, err := tls.LoadX509KeyPair(filepath.Join(tc.dir, "cert.pem"), filepath.Join(tc.dir, "key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		c := newAPIClient(t, s)
		c.hc.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{pair}
		st, body := c.do("POST", "/v1/scans", "", mustJSON(t, testReport(tc.host, time.Now().UTC(), "billing")))
		if st != tc.want {
			t.Errorf("scan of %s with the certificate in %s: %d %s, want %d", tc.host, tc.dir, st, body, tc.want)
		}
	}

	reloadLog := filepath.Join(tmp, "reloads")
	cfg := filepath.Join(tmp, "agent.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`identities:
  - name: billing
    dir: %s
    reload:
      - exec: ["/bin/sh", "-c", "echo reloaded >> %s"]
  - name: host
    dir: %s
    scan:
      interval: 3s
      root: %s
`, svcDir, reloadLog, hostDir, fix)), 0o600)

	agentOut := &agenttest.LogBuffer{}
	agent := exec.Command(agentBin, "run", "--config", cfg)
	agent.Env = cleanEnv()
	agent.Stdout, agent.Stderr = agentOut, agentOut
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	agentDone := make(chan error, 1)
	go func() { agentDone <- agent.Wait() }()
	t.Cleanup(func() {
		agent.Process.Kill()
		if t.Failed() {
			t.Logf("agent output:\n%s", agentOut.String())
			t.Logf("server output:\n%s", s.out.String())
		}
	})

	certFile, keyFile := filepath.Join(svcDir, "cert.pem"), filepath.Join(svcDir, "key.pem")
	stillValid := func() {
		if c := leafOf(t, certFile); time.Now().After(c.NotAfter) {
			t.Fatalf("certificate on disk expired at %s", c.NotAfter)
		}
	}
	first := leafOf(t, certFile)
	waitFor(t, "two renewals with reloads", 90*time.Second, func() bool { return countLines(reloadLog) >= 2 }, stillValid)
	if leafOf(t, certFile).SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("reloads ran but the certificate was not renewed")
	}

	// Outage longer than one renewal interval: stop right after a renewal
	// of both identities, so that neither certificate can lapse during the
	// outage (the host identity renews on its own schedule; stopping just
	// before its renewal would let it expire and fail the later scans).
	hostCert := filepath.Join(hostDir, "cert.pem")
	var interval time.Duration
	waitFor(t, "a renewal of both identities", 90*time.Second, func() bool {
		svcLeft := time.Until(leafOf(t, certFile).NotAfter)
		hostLeft := time.Until(leafOf(t, hostCert).NotAfter)
		interval = svcLeft / 2
		return svcLeft > 20*time.Second && hostLeft > interval+8*time.Second
	}, stillValid)
	s.stop()
	outage := time.Now()
	n := countLines(reloadLog)
	waitFor(t, "the outage to outlast a renewal interval", 2*interval+10*time.Second,
		func() bool { return time.Since(outage) > interval+3*time.Second }, stillValid)
	if countLines(reloadLog) != n {
		t.Fatal("a renewal succeeded while the server was down")
	}
	s.restart()
	waitFor(t, "renewal after the server returned", 60*time.Second, func() bool { return countLines(reloadLog) > n }, stillValid)

	// The agent's host scans arrive over mTLS: removing the static password
	// from the host moves the enrolled account to managed.
	fixtureHost(t, fix, "app1", "!")
	waitFor(t, "billing to become managed", 60*time.Second, func() bool {
		out, _, _ := s.cli(admin, "accounts", "show", "billing", "--format", "json")
		return strings.Contains(out, `"status": "managed"`)
	}, stillValid)

	// A real service: PostgreSQL accepts the agent-managed certificate and no password.
	pg := startPostgres(t, filepath.Join(s.dataDir, "root.crt"), "billing")
	if out, err := pg.connect("billing", certFile, keyFile); err != nil || out != "billing" {
		t.Fatalf("psql with the agent's certificate: %v\n%s", err, out)
	}

	// Revocation: the next renewal fails, the CRL refuses it at once, and
	// once the certificate runs out, status says so and exits non-zero.
	s.mustCLI(admin, "revoke", "billing", "--host", "app1", "--reason", "test")
	c := newAPIClient(t, s)
	st, crl := c.do("GET", "/crl", "", nil)
	if st != 200 {
		t.Fatalf("GET /crl: %d", st)
	}
	if !bytes.HasPrefix(crl, []byte("-----BEGIN")) {
		crl = pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl})
	}
	pg.setCRL(crl)
	if out, err := pg.connect("billing", certFile, keyFile); err == nil {
		t.Fatalf("psql with a revoked certificate succeeded: %s", out)
	}
	revoked := leafOf(t, certFile)
	waitFor(t, "the revoked certificate to expire", time.Until(revoked.NotAfter)+10*time.Second,
		func() bool { return time.Now().After(revoked.NotAfter.Add(time.Second)) }, nil)
	if leafOf(t, certFile).SerialNumber.Cmp(revoked.SerialNumber) != 0 {
		t.Fatal("a revoked identity was renewed")
	}
	st2 := exec.Command(agentBin, "status", "--config", cfg)
	st2.Env = cleanEnv()
	out2, err := st2.CombinedOutput()
	if err == nil {
		t.Fatalf("status exits 0 with an expired identity:\n%s", out2)
	}
	if !strings.Contains(string(out2), "billing") {
		t.Errorf("status output:\n%s", out2)
	}
	if out, err := pg.connect("billing", certFile, keyFile); err == nil {
		t.Fatalf("psql with an expired certificate succeeded: %s", out)
	}

	// SIGTERM ends the agent cleanly.
	agent.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-agentDone:
		if err != nil {
			t.Errorf("agent exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("agent did not exit on SIGTERM")
	}
	logs := agentOut.String()
	for _, secret := range []string{svc.Token, host.Token, admin} {
		if strings.Contains(logs, secret) || strings.Contains(s.out.String(), secret) {
			t.Error("a token appears in the logs")
		}
	}
	if !strings.Contains(logs, "serial") || !strings.Contains(logs, "not_after") {
		t.Errorf("renewal log lines lack serial/not_after:\n%s", logs)
	}
}

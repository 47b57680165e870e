package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// tcpProxy forwards connections on a loopback port to target, counting
// them and how many are open at once. With dropAfter > 0 it cuts its first
// connection once the server has sent dropAfter bytes through it; it holds
// each connection for hold before forwarding it.
type tcpProxy struct {
	port      int
	target    string
	dropAfter int64
	hold      time.Duration

	mu                    sync.Mutex
	conns, open, mostOpen int
	cut                   bool  // the first connection was cut
	sentFirst, sentSecond int64 // server bytes through the first two
}

func newTCPProxy(t *testing.T, target string, dropAfter int64, hold time.Duration) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{port: ln.Addr().(*net.TCPAddr).Port, target: target, dropAfter: dropAfter, hold: hold}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); p.serve(c) }()
		}
	}()
	return p
}

func (p *tcpProxy) serve(client net.Conn) {
	defer client.Close()
	p.mu.Lock()
	p.conns++
	n := p.conns
	p.open++
	p.mu.Unlock()
	defer func() { p.mu.Lock(); p.open--; p.mu.Unlock() }()
	// Held connections overlap if the client opens too many; counted
	// after the hold, a connection the client just closed is no longer.
	time.Sleep(p.hold)
	p.mu.Lock()
	p.mostOpen = max(p.mostOpen, p.open)
	p.mu.Unlock()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { io.Copy(server, client); server.Close() }()
	var sent int64
	if n == 1 && p.dropAfter > 0 {
		sent, _ = io.CopyN(client, server, p.dropAfter)
		p.mu.Lock()
		p.cut = sent == p.dropAfter
		p.mu.Unlock()
	} else {
		sent, _ = io.Copy(client, server)
	}
	p.mu.Lock()
	switch n {
	case 1:
		p.sentFirst = sent
	case 2:
		p.sentSecond = sent
	}
	p.mu.Unlock()
}

// writeKnownHosts writes a known_hosts file naming s's host key at port.
func (s *sftpSSHD) writeKnownHosts(t *testing.T, port int) string {
	t.Helper()
	pub, err := os.ReadFile(s.hostKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, fmt.Appendf(nil, "[127.0.0.1]:%d %s", port, pub), 0o600)
	return kh
}

// TestSSHScanRetry: a target whose first connection drops in the middle
// of the scan (after the login, while files are read) is scanned on the
// one retry, with the report of an undisturbed scan; a partial report is
// never the result.
func TestSSHScanRetry(t *testing.T) {
	s := newSFTPSSHD(t, fixtureRoot, false)
	key := writeFingerprintKey(t)
	directOut, stderr, code := rosterScan(t, nil, s.sshScanArgs(s.knownHosts, "--format", "json", "--fingerprint-key", key)...)
	if code != 0 {
		t.Fatalf("direct scan: exit %d: %s", code, stderr)
	}
	// An SSH login through the proxy is some 5 kB from the server; the
	// fixture's scan is far more.
	p := newTCPProxy(t, fmt.Sprintf("127.0.0.1:%d", s.port), 40<<10, 0)
	kh := s.writeKnownHosts(t, p.port)
	out, stderr, code := rosterScan(t, nil, "--ssh", fmt.Sprintf("%s@127.0.0.1:%d", s.user, p.port), "--identity", s.clientKey,
		"--known-hosts", kh, "--format", "json", "--fingerprint-key", key)
	if code != 0 {
		t.Fatalf("scan through the dropping proxy: exit %d: %s", code, stderr)
	}
	p.mu.Lock()
	conns, cut, first, second := p.conns, p.cut, p.sentFirst, p.sentSecond
	p.mu.Unlock()
	if conns != 2 || !cut || second <= first {
		t.Fatalf("%d connections (first cut: %v after %d bytes, second %d bytes), want the first cut mid-scan and one retry", conns, cut, first, second)
	}
	direct, retried := decodeReport(t, []byte(directOut)), decodeReport(t, []byte(out))
	retried.Host.Root = direct.Host.Root // the proxy's port
	assertSameReport(t, direct, retried)
}

// TestSSHScanHostsBound: --ssh-hosts keeps at most --parallel connections
// open at once, and shows its progress only on a terminal.
func TestSSHScanHostsBound(t *testing.T) {
	s := newSFTPSSHD(t, fixtureRoot, false)
	p := newTCPProxy(t, fmt.Sprintf("127.0.0.1:%d", s.port), 0, 200*time.Millisecond)
	kh := s.writeKnownHosts(t, p.port)
	hosts := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(hosts, []byte(strings.Repeat(fmt.Sprintf("%s@127.0.0.1:%d\n", s.user, p.port), 6)), 0o600)
	args := []string{"--ssh-hosts", hosts, "--parallel", "2", "--identity", s.clientKey, "--known-hosts", kh, "--output", filepath.Join(t.TempDir(), "r.jsonl")}
	out, stderr, code := rosterScan(t, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out, stderr)
	}
	p.mu.Lock()
	conns, most := p.conns, p.mostOpen
	p.mu.Unlock()
	if conns != 6 || most != 2 {
		t.Errorf("%d connections, at most %d at once; want 6, 2 at once", conns, most)
	}
	if strings.Contains(stderr, "scanned ") || !strings.Contains(out, "6 hosts scanned, 0 failed") {
		t.Errorf("output to pipes (no progress bar wanted):\n%s%s", out, stderr)
	}

	// On a terminal: script(1) runs roster on a pseudo-terminal.
	_, errScript := exec.LookPath("script")
	requireTool(t, "script (util-linux)", errScript == nil)
	bin, _ := buildBinaries(t)
	line := bin + " scan"
	for _, a := range args {
		line += " '" + a + "'"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := execCommand(ctx, "script", "-qefc", line, "/dev/null")
	var tty bytes.Buffer
	cmd.Stdout, cmd.Stderr = &tty, &tty
	if err := cmd.Run(); err != nil {
		t.Fatalf("on a terminal: %v\n%s", err, tty.String())
	}
	if !strings.Contains(tty.String(), "\rscanned 6/6 hosts, 0 failed") {
		t.Errorf("no progress bar on a terminal:\n%q", tty.String())
	}
}

// TestSSHScanHostKeyFiles: without --known-hosts the scan verifies
// against ~/.ssh/known_hosts; a host whose key changed is refused naming
// the line that disagrees.
func TestSSHScanHostKeyFiles(t *testing.T) {
	s := newSFTPSSHD(t, fixtureRoot, false)
	home := t.TempDir()
	os.Mkdir(filepath.Join(home, ".ssh"), 0o700)
	known, _ := os.ReadFile(s.knownHosts)
	os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), known, 0o600)
	args := []string{"--ssh", s.target(), "--identity", s.clientKey, "--format", "json"}
	if _, stderr, code := rosterScan(t, []string{"HOME=" + home}, args...); code != 0 {
		t.Fatalf("with ~/.ssh/known_hosts: exit %d: %s", code, stderr)
	}
	other := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", other).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	otherPub, _ := os.ReadFile(other + ".pub")
	changed := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(changed, fmt.Appendf(nil, "# fleet\n[127.0.0.1]:%d %s", s.port, otherPub), 0o600)
	_, stderr, code := rosterScan(t, nil, s.sshScanArgs(changed, "--format", "json")...)
	if code == 0 {
		t.Fatal("a host whose key changed was scanned")
	}
	if want := "does not match " + changed + " line 2: refusing"; !strings.Contains(stderr, want) {
		t.Errorf("refusal does not say %q:\n%s", want, stderr)
	}
}

// TestSSHScanReadOnly: the scan needs no shell: it runs against an
// account that sshd confines to internal-sftp (a command given over the
// same account does not run), and it asks only for the sftp subsystem.
func TestSSHScanReadOnly(t *testing.T) {
	s := newSFTPSSHD(t, fixtureRoot, false)
	marker := filepath.Join(s.chroot, "ran")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ssh := exec.CommandContext(ctx, "ssh", "-n", "-F", "/dev/null", "-p", fmt.Sprint(s.port), "-i", s.clientKey, "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile="+s.knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		s.user+"@127.0.0.1", "touch /ran")
	ssh.Env = cleanEnv()
	ssh.CombinedOutput() // internal-sftp runs instead, and ends with the input (-n)
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("a command ran over the SFTP-only account (%v): the test proves nothing", err)
	}
	mark := s.mark()
	if _, stderr, code := rosterScan(t, nil, s.sshScanArgs(s.knownHosts, "--format", "json")...); code != 0 {
		t.Fatalf("scan: exit %d: %s", code, stderr)
	}
	if !s.saidSince(mark, "Starting session: forced-command (config) 'internal-sftp'") {
		t.Errorf("the scan's session was not the forced internal-sftp:\n%s", s.log.String()[mark:])
	}
}

// TestSSHScanRosterCertificate: the scanner logs in with the SSH
// certificate roster's agent keeps for its identity (--identity on the
// agent's key, the certificate beside it), to an sshd that trusts roster's
// user CA and no key of the scanner's.
func TestSSHScanRosterCertificate(t *testing.T) {
	_, agentBin := buildBinaries(t)
	tmp := t.TempDir()
	s := newSFTPSSHD(t, fixtureRoot, false)
	srv := startServer(t, filepath.Join(tmp, "data"), "--scan-on-start=false", "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	admin := srv.adminToken()
	scanner := filepath.Join(tmp, "scanner-host")
	sshFixtureHost(t, scanner, "scanner1", "inventory")
	srv.mustCLI(admin, "scan", "--root", scanner, "--submit")
	srv.mustCLI(admin, "owner", "set", "inventory", "team-sec")
	tk := enroll(t, srv, admin, "inventory", "--host", "scanner1")
	idDir := filepath.Join(tmp, "id")
	cmd := exec.Command(agentBin, "enroll", "--server", srv.URL, "--root-fingerprint", tk.RootFingerprint, "--token", tk.Token, "--dir", idDir)
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("roster-agent enroll: %v\n%s", err, out)
	}
	cfg := filepath.Join(tmp, "agent.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "identities:\n  - name: inventory\n    dir: %s\n    ssh: {}\n", idDir), 0o600)
	agent := exec.Command(agentBin, "run", "--config", cfg)
	agent.Env = cleanEnv()
	agentOut := &bytes.Buffer{}
	agent.Stdout, agent.Stderr = agentOut, agentOut
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	key, certFile := filepath.Join(idDir, "ssh", "id_ed25519"), filepath.Join(idDir, "ssh", "id_ed25519-cert.pub")
	waitFor(t, "the agent's SSH certificate", 60*time.Second, func() bool { _, err := os.Stat(certFile); return err == nil }, nil)

	// Before sshd trusts roster's user CA the certificate does not log in.
	args := []string{"--ssh", s.target(), "--identity", key, "--known-hosts", s.knownHosts, "--format", "json"}
	if _, _, code := rosterScan(t, nil, args...); code == 0 {
		t.Fatal("the roster certificate logged in before sshd trusted roster's CA: the test proves nothing")
	}
	appendFile(t, s.userCAs, srv.mustCLI(admin, "ssh", "ca", "--user"))
	text, _ := os.ReadFile(certFile)
	pub, _, _, _, err := ssh.ParseAuthorizedKey(text)
	if err != nil {
		t.Fatal(err)
	}
	cert, ok := pub.(*ssh.Certificate)
	if !ok || len(cert.ValidPrincipals) == 0 {
		t.Fatalf("the agent's certificate: %T %v", pub, pub)
	}
	appendFile(t, s.principals, strings.Join(cert.ValidPrincipals, "\n")+"\n")
	mark := s.mark()
	out, stderr, code := rosterScan(t, nil, args...)
	if code != 0 {
		t.Fatalf("scan with the roster certificate: exit %d: %s\nagent:\n%s", code, stderr, agentOut.String())
	}
	if rep := decodeReport(t, []byte(out)); len(rep.Accounts) == 0 {
		t.Error("no accounts")
	}
	if !s.saidSince(mark, "Accepted certificate ID \""+cert.KeyId+"\"") {
		t.Errorf("sshd did not log the roster certificate %q:\n%s", cert.KeyId, s.log.String()[mark:])
	}
}

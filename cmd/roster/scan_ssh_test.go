package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent/agenttest"
	"github.com/rosterhq/roster/scan"
)

// sftpSSHD is a private sshd on 127.0.0.1 that grants the test's user an
// SFTP-only account (ForceCommand internal-sftp) chrooted to a copy of a
// fixture root, the way a cautious team grants a scanner read access.
type sftpSSHD struct {
	*sshdProc
	chroot     string // the served root
	clientKey  string // the login key (authorized_keys)
	certKey    string // a key that logs in only with certKey-cert.pub
	knownHosts string // a known_hosts line for the host key
	caHosts    string // an @cert-authority line for the host CA
	userCAs    string // TrustedUserCAKeys: the test's user CA (append others)
	principals string // the account's AuthorizedPrincipalsFile: its name (append others)
}

// newSFTPSSHD copies fixture into a root-owned chroot and starts sshd; with
// hostCert the host key is certified by a CA (and caHosts trusts it).
func newSFTPSSHD(t *testing.T, fixture string, hostCert bool) *sftpSSHD {
	t.Helper()
	return newSFTPSSHDAs(t, fixture, hostCert, "")
}

// newSFTPSSHDAs is newSFTPSSHD with the SFTP-only account login ("" for
// the test's user; a certificate logs in only the test's user).
func newSFTPSSHDAs(t *testing.T, fixture string, hostCert bool, login string) *sftpSSHD {
	t.Helper()
	_, errSSHD := os.Stat("/usr/sbin/sshd")
	requireTool(t, "OpenSSH's sshd (openssh-server)", errSSHD == nil)
	_, errKeygen := exec.LookPath("ssh-keygen")
	requireTool(t, "ssh-keygen (openssh-client)", errKeygen == nil)
	// ChrootDirectory needs root: sshd chroots the session itself.
	requireTool(t, "root (sshd's ChrootDirectory)", os.Geteuid() == 0)
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Every component of the chroot must be root-owned and not writable
	// by group or others: not under /tmp.
	chroot, err := os.MkdirTemp("/run", "roster-sftp-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(chroot) })
	if out, err := exec.Command("cp", "-a", fixture+"/.", chroot).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	if err := os.Chmod(chroot, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &sftpSSHD{sshdProc: &sshdProc{t: t, port: freePort(t), dir: dir, user: cmp.Or(login, u.Username), log: &agenttest.LogBuffer{}}, chroot: chroot}
	// sshd reads authorized_keys as the user: keep it where any user can.
	keysDir, err := os.MkdirTemp("/run", "roster-sftp-keys-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(keysDir) })
	os.Chmod(keysDir, 0o755)
	keygen := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %v: %v\n%s", args, err, out)
		}
	}
	s.hostKey = filepath.Join(dir, "ssh_host_ed25519_key")
	keygen("-q", "-t", "ed25519", "-N", "", "-C", "", "-f", s.hostKey)
	s.clientKey = filepath.Join(dir, "scanner")
	keygen("-q", "-t", "ed25519", "-N", "", "-C", "", "-f", s.clientKey)
	pub, _ := os.ReadFile(s.clientKey + ".pub")
	os.WriteFile(filepath.Join(keysDir, "authorized_keys"), pub, 0o644)
	hostPub, _ := os.ReadFile(s.hostKey + ".pub")
	s.knownHosts = filepath.Join(dir, "known_hosts")
	os.WriteFile(s.knownHosts, fmt.Appendf(nil, "[127.0.0.1]:%d %s", s.port, hostPub), 0o600)
	// A user CA for certificate logins: the key "certified" (not in
	// authorized_keys) logs in only with its certificate.
	userCA := filepath.Join(dir, "user_ca")
	keygen("-q", "-t", "ed25519", "-N", "", "-C", "", "-f", userCA)
	s.certKey = filepath.Join(dir, "certified")
	keygen("-q", "-t", "ed25519", "-N", "", "-C", "", "-f", s.certKey)
	keygen("-q", "-s", userCA, "-I", "roster-scanner", "-n", u.Username, "-V", "-5m:+1h", s.certKey+".pub")
	s.userCAs = userCA + ".pub"
	os.Mkdir(filepath.Join(keysDir, "principals"), 0o755)
	s.principals = filepath.Join(keysDir, "principals", s.user)
	os.WriteFile(s.principals, []byte(s.user+"\n"), 0o644)
	certLine := "TrustedUserCAKeys " + userCA + ".pub\nAuthorizedPrincipalsFile " + keysDir + "/principals/%u\n"
	if hostCert {
		ca := filepath.Join(dir, "host_ca")
		keygen("-q", "-t", "ed25519", "-N", "", "-C", "", "-f", ca)
		keygen("-q", "-s", ca, "-I", "test-host", "-h", "-n", "127.0.0.1", s.hostKey+".pub")
		caPub, _ := os.ReadFile(ca + ".pub")
		s.caHosts = filepath.Join(dir, "ca_known_hosts")
		os.WriteFile(s.caHosts, fmt.Appendf(nil, "@cert-authority [127.0.0.1]:%d %s", s.port, caPub), 0o600)
		certLine += "HostCertificate " + s.hostKey + "-cert.pub\n"
	}
	os.MkdirAll("/run/sshd", 0o755)
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
%sPidFile %s/sshd.pid
AuthorizedKeysFile %s/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers %s
LogLevel VERBOSE
Subsystem sftp internal-sftp
Match User %s
  ForceCommand internal-sftp
  ChrootDirectory %s
  AllowTcpForwarding no
`, s.port, s.hostKey, certLine, dir, keysDir, s.user, s.user, chroot)
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	return s
}

func (s *sftpSSHD) target() string { return fmt.Sprintf("%s@127.0.0.1:%d", s.user, s.port) }

// sshScanArgs are the arguments of a remote scan of s, known hosts from kh.
func (s *sftpSSHD) sshScanArgs(kh string, extra ...string) []string {
	return append([]string{"--ssh", s.target(), "--identity", s.clientKey, "--known-hosts", kh}, extra...)
}

// copyTree copies the tree src (modes, owners and links kept) to a new
// directory and returns it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	return dst
}

func writeFingerprintKey(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "fp.key")
	os.WriteFile(f, []byte("0123456789abcdef0123456789abcdef"), 0o600)
	return f
}

// TestSSHScanMatchesLocal: the remote scan of a chrooted SFTP-only account
// reports exactly what the local scan of the same root does, apart from
// the root's name, the scan time and the warning that /proc is not there.
func TestSSHScanMatchesLocal(t *testing.T) {
	s := newSFTPSSHD(t, fixtureRoot, false)
	local, remote := s.scanBoth(t)
	if want := "sftp://" + s.target() + "/"; remote.Host.Root != want {
		t.Errorf("host.root = %q, want %q", remote.Host.Root, want)
	}
	if len(local.Accounts) == 0 || countCredentials(local) == 0 {
		t.Fatalf("the fixture scan found %d accounts, %d credentials: the comparison would prove nothing", len(local.Accounts), countCredentials(local))
	}
	kept := []scan.Warning{}
	sawProc := false
	for _, w := range remote.Warnings {
		if w.File == "/proc" {
			sawProc = true
			continue
		}
		kept = append(kept, w)
	}
	if !sawProc {
		t.Errorf("no warning that /proc is not readable over the chrooted account: %v", remote.Warnings)
	}
	remote.Warnings = kept
	assertSameReport(t, local, remote)
}

// assertSameReport: remote (a scan over SFTP) is local apart from the
// root's name and the scan time. It changes remote.
func assertSameReport(t *testing.T, local, remote *scan.Report) {
	t.Helper()
	remote.Host.Root, remote.Host.ScannedAt = local.Host.Root, local.Host.ScannedAt
	lj, _ := json.MarshalIndent(local, "", " ")
	rj, _ := json.MarshalIndent(remote, "", " ")
	// SFTP (version 3) carries modification times in whole seconds.
	seconds := regexp.MustCompile(`("changed_at": "[^".]*)\.[0-9]+Z"`)
	lj = seconds.ReplaceAll(lj, []byte(`${1}Z"`))
	if string(lj) != string(rj) {
		t.Errorf("remote report differs from the local one:\n%s", lineDiff(string(lj), string(rj)))
	}
}

// scanBoth scans s's root locally (with localArgs) and over SFTP, with
// the same fingerprint key, and returns both reports.
func (s *sftpSSHD) scanBoth(t *testing.T, localArgs ...string) (local, remote *scan.Report) {
	t.Helper()
	key := writeFingerprintKey(t)
	localOut, stderr, code := rosterScan(t, nil, append([]string{"--root", s.chroot, "--format", "json", "--fingerprint-key", key}, localArgs...)...)
	if code != 0 {
		t.Fatalf("local scan: exit %d: %s", code, stderr)
	}
	remoteOut, stderr, code := rosterScan(t, nil, s.sshScanArgs(s.knownHosts, "--format", "json", "--fingerprint-key", key)...)
	if code != 0 {
		t.Fatalf("remote scan: exit %d: %s", code, stderr)
	}
	return decodeReport(t, []byte(localOut)), decodeReport(t, []byte(remoteOut))
}

func countCredentials(rep *scan.Report) int {
	n := 0
	for _, a := range rep.Accounts {
		n += len(a.Credentials)
	}
	return n
}

// lineDiff shows the first differing lines of two texts.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)) && len(out) < 20; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n  local:  %s\n  remote: %s", i+1, x, y))
		}
	}
	return strings.Join(out, "\n")
}

// TestSSHScanHostKeys: an unknown host is refused naming the host, the
// key's fingerprint and how to add it; a host certified by a CA trusted in
// an @cert-authority line is accepted.
func TestSSHScanHostKeys(t *testing.T) {
	s := newSFTPSSHD(t, fixtureRoot, true)
	empty := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(empty, nil, 0o600)
	_, stderr, code := rosterScan(t, nil, s.sshScanArgs(empty, "--format", "json")...)
	if code == 0 {
		t.Fatal("a scan of an unknown host succeeded")
	}
	for _, want := range []string{"127.0.0.1:" + fmt.Sprint(s.port), "SHA256:", "ssh-keyscan", empty} {
		if !strings.Contains(stderr, want) {
			t.Errorf("refusal does not say %q:\n%s", want, stderr)
		}
	}
	// The hint's command works: after it, the host is known.
	hint := regexp.MustCompile("`(ssh-keyscan [^`]*)`").FindStringSubmatch(stderr)
	if hint == nil {
		t.Fatalf("no ssh-keyscan command in the refusal:\n%s", stderr)
	}
	if out, err := exec.Command("sh", "-c", hint[1]).CombinedOutput(); err != nil {
		t.Fatalf("the hint %q: %v\n%s", hint[1], err, out)
	}
	if _, stderr, code := rosterScan(t, nil, s.sshScanArgs(empty, "--format", "json")...); code != 0 {
		t.Fatalf("scan after the hint's command: exit %d: %s", code, stderr)
	}
	out, stderr, code := rosterScan(t, nil, s.sshScanArgs(s.caHosts, "--format", "json")...)
	if code != 0 {
		t.Fatalf("scan trusting the host CA: exit %d: %s", code, stderr)
	}
	if rep := decodeReport(t, []byte(out)); len(rep.Accounts) == 0 {
		t.Error("no accounts through the host CA")
	}
}

// TestSSHScanHostile: a huge file, a directory with very many entries and
// a symlink loop on the target are bounded: the scan finishes with
// warnings.
func TestSSHScanHostile(t *testing.T) {
	root := copyTree(t, fixtureRoot)
	// The huge file: a sparse 64 MiB group file, over the 4 MiB cap.
	f, err := os.OpenFile(filepath.Join(root, "etc", "group"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(64 << 20)
	f.Close()
	many := filepath.Join(root, "etc", "cron.d")
	os.MkdirAll(many, 0o755)
	for i := range 3000 {
		os.WriteFile(filepath.Join(many, fmt.Sprintf("job%05d", i)), []byte("# nothing\n"), 0o644)
	}
	os.Symlink("loop-b", filepath.Join(root, "etc", "sudoers.d", "loop-a"))
	os.Symlink("loop-a", filepath.Join(root, "etc", "sudoers.d", "loop-b"))
	s := newSFTPSSHD(t, root, false)
	out, stderr, code := rosterScan(t, nil, s.sshScanArgs(s.knownHosts, "--format", "json", "--ssh-timeout", "90s")...)
	if code != 0 {
		t.Fatalf("hostile scan: exit %d: %s", code, stderr)
	}
	rep := decodeReport(t, []byte(out))
	var text strings.Builder
	for _, w := range rep.Warnings {
		fmt.Fprintf(&text, "%s: %s\n", w.File, w.Message)
	}
	for _, want := range []string{"/etc/group", "loop-a"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("no warning about %s:\n%s", want, text.String())
		}
	}
}

// TestSSHScanHosts: --ssh-hosts scans every target, one bad host among
// good ones fails alone, and the exit status says so.
func TestSSHScanHosts(t *testing.T) {
	s := newSFTPSSHD(t, fixtureRoot, false)
	bad := freePort(t) // nothing listens there
	hosts := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(hosts, fmt.Appendf(nil, "# fleet\n%s\n\n127.0.0.1 is not a target# \n%s@127.0.0.1:%d # down\n%s\n", s.target(), s.user, bad, s.target()), 0o600)
	_, stderr, code := rosterScan(t, nil, "--ssh-hosts", hosts, "--identity", s.clientKey, "--known-hosts", s.knownHosts, "--output", filepath.Join(t.TempDir(), "r.jsonl"))
	if code == 0 || !strings.Contains(stderr, "line 4") {
		t.Fatalf("a bad line was accepted (exit %d): %s", code, stderr)
	}
	os.WriteFile(hosts, fmt.Appendf(nil, "# fleet\n%s\n%s@127.0.0.1:%d # down\n%s\n", s.target(), s.user, bad, s.target()), 0o600)
	reports := filepath.Join(t.TempDir(), "r.jsonl")
	out, stderr, code := rosterScan(t, nil, "--ssh-hosts", hosts, "--parallel", "2", "--identity", s.clientKey, "--known-hosts", s.knownHosts, "--output", reports)
	if code == 0 {
		t.Fatalf("exit 0 with a host down:\n%s", out)
	}
	if !strings.Contains(out, "2 hosts scanned, 1 failed") || !strings.Contains(out, fmt.Sprintf("failed: %s@127.0.0.1:%d: dial tcp 127.0.0.1:%d: connect: connection refused", s.user, bad, bad)) {
		t.Errorf("summary:\n%s\n%s", out, stderr)
	}
	data, err := os.ReadFile(reports)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d reports, want 2", len(lines))
	}
	for _, l := range lines {
		decodeReport(t, []byte(l))
	}
}

// FuzzParseHostsFile: the hosts file parser never panics and every target
// it returns is well formed.
func FuzzParseHostsFile(f *testing.F) {
	f.Add([]byte("# c\nroot@host\nscan@[::1]:2222 # x\n"))
	f.Add([]byte("a@b:0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := parseHostsFile(data)
		if err != nil {
			return
		}
		for _, tg := range ts {
			if tg.User == "" || tg.Host == "" || tg.Port < 1 || tg.Port > 65535 {
				t.Fatalf("bad target %+v", tg)
			}
			if _, err := parseSSHTarget(tg.String()); err != nil {
				t.Fatalf("target %+v does not round-trip: %v", tg, err)
			}
		}
	})
}

// TestSSHScan200Hosts measures `roster scan --ssh-hosts` over 200 targets
// on loopback (one sshd, the fixture 200 times): time and peak memory of
// the roster process. Run it with ROSTER_BENCH_SSH=1.
func TestSSHScan200Hosts(t *testing.T) {
	if os.Getenv("ROSTER_BENCH_SSH") == "" {
		t.Skip("a measurement: ROSTER_BENCH_SSH=1 runs it")
	}
	s := newSFTPSSHD(t, fixtureRoot, false)
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	var b strings.Builder
	for range 200 {
		b.WriteString(s.target() + "\n")
	}
	os.WriteFile(hosts, []byte(b.String()), 0o600)
	bin, _ := buildBinaries(t)
	cmd := exec.Command(bin, "scan", "--ssh-hosts", hosts, "--identity", s.clientKey, "--known-hosts", s.knownHosts,
		"--fingerprint-key", writeFingerprintKey(t), "--output", filepath.Join(dir, "r.jsonl"))
	cmd.Env = cleanEnv()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	t.Logf("200 hosts: %v wall, %v user+sys, peak RSS (VmHWM) %d MiB\n%s", elapsed.Round(time.Millisecond),
		(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Round(time.Millisecond), ru.Maxrss/1024, out)
}

// TestSSHScanHostsSubmit: --ssh-hosts --submit sends each good host's
// report to the server as `roster scan --submit` does, and still reports
// the host that failed.
func TestSSHScanHostsSubmit(t *testing.T) {
	s := newSFTPSSHD(t, fixtureRoot, false)
	tmp := t.TempDir()
	srv := startServer(t, filepath.Join(tmp, "data"), "--scan-on-start=false", "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	admin := srv.adminToken()
	bad := freePort(t)
	hosts := filepath.Join(tmp, "hosts")
	os.WriteFile(hosts, fmt.Appendf(nil, "%s\n%s@127.0.0.1:%d\n", s.target(), s.user, bad), 0o600)
	out, errOut, code := srv.cli(admin, "scan", "--ssh-hosts", hosts, "--submit", "--identity", s.clientKey, "--known-hosts", s.knownHosts)
	if code == 0 {
		t.Fatalf("exit 0 with a host down:\n%s%s", out, errOut)
	}
	if !strings.Contains(out, s.target()+": ") || !strings.Contains(out, "1 hosts scanned, 1 failed") {
		t.Fatalf("summary:\n%s%s", out, errOut)
	}
	if !strings.Contains(out, "submitted scan of web1: 28 accounts") {
		t.Errorf("the server did not take the report:\n%s", out)
	}
}

// TestSSHScanAuth: a certificate beside the key (as roster's agent writes
// them) logs in where the bare key would not, and the ssh-agent's keys
// are used when no --identity is given.
func TestSSHScanAuth(t *testing.T) {
	s := newSFTPSSHD(t, fixtureRoot, false)
	args := []string{"--ssh", s.target(), "--known-hosts", s.knownHosts, "--format", "json"}
	if _, stderr, code := rosterScan(t, nil, append(args, "--identity", s.certKey)...); code != 0 {
		t.Fatalf("certificate login: exit %d: %s", code, stderr)
	}
	bare := filepath.Join(t.TempDir(), "bare")
	key, _ := os.ReadFile(s.certKey)
	os.WriteFile(bare, key, 0o600)
	if _, _, code := rosterScan(t, nil, append(args, "--identity", bare)...); code == 0 {
		t.Fatal("the key without its certificate logged in: the certificate test proves nothing")
	}
	_, errAgent := exec.LookPath("ssh-agent")
	_, errAdd := exec.LookPath("ssh-add")
	requireTool(t, "ssh-agent and ssh-add (openssh-client)", errAgent == nil && errAdd == nil)
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agentCmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agentCmd.Process.Kill(); agentCmd.Wait() })
	for range 100 {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", s.clientKey)
	add.Env = append(cleanEnv(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	out, stderr, code := rosterScan(t, []string{"SSH_AUTH_SOCK=" + sock}, args...)
	if code != 0 {
		t.Fatalf("agent login: exit %d: %s", code, stderr)
	}
	if rep := decodeReport(t, []byte(out)); len(rep.Accounts) == 0 {
		t.Error("no accounts through the agent")
	}
}

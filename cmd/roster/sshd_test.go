package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent/agenttest"
)

// sshdProc is a private OpenSSH server on 127.0.0.1: its own config, port
// and host key, trusting what roster's files in rosterDir say (the files
// the agent's host identity keeps: user_ca.pub, principals/%u,
// revoked.krl, the host certificate). It runs as the test's user (root in
// CI, so that it can check logins like a real sshd), and logs in only that
// user.
type sshdProc struct {
	t         testing.TB
	port      int
	dir       string
	hostKey   string // the host key's .pub is what the agent certifies
	rosterDir string
	user      string
	cmd       *exec.Cmd
	log       *agenttest.LogBuffer
}

// newSSHD writes the host key and the config; start runs sshd.
func newSSHD(t testing.TB, dir, rosterDir string) *sshdProc {
	t.Helper()
	_, errKeygen := exec.LookPath("ssh-keygen")
	_, errSSH := exec.LookPath("ssh")
	_, errSSHD := os.Stat("/usr/sbin/sshd")
	requireTool(t, "OpenSSH's sshd (openssh-server)", errSSHD == nil)
	requireTool(t, "ssh and ssh-keygen (openssh-client)", errKeygen == nil && errSSH == nil)
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &sshdProc{t: t, port: freePort(t), dir: dir, rosterDir: rosterDir, user: u.Username, log: &agenttest.LogBuffer{}}
	keys := filepath.Join(dir, "hostkeys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	s.hostKey = filepath.Join(keys, "ssh_host_ed25519_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", s.hostKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen host key: %v\n%s", err, out)
	}
	if os.Geteuid() == 0 {
		os.MkdirAll("/run/sshd", 0o755) // the privilege separation directory
	}
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
HostCertificate %s/ssh_host_ed25519_key-cert.pub
PidFile %s/sshd.pid
AuthorizedKeysFile none
TrustedUserCAKeys %s/user_ca.pub
AuthorizedPrincipalsFile %s/principals/%%u
RevokedKeys %s/revoked.krl
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers %s
LogLevel VERBOSE
`, s.port, s.hostKey, rosterDir, dir, rosterDir, rosterDir, rosterDir, s.user)
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs sshd in the foreground (-D -e) and waits for its port.
func (s *sshdProc) start() {
	s.t.Helper()
	cfg := filepath.Join(s.dir, "sshd_config")
	if out, err := exec.Command("/usr/sbin/sshd", "-t", "-f", cfg).CombinedOutput(); err != nil {
		s.t.Fatalf("sshd -t: %v\n%s", err, out)
	}
	s.cmd = exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", cfg)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		if s.t.Failed() {
			s.t.Logf("sshd log:\n%s", s.log.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("sshd did not listen on %d:\n%s", s.port, s.log.String())
}

// login runs `ssh -i key -o CertificateFile=cert USER@127.0.0.1 -p PORT true`
// with no user configuration, trusting hosts only through knownHosts
// (the agent's @cert-authority line) under the name hostAlias, with
// StrictHostKeyChecking=yes. It returns ssh's output and its error.
func (s *sshdProc) login(key, cert, knownHosts, hostAlias string) (string, error) {
	args := []string{"-F", "/dev/null", "-p", fmt.Sprint(s.port), "-i", key, "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
		"-o", "HostKeyAlias=" + hostAlias, "-o", "BatchMode=yes", "-o", "PasswordAuthentication=no", "-o", "ConnectTimeout=10"}
	if cert != "" {
		args = append(args, "-o", "CertificateFile="+cert)
	}
	args = append(args, s.user+"@127.0.0.1", "true")
	cmd := exec.Command("ssh", args...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// mark is a position in sshd's log; saidSince reports whether sshd logged
// text after it.
func (s *sshdProc) mark() int { return len(s.log.String()) }

func (s *sshdProc) saidSince(mark int, text string) bool {
	// sshd logs a refusal as it happens, but the client may see the
	// connection close first: give the log a moment.
	for range 20 {
		if strings.Contains(s.log.String()[mark:], text) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent/agenttest"
	"github.com/rosterhq/roster/sshkrl"
)

// TestSSHLoginWithRealSshd: the files the agent writes work with real
// OpenSSH. One agent keeps a user certificate for identity deploy and, as
// the host identity, sshd's files; a private sshd on 127.0.0.1 using them
// (TrustedUserCAKeys, AuthorizedPrincipalsFile, RevokedKeys,
// HostCertificate; no authorized_keys) accepts `ssh -F DIR/ssh/config`,
// whose client verifies the host certificate through @cert-authority with
// StrictHostKeyChecking yes; once the certificate is revoked and the agent
// has installed the new KRL, the same login is refused. This runs against
// the fixture server; the end-to-end test with the real server is the
// lead's, after the merge.
func TestSSHLoginWithRealSshd(t *testing.T) {
	sshd := agenttest.Tool(t, "sshd")
	sshBin := agenttest.Tool(t, "ssh")
	keygen := agenttest.Tool(t, "ssh-keygen")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs this test as root: sshd needs it")
		}
		t.Skip("sshd needs root")
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation directory
		t.Fatal(err)
	}
	ca := agenttest.New(t, time.Hour)
	ca.SetPrincipals(map[string][]string{me.Username: {"deploy@" + agenttest.SSHEnv}})
	root := t.TempDir()
	hostKeys := filepath.Join(root, "etc-ssh")
	if err := os.Mkdir(hostKeys, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(hostKeys, "ssh_host_ed25519_key")).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	deploy := enroll(t, ca, "deploy")
	hostDir := filepath.Join(root, "host")
	if _, err := Enroll(context.Background(), enrollOpts(ca, hostDir, ca.Token("db1", ""))); err != nil {
		t.Fatal(err)
	}
	sshdDir := filepath.Join(root, "roster")
	startAgent(t, ca, Config{Identities: []Identity{
		{Name: "deploy", Dir: deploy, SSH: &SSHOptions{}},
		{Name: "host", Dir: hostDir, Sshd: &SshdOptions{Dir: sshdDir, HostKeys: hostKeys, Refresh: 200 * time.Millisecond}},
	}})
	f := sshPaths(deploy, "")
	hostCert := filepath.Join(sshdDir, "ssh_host_ed25519_key-cert.pub")
	for _, p := range []string{f.cert, hostCert, filepath.Join(sshdDir, "principals", me.Username), filepath.Join(sshdDir, KRLFile)} {
		waitFor(t, p, func() bool { _, err := os.Stat(p); return err == nil })
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	config := filepath.Join(root, "sshd_config")
	conf := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
HostCertificate %s
TrustedUserCAKeys %s
AuthorizedPrincipalsFile %s/principals/%%u
RevokedKeys %s
AuthorizedKeysFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
PidFile none
`, port, filepath.Join(hostKeys, "ssh_host_ed25519_key"), hostCert, filepath.Join(sshdDir, UserCAFile), sshdDir, filepath.Join(sshdDir, KRLFile))
	if err := os.WriteFile(config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &agenttest.LogBuffer{}
	daemon := exec.Command(sshd, "-D", "-e", "-f", config)
	daemon.Stdout, daemon.Stderr = logs, logs
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		daemon.Process.Kill()
		daemon.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", logs)
		}
	})
	waitFor(t, "sshd listening", func() bool {
		c, err := net.Dial("tcp", l.Addr().String())
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	login := func() ([]byte, error) {
		return exec.Command(sshBin, "-F", f.config, "-o", "HostKeyAlias=db1", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
			"-p", fmt.Sprint(port), me.Username+"@127.0.0.1", "echo", "logged-in").CombinedOutput()
	}
	out, err := login()
	if err != nil || !strings.Contains(string(out), "logged-in") {
		t.Fatalf("login with the agent's certificate: %v\n%s", err, out)
	}
	if !strings.Contains(logs.String(), "ID spiffe://roster.test/host/db1/sa/deploy") {
		t.Error("sshd's log does not name the identity")
	}

	cert := sshCertOf(t, f.cert)
	ca.RevokeSSH(cert.Serial)
	waitFor(t, "the KRL revoking the certificate", func() bool {
		b, _ := os.ReadFile(filepath.Join(sshdDir, KRLFile))
		k, err := sshkrl.Parse(b)
		return err == nil && len(k.Certs) == 1 && slices.Contains(k.Certs[0].Serials, cert.Serial)
	})
	if out, err := login(); err == nil {
		t.Fatalf("login with a revoked certificate succeeded:\n%s", out)
	}
	waitFor(t, "sshd to log the revocation", func() bool { return strings.Contains(logs.String(), "revoked by file") })
}

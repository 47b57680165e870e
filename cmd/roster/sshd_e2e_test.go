package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rosterhq/roster/agent/agenttest"
)

// sshFixtureHost writes a host root whose passwd lists accounts (each with
// a locked password and a unit running as it), for the inventory to know
// them.
func sshFixtureHost(t testing.TB, dir, hostname string, accounts ...string) {
	t.Helper()
	passwd, shadow, group := "root:x:0:0:root:/root:/bin/bash\n", "root:*:19000:0:99999:7:::\n", "root:x:0:\n"
	files := map[string]string{
		"etc/hostname":   hostname + "\n",
		"etc/os-release": "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
		"etc/machine-id": fmt.Sprintf("%032x\n", len(hostname)*7919+int(hostname[0])),
	}
	for i, a := range accounts {
		uid := 1100 + i
		passwd += fmt.Sprintf("%s:x:%d:%d:%s job:/srv/%s:/bin/sh\n", a, uid, uid, a, a)
		shadow += a + ":!:19000:0:99999:7:::\n"
		group += fmt.Sprintf("%s:x:%d:\n", a, uid)
		files["etc/systemd/system/"+a+".service"] = "[Unit]\nDescription=" + a + " job\n[Service]\nUser=" + a + "\nExecStart=/usr/local/bin/" + a + "\n"
	}
	files["etc/passwd"], files["etc/shadow"], files["etc/group"] = passwd, shadow, group
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// signWith signs pub for principal with signer, valid from after to before:
// a certificate roster did not issue (another CA, or roster's CA key used
// for a certificate already expired).
func signWith(t testing.TB, signer ssh.Signer, pub ssh.PublicKey, principal string, after, before time.Time) []byte {
	t.Helper()
	c := &ssh.Certificate{Key: pub, Serial: 4242, CertType: ssh.UserCert, KeyId: "not-from-roster", ValidPrincipals: []string{principal},
		ValidAfter: uint64(after.Unix()), ValidBefore: uint64(before.Unix())}
	if err := c.SignCert(rand.Reader, signer); err != nil {
		t.Fatal(err)
	}
	return ssh.MarshalAuthorizedKey(c)
}

// TestSSHCertificateLoginEndToEnd is issue 11's evidence with real
// programs: roster's server, the agent keeping an SSH user certificate for
// a service account and sshd's files on the target (TrustedUserCAKeys, the
// principals file from the grants, the KRL, the host certificate), and a
// private OpenSSH sshd on 127.0.0.1 with no authorized_keys at all. sshd
// accepts the agent-managed certificate; refuses an identity that was not
// granted, a certificate from another CA and an expired one; the client
// verifies sshd's host certificate through @cert-authority with
// StrictHostKeyChecking=yes; and after `roster revoke` sshd refuses the
// certificate once the agent has installed the new KRL, as ssh-keygen -Q
// agrees.
func TestSSHCertificateLoginEndToEnd(t *testing.T) {
	_, agentBin := buildBinaries(t)
	tmp := t.TempDir()
	rosterDir := filepath.Join(tmp, "etc-ssh-roster")
	sshd := newSSHD(t, filepath.Join(tmp, "sshd"), rosterDir)

	s := startServer(t, filepath.Join(tmp, "data"), "--scan-on-start=false", "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	admin := s.adminToken()
	ci1, target := filepath.Join(tmp, "ci1"), filepath.Join(tmp, "target")
	sshFixtureHost(t, ci1, "ci1", "deploy", "backup")
	sshFixtureHost(t, target, "target")
	for _, root := range []string{ci1, target} {
		s.mustCLI(admin, "scan", "--root", root, "--submit")
	}
	s.mustCLI(admin, "owner", "set", "deploy", "team-ci")
	s.mustCLI(admin, "owner", "set", "backup", "team-backup")
	s.mustCLI(admin, "owner", "set", "root", "team-ops")
	// deploy may log in as the test's user on target; backup may not.
	s.mustCLI(admin, "ssh", "allow", "deploy", "--as", sshd.user, "--on", "target")

	dirs := map[string]string{}
	for _, id := range []struct{ name, account, host string }{{"deploy", "deploy", "ci1"}, {"backup", "backup", "ci1"}, {"host", "", "target"}} {
		args := []string{id.account, "--host", id.host}
		if id.account == "" {
			args = []string{"--host", id.host}
		}
		tk := enroll(t, s, admin, args...)
		dirs[id.name] = filepath.Join(tmp, "id-"+id.name)
		cmd := exec.Command(agentBin, "enroll", "--server", s.URL, "--root-fingerprint", tk.RootFingerprint, "--token", tk.Token, "--dir", dirs[id.name])
		cmd.Env = cleanEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("roster-agent enroll %s: %v\n%s", id.name, err, out)
		}
	}

	reloads := filepath.Join(tmp, "sshd-reloads")
	cfg := filepath.Join(tmp, "agent.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`identities:
  - name: deploy
    dir: %s
    ssh: {}
  - name: backup
    dir: %s
    ssh: {}
  - name: host
    dir: %s
    sshd:
      dir: %s
      host_keys: %s
      refresh: 1s
      reload:
        - exec: ["/bin/sh", "-c", "echo reload >> %s; kill -HUP $(cat %s) 2>/dev/null || true"]
`, dirs["deploy"], dirs["backup"], dirs["host"], rosterDir, filepath.Dir(sshd.hostKey), reloads, filepath.Join(sshd.dir, "sshd.pid"))), 0o600)
	agentOut := &agenttest.LogBuffer{}
	agent := exec.Command(agentBin, "run", "--config", cfg)
	agent.Env = cleanEnv()
	agent.Stdout, agent.Stderr = agentOut, agentOut
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		agent.Process.Kill()
		agent.Wait()
		if t.Failed() {
			t.Logf("agent output:\n%s", agentOut.String())
			t.Logf("server output:\n%s", s.out.String())
		}
	})
	key := func(id string) (string, string) {
		return filepath.Join(dirs[id], "ssh", "id_ed25519"), filepath.Join(dirs[id], "ssh", "id_ed25519-cert.pub")
	}
	deployKey, deployCert := key("deploy")
	backupKey, backupCert := key("backup")
	exists := func(paths ...string) func() bool {
		return func() bool {
			for _, p := range paths {
				if _, err := os.Stat(p); err != nil {
					return false
				}
			}
			return true
		}
	}
	krl := filepath.Join(rosterDir, "revoked.krl")
	waitFor(t, "the agent's SSH certificates and sshd's files", 60*time.Second, exists(deployCert, backupCert,
		filepath.Join(rosterDir, "user_ca.pub"), filepath.Join(rosterDir, "principals", sshd.user), krl,
		filepath.Join(rosterDir, "ssh_host_ed25519_key-cert.pub")), nil)
	sshd.start()

	// What the certificate says, as OpenSSH reads it.
	out, err := exec.Command("ssh-keygen", "-L", "-f", deployCert).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -L: %v\n%s", err, out)
	}
	for _, want := range []string{"user certificate", `Key ID: "spiffe://roster.local/host/ci1/sa/deploy"`, "Principals:", "deploy@default",
		"Critical Options: (none)", "Extensions: (none)", "Valid: from "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ssh-keygen -L lacks %q:\n%s", want, out)
		}
	}

	knownHosts := filepath.Join(dirs["deploy"], "ssh", "known_hosts")
	if out, err := sshd.login(deployKey, deployCert, knownHosts, "target"); err != nil {
		t.Fatalf("ssh with the agent-managed certificate: %v\n%s", err, out)
	}
	// The host is verified by its certificate: with another CA in
	// known_hosts, StrictHostKeyChecking=yes refuses it.
	otherPub, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, err := ssh.NewSignerFromKey(otherPriv)
	if err != nil {
		t.Fatal(err)
	}
	sshOther, _ := ssh.NewPublicKey(otherPub)
	wrongHosts := filepath.Join(tmp, "wrong_known_hosts")
	os.WriteFile(wrongHosts, append([]byte("@cert-authority * "), ssh.MarshalAuthorizedKey(sshOther)...), 0o600)
	if out, err := sshd.login(deployKey, deployCert, wrongHosts, "target"); err == nil || !strings.Contains(out, "verification failed") {
		t.Errorf("ssh trusted a host certificate of another CA: %v\n%s", err, out)
	}

	// Refused: an identity not granted on the target.
	mark := sshd.mark()
	if out, err := sshd.login(backupKey, backupCert, knownHosts, "target"); err == nil || !sshd.saidSince(mark, "Certificate does not contain an authorized principal") {
		t.Errorf("backup without a grant: %v\n%s", err, out)
	}
	// Refused: a certificate for deploy from another CA, and one from
	// roster's own CA that has expired.
	certLine, err := os.ReadFile(deployCert)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _, _, _, err := ssh.ParseAuthorizedKey(certLine)
	if err != nil {
		t.Fatal(err)
	}
	pub := parsed.(*ssh.Certificate).Key // the agent's key, certified by someone else below
	caPEM, err := os.ReadFile(filepath.Join(s.dataDir, "secrets", "ssh_user_ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	rosterCA, err := ssh.ParsePrivateKey(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name, why string // why: what sshd logs when it refuses
		cert      []byte
	}{
		{"another CA's", "CA ED25519 " + ssh.FingerprintSHA256(sshOther), signWith(t, otherSigner, pub, "deploy@default", now.Add(-time.Minute), now.Add(time.Hour))},
		{"an expired roster CA", "Certificate invalid: expired", signWith(t, rosterCA, pub, "deploy@default", now.Add(-2*time.Hour), now.Add(-time.Hour))},
	} {
		f := filepath.Join(tmp, "forged-cert.pub")
		os.WriteFile(f, tc.cert, 0o600)
		mark := sshd.mark()
		if out, err := sshd.login(deployKey, f, knownHosts, "target"); err == nil || !sshd.saidSince(mark, tc.why) || sshd.saidSince(mark, "Accepted") {
			t.Errorf("%s certificate: %v (want a refusal logged with %q)\n%s", tc.name, err, tc.why, out)
		}
	}
	// The same key with roster's certificate still logs in (the refusals
	// above were the certificates').
	if out, err := sshd.login(deployKey, deployCert, knownHosts, "target"); err != nil {
		t.Fatalf("ssh after the refusals: %v\n%s", err, out)
	}

	// Revocation: the server's KRL names the certificate, the agent installs
	// it, sshd refuses the login; ssh-keygen -Q agrees with roster.
	before, _ := os.ReadFile(krl)
	s.mustCLI(admin, "revoke", "deploy", "--host", "ci1", "--reason", "key compromised")
	waitFor(t, "the agent to install the new KRL", 30*time.Second, func() bool {
		now, _ := os.ReadFile(krl)
		return !bytes.Equal(now, before)
	}, nil)
	// The agent reloads sshd after writing the KRL (sshd re-executes on
	// SIGHUP and refuses connections for a moment): try until sshd says
	// why it refuses.
	waitFor(t, "sshd to refuse the revoked certificate", 20*time.Second, func() bool {
		mark := sshd.mark()
		out, err := sshd.login(deployKey, deployCert, knownHosts, "target")
		if err == nil {
			t.Fatalf("ssh with a revoked certificate logged in:\n%s", out)
		}
		return sshd.saidSince(mark, "revoked by file "+krl)
	}, nil)
	for cert, revoked := range map[string]bool{deployCert: true, backupCert: false} {
		out, _ := exec.Command("ssh-keygen", "-Q", "-f", krl, cert).CombinedOutput()
		if got := strings.Contains(string(out), "REVOKED"); got != revoked {
			t.Errorf("ssh-keygen -Q -f revoked.krl %s: %s (want revoked %v)", filepath.Base(filepath.Dir(filepath.Dir(cert))), out, revoked)
		}
	}
}

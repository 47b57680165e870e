package agent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rosterhq/roster/agent/agenttest"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/sshkrl"
)

// sshCertOf reads an identity's SSH certificate, failing the test when it
// is missing.
func sshCertOf(t *testing.T, path string) *ssh.Certificate {
	t.Helper()
	c, err := readSSHCert(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestSSHUserCertificate: an identity with an ssh section gets a key made
// here (0600), a user certificate for it from the CA (principal NAME@ENV,
// key id the SPIFFE ID), known_hosts trusting the host CA and an
// ssh_config that the real ssh client parses; the certificate is renewed
// at two thirds of its life with the same key, the reload actions run
// after each renewal, and status shows the SSH certificate.
func TestSSHUserCertificate(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, time.Hour)
	ca.SetSSHValidity(9*time.Second, time.Hour)
	dir := enroll(t, ca, "deploy")
	calls := filepath.Join(t.TempDir(), "reloads")
	script := writeScript(t, `echo "$ROSTER_IDENTITY" >> `+calls)
	cfg := Config{Identities: []Identity{{Name: "deploy", Dir: dir, SSH: &SSHOptions{},
		Reload: []ReloadAction{{Exec: []string{script}}}}}}
	h := startAgent(t, ca, cfg)
	f := sshPaths(dir, "")
	// The config is the last of the SSH files written (saveSSH).
	waitFor(t, "the SSH files", func() bool { _, err := os.Stat(f.config); return err == nil })
	first := sshCertOf(t, f.cert)
	if first.CertType != ssh.UserCert || !slices.Equal(first.ValidPrincipals, []string{"deploy@" + agenttest.SSHEnv}) ||
		first.KeyId != "spiffe://roster.test/host/db1/sa/deploy" {
		t.Errorf("certificate: type %d principals %v key id %q", first.CertType, first.ValidPrincipals, first.KeyId)
	}
	if !bytes.Equal(first.SignatureKey.Marshal(), ca.UserCA().Marshal()) {
		t.Error("certificate not signed by the user CA")
	}
	for path, want := range map[string]os.FileMode{f.key: 0o600, f.cert: 0o644, f.config: 0o644, f.knownHosts: 0o644, f.dir: 0o700} {
		if got := fileMode(t, path); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
	key, err := readSSHKey(f.key)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := key.(ed25519.PrivateKey); !ok {
		t.Errorf("key is %T, want ed25519", key)
	}
	if !sshKeyMatches(first, key) {
		t.Error("certificate does not certify the key")
	}
	known, _ := os.ReadFile(f.knownHosts)
	if want := "@cert-authority * " + string(ssh.MarshalAuthorizedKey(ca.HostCA())); string(known) != want {
		t.Errorf("known_hosts = %q, want %q", known, want)
	}

	// The real ssh client reads the snippet.
	sshBin := agenttest.Tool(t, "ssh")
	out, err := runCmd(sshBin, "-G", "-F", f.config, "deploy@target.example")
	if err != nil {
		t.Fatalf("ssh -G: %v\n%s", err, out)
	}
	for _, want := range []string{"identityfile " + f.key, "certificatefile " + f.cert, "userknownhostsfile " + f.knownHosts,
		"stricthostkeychecking true", "identitiesonly yes"} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("ssh -G lacks %q:\n%s", want, out)
		}
	}
	if kg, err := runCmd(agenttest.Tool(t, "ssh-keygen"), "-L", "-f", f.cert); err != nil || !strings.Contains(string(kg), "deploy@test") {
		t.Errorf("ssh-keygen -L: %v\n%s", err, kg)
	}

	waitFor(t, "an SSH renewal", func() bool { c, err := readSSHCert(f.cert); return err == nil && c.Serial != first.Serial })
	renewedAt := time.Now()
	second := sshCertOf(t, f.cert)
	due := certTime(first.ValidAfter).Add(6 * time.Second)
	if renewedAt.Before(due.Add(-time.Second)) {
		t.Errorf("renewed at %s, before two thirds of the life (%s)", renewedAt, due)
	}
	if !bytes.Equal(second.Key.Marshal(), first.Key.Marshal()) {
		t.Error("the key changed across a renewal without rekey")
	}
	waitFor(t, "a reload after each SSH certificate", func() bool { return countLines(calls) >= 2 })
	if n := ca.Calls("/1.0/renew"); n != 0 {
		t.Errorf("%d X.509 renewals of a certificate valid for an hour", n)
	}
	if len(h.logs.Lines("ssh certificate renewed")) < 2 {
		t.Error("no log line per SSH renewal")
	}
	waitFor(t, "status.json with the SSH serial", func() bool { return readStatusFile(t, dir).SSH.Serial != "" })

	sts := ReadStatus(cfg, time.Now())
	if s := sts[0].SSH; s == nil || s.State != StateOK || s.Serial == "" || s.NotAfter.IsZero() || s.KeyID == "" {
		t.Errorf("status: %+v", s)
	}
}

// TestSSHOutageKeepsFiles: while the server is down the SSH files stay as
// they are and the renewal is retried; once it is back, a new certificate
// arrives.
func TestSSHOutageKeepsFiles(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, time.Hour)
	ca.SetSSHValidity(6*time.Second, time.Hour)
	dir := enroll(t, ca, "backup")
	startAgent(t, ca, Config{Identities: []Identity{{Name: "backup", Dir: dir, SSH: &SSHOptions{KeyType: KeyECDSA}}}})
	f := sshPaths(dir, KeyECDSA)
	waitFor(t, "an SSH certificate", func() bool { _, err := os.Stat(f.cert); return err == nil })
	if filepath.Base(f.key) != "id_ecdsa" {
		t.Errorf("key file %s, want id_ecdsa", f.key)
	}
	before, _ := os.ReadFile(f.cert)
	keyBefore, _ := os.ReadFile(f.key)
	ca.SetDown(true)
	waitFor(t, "a failed SSH renewal", func() bool { return readStatusFile(t, dir).SSH.LastError != "" })
	if st := readStatusFile(t, dir).SSH; !strings.Contains(st.LastError, "503") {
		t.Errorf("status: %+v", st)
	}
	after, _ := os.ReadFile(f.cert)
	keyAfter, _ := os.ReadFile(f.key)
	if !bytes.Equal(before, after) || !bytes.Equal(keyBefore, keyAfter) {
		t.Error("files changed while the server was down")
	}
	ca.SetDown(false)
	waitFor(t, "a renewal after the outage", func() bool { b, _ := os.ReadFile(f.cert); return !bytes.Equal(b, before) })
	if k, _ := os.ReadFile(f.key); !bytes.Equal(k, keyBefore) {
		t.Error("key changed after the outage")
	}
	waitFor(t, "the error cleared", func() bool { return readStatusFile(t, dir).SSH.LastError == "" })
}

// TestSSHRekey: with rekey, every SSH renewal brings a new key.
func TestSSHRekey(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, time.Hour)
	ca.SetSSHValidity(6*time.Second, time.Hour)
	dir := enroll(t, ca, "ci")
	startAgent(t, ca, Config{Identities: []Identity{{Name: "ci", Dir: dir, Rekey: true, SSH: &SSHOptions{}}}})
	f := sshPaths(dir, "")
	waitFor(t, "an SSH certificate", func() bool { _, err := os.Stat(f.cert); return err == nil })
	first := sshCertOf(t, f.cert)
	waitFor(t, "an SSH renewal", func() bool { c, err := readSSHCert(f.cert); return err == nil && c.Serial != first.Serial })
	second := sshCertOf(t, f.cert)
	if bytes.Equal(second.Key.Marshal(), first.Key.Marshal()) {
		t.Error("rekey kept the SSH key")
	}
	key, err := readSSHKey(f.key)
	if err != nil || !sshKeyMatches(second, key) {
		t.Errorf("key file does not match the new certificate: %v", err)
	}
	if _, err := os.Stat(f.pending); !os.IsNotExist(err) {
		t.Errorf("pending key left behind: %v", err)
	}
}

// TestLoadSSHFinishesKeyChange: a crash after the certificate was written
// but before the pending key was renamed is finished by loadSSH.
func TestLoadSSHFinishesKeyChange(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	dir := enroll(t, ca, "svc")
	r, err := newRunner(&Config{}, Identity{Name: "svc", Dir: dir, SSH: &SSHOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	f := sshPaths(dir, "")
	cred := mustLoad(t, dir)
	if _, err := r.sshRenew(context.Background(), cred, nil, f); err != nil {
		t.Fatal(err)
	}
	// Simulate the crash: the new key still pending, the old key in place.
	_, old, _ := ed25519.GenerateKey(rand.Reader)
	if err := os.Rename(f.key, f.pending); err != nil {
		t.Fatal(err)
	}
	block, _ := ssh.MarshalPrivateKey(old, "")
	if err := os.WriteFile(f.key, pemBlock(block), 0o600); err != nil {
		t.Fatal(err)
	}
	key, cert, err := loadSSH(f)
	if err != nil || cert == nil || !sshKeyMatches(cert, key) {
		t.Fatalf("loadSSH: %v, cert %v", err, cert != nil)
	}
	if _, err := os.Stat(f.pending); !os.IsNotExist(err) {
		t.Error("pending key not renamed")
	}
	// A certificate for another key: no certificate, the key kept.
	if err := os.WriteFile(f.key, pemBlock(block), 0o600); err != nil {
		t.Fatal(err)
	}
	key, cert, err = loadSSH(f)
	if err == nil || cert != nil || key == nil {
		t.Errorf("mismatched pair: key %v cert %v err %v", key != nil, cert != nil, err)
	}
}

// TestCheckSSHCert: what the server returns is refused unless it is a
// certificate of the right type, for our key, from the named CA, valid now.
func TestCheckSSHCert(t *testing.T) {
	_, caKey, _ := ed25519.GenerateKey(rand.Reader)
	caSigner, _ := ssh.NewSignerFromKey(caKey)
	_, otherCA, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := ssh.NewSignerFromKey(otherCA)
	ours, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := ssh.NewPublicKey(ours.Public())
	theirs, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	theirPub, _ := ssh.NewPublicKey(theirs.Public())
	now := time.Now()
	caLine := string(ssh.MarshalAuthorizedKey(caSigner.PublicKey()))
	mk := func(mod func(*ssh.Certificate), signer ssh.Signer) string {
		c := &ssh.Certificate{Key: pub, CertType: ssh.UserCert, Serial: 7, KeyId: "k", ValidPrincipals: []string{"a@prod"},
			ValidAfter: uint64(now.Add(-time.Minute).Unix()), ValidBefore: uint64(now.Add(time.Hour).Unix())}
		mod(c)
		if err := c.SignCert(rand.Reader, signer); err != nil {
			t.Fatal(err)
		}
		return string(ssh.MarshalAuthorizedKey(c))
	}
	none := func(*ssh.Certificate) {}
	tests := []struct {
		desc, line, ca, wantErr string
	}{
		{"good", mk(none, caSigner), caLine, ""},
		{"source-address", mk(func(c *ssh.Certificate) { c.CriticalOptions = map[string]string{"source-address": "10.0.0.1/32"} }, caSigner), caLine, ""},
		{"garbage", "not a key", caLine, "ssh certificate: "},
		{"plain key", string(ssh.MarshalAuthorizedKey(pub)), caLine, "plain key"},
		{"host type", mk(func(c *ssh.Certificate) { c.CertType = ssh.HostCert }, caSigner), caLine, "type 2, want 1"},
		{"other key", mk(func(c *ssh.Certificate) { c.Key = theirPub }, caSigner), caLine, "another key"},
		{"other CA", mk(none, otherSigner), caLine, "not signed by the CA"},
		{"bad CA line", mk(none, caSigner), "junk", "CA key"},
		{"no principal", mk(func(c *ssh.Certificate) { c.ValidPrincipals = nil }, caSigner), caLine, "no principal"},
		{"expired", mk(func(c *ssh.Certificate) { c.ValidBefore = uint64(now.Add(-time.Second).Unix()) }, caSigner), caLine, "expired"},
		{"unknown critical option", mk(func(c *ssh.Certificate) { c.CriticalOptions = map[string]string{"x": ""} }, caSigner), caLine, "unsupported critical option"},
	}
	for _, tt := range tests {
		_, err := checkSSHCert(tt.line, pub, ssh.UserCert, tt.ca, now)
		if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.desc, err, tt.wantErr)
		}
	}
}

// writeHostKeys writes an ed25519 and an ecdsa host public key (the
// private halves are not written: the agent must never need them).
func writeHostKeys(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, k := range map[string]any{"ed25519": ed.Public(), "ecdsa": ec.Public()} {
		pub, err := ssh.NewPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ssh_host_"+name+"_key.pub"), ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Not a host key file: ignored.
	if err := os.WriteFile(filepath.Join(dir, "ssh_config"), []byte("Host *\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sshdHarness runs a host identity with an sshd section.
type sshdHarness struct {
	*harness
	dir, hostKeys, reloads string
}

func startSshd(t *testing.T, ca *agenttest.Server) *sshdHarness {
	t.Helper()
	hostDir := filepath.Join(t.TempDir(), "host")
	if _, err := Enroll(context.Background(), enrollOpts(ca, hostDir, ca.Token("db1", ""))); err != nil {
		t.Fatal(err)
	}
	s := &sshdHarness{dir: filepath.Join(t.TempDir(), "etc-ssh-roster"), hostKeys: writeHostKeys(t), reloads: filepath.Join(t.TempDir(), "reloads")}
	script := writeScript(t, `echo reload >> `+s.reloads)
	s.harness = startAgent(t, ca, Config{Identities: []Identity{{Name: "host", Dir: hostDir, Sshd: &SshdOptions{
		Dir: s.dir, HostKeys: s.hostKeys, Refresh: 100 * time.Millisecond, Reload: []ReloadAction{{Exec: []string{script}}},
	}}}})
	return s
}

// refreshes waits for n more host-config fetches.
func (s *sshdHarness) refreshes(n int) {
	s.t.Helper()
	start := s.ca.Calls("/v1/ssh/host-config")
	waitFor(s.t, "host-config refreshes", func() bool { return s.ca.Calls("/v1/ssh/host-config") >= start+n })
	// and the KRL and host certificates of the last one.
	start = s.ca.Calls("/ssh/krl")
	waitFor(s.t, "a KRL fetch", func() bool { return s.ca.Calls("/ssh/krl") > start })
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSshdFiles: the host identity keeps user_ca.pub, one principals file
// per granted account (removing those of accounts no longer listed, and
// only those it wrote), the KRL and a host certificate per host key, and
// runs the sshd reload actions once per change, never when nothing
// changed.
func TestSshdFiles(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, time.Hour)
	ca.SetPrincipals(map[string][]string{"deploy": {"ci@prod", "build@prod"}, "backup": {"backup@prod"}})
	s := startSshd(t, ca)
	waitFor(t, "the first reload", func() bool { return countLines(s.reloads) >= 1 })
	s.refreshes(3)
	if n := countLines(s.reloads); n != 1 {
		t.Errorf("%d reloads without a change, want 1", n)
	}
	if got, want := readFile(t, filepath.Join(s.dir, UserCAFile)), string(ssh.MarshalAuthorizedKey(ca.UserCA())); got != want {
		t.Errorf("user_ca.pub = %q, want %q", got, want)
	}
	if got := readFile(t, filepath.Join(s.dir, "principals", "deploy")); got != "build@prod\nci@prod\n" {
		t.Errorf("principals/deploy = %q", got)
	}
	for _, name := range []string{"ed25519", "ecdsa"} {
		pubLine := readFile(t, filepath.Join(s.hostKeys, "ssh_host_"+name+"_key.pub"))
		pub, _ := parsePlainKey(pubLine)
		c := sshCertOf(t, filepath.Join(s.dir, "ssh_host_"+name+"_key-cert.pub"))
		if c.CertType != ssh.HostCert || !bytes.Equal(c.Key.Marshal(), pub.Marshal()) ||
			!bytes.Equal(c.SignatureKey.Marshal(), ca.HostCA().Marshal()) || !slices.Equal(c.ValidPrincipals, []string{"db1"}) {
			t.Errorf("host certificate for %s: type %d principals %v", name, c.CertType, c.ValidPrincipals)
		}
	}
	if n := ca.Calls("/v1/ssh/sign/host"); n != 2 {
		t.Errorf("%d host certificate requests, want 2 (one per host key, not renewed yet)", n)
	}
	if k, err := sshkrl.Parse([]byte(readFile(t, filepath.Join(s.dir, KRLFile)))); err != nil || k.Comment != "agenttest" {
		t.Errorf("revoked.krl: %v", err)
	}
	if kg, err := runCmd(agenttest.Tool(t, "ssh-keygen"), "-Q", "-l", "-f", filepath.Join(s.dir, KRLFile)); err != nil {
		t.Errorf("ssh-keygen -Q -l: %v\n%s", err, kg)
	}
	// A file of the operator's own is never removed.
	manual := filepath.Join(s.dir, "principals", "operator")
	if err := os.WriteFile(manual, []byte("me@prod\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	ca.SetPrincipals(map[string][]string{"deploy": {"ci@prod"}})
	waitFor(t, "backup's file removed", func() bool {
		_, err := os.Stat(filepath.Join(s.dir, "principals", "backup"))
		return os.IsNotExist(err)
	})
	waitFor(t, "the second reload", func() bool { return countLines(s.reloads) >= 2 })
	s.refreshes(2)
	if n := countLines(s.reloads); n != 2 {
		t.Errorf("%d reloads after one change, want 2", n)
	}
	if got := readFile(t, filepath.Join(s.dir, "principals", "deploy")); got != "ci@prod\n" {
		t.Errorf("principals/deploy = %q", got)
	}
	if _, err := os.Stat(manual); err != nil {
		t.Errorf("the operator's principals file was touched: %v", err)
	}

	// A revocation reaches the KRL at the next refresh.
	ca.RevokeSSH(42)
	waitFor(t, "the KRL with serial 42", func() bool {
		k, err := sshkrl.Parse([]byte(readFile(t, filepath.Join(s.dir, KRLFile))))
		return err == nil && len(k.Certs) == 1 && slices.Contains(k.Certs[0].Serials, 42)
	})
	waitFor(t, "the third reload", func() bool { return countLines(s.reloads) >= 3 })
	s.refreshes(2)
	if n := countLines(s.reloads); n != 3 {
		t.Errorf("%d reloads after two changes, want 3", n)
	}
}

// TestSshdHostCertRenewal: host certificates are renewed at two thirds of
// their life, with a reload each time.
func TestSshdHostCertRenewal(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, time.Hour)
	ca.SetSSHValidity(time.Hour, 6*time.Second)
	s := startSshd(t, ca)
	cert := filepath.Join(s.dir, "ssh_host_ed25519_key-cert.pub")
	waitFor(t, "a host certificate", func() bool { _, err := os.Stat(cert); return err == nil })
	first := sshCertOf(t, cert)
	waitFor(t, "a renewed host certificate", func() bool { c, err := readSSHCert(cert); return err == nil && c.Serial != first.Serial })
	if time.Now().Before(certTime(first.ValidAfter).Add(4*time.Second - time.Second)) {
		t.Error("host certificate renewed before two thirds of its life")
	}
	waitFor(t, "a reload after the renewal", func() bool { return countLines(s.reloads) >= 2 })
}

// TestSshdOutageAndHostileConfig: with the server down the files stay and
// nothing reloads; a hostile host-config (an account that is a path, a
// principal with a newline, a space or a leading #) is refused entry by
// entry and logged, and nothing is written outside the sshd directory; a
// host-config without a usable CA key changes nothing.
func TestSshdOutageAndHostileConfig(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, time.Hour)
	ca.SetPrincipals(map[string][]string{"deploy": {"ci@prod"}})
	s := startSshd(t, ca)
	waitFor(t, "the first reload", func() bool { return countLines(s.reloads) >= 1 })
	snapshot := func() map[string]string {
		m := map[string]string{}
		filepath.WalkDir(s.dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				m[p] = readFile(t, p)
			}
			return nil
		})
		return m
	}
	before := snapshot()
	ca.SetDown(true)
	time.Sleep(500 * time.Millisecond)
	if got := snapshot(); !mapsEqual(got, before) {
		t.Error("files changed while the server was down")
	}
	if n := countLines(s.reloads); n != 1 {
		t.Errorf("%d reloads during the outage", n)
	}
	if len(s.logs.Lines("sshd host config not refreshed; the current files stay in place")) == 0 {
		t.Error("the outage is not logged")
	}
	ca.SetDown(false)

	ca.SetPrincipals(map[string][]string{
		"../x":    {"evil@prod"},
		"a/b":     {"evil@prod"},
		".hidden": {"evil@prod"},
		"deploy":  {"ci@prod", "bad\nline", "with space", "#comment", ""},
		"ops":     {"ops@prod"},
	})
	waitFor(t, "ops's file", func() bool { _, err := os.Stat(filepath.Join(s.dir, "principals", "ops")); return err == nil })
	if got := readFile(t, filepath.Join(s.dir, "principals", "deploy")); got != "ci@prod\n" {
		t.Errorf("principals/deploy = %q", got)
	}
	for _, p := range []string{filepath.Join(s.dir, "x"), filepath.Join(filepath.Dir(s.dir), "x"),
		filepath.Join(s.dir, "principals", ".hidden"), filepath.Join(s.dir, "principals", "a")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s written: %v", p, err)
		}
	}
	refused := s.logs.Lines("sshd host config: entry refused")
	if len(refused) < 7 {
		t.Errorf("%d refusals logged, want 7", len(refused))
	}

	// No usable CA key: nothing changes.
	before = snapshot()
	ca.SetTrustedUserCAKeys([]string{"ssh-ed25519 garbage"})
	s.refreshes(2)
	if got := snapshot(); !mapsEqual(got, before) {
		t.Error("a host-config without a usable CA key changed files")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestCleanHostConfig: the bounds and checks on a host-config.
func TestCleanHostConfig(t *testing.T) {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	pub, _ := ssh.NewPublicKey(k.Public())
	line := string(ssh.MarshalAuthorizedKey(pub))
	cas, ps, problems, err := cleanHostConfig(&api.SSHHostConfig{
		TrustedUserCAKeys: []string{line + " comment", "junk"},
		Principals:        map[string][]string{"ok": {"b@p", "a@p", "a@p"}, "..": {"x"}, "-": {"y"}, "empty": {"\x00"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cas) != 1 || cas[0]+"\n" != line {
		t.Errorf("cas = %q", cas)
	}
	if len(ps) != 1 || !slices.Equal(ps["ok"], []string{"a@p", "b@p"}) {
		t.Errorf("principals = %v", ps)
	}
	if len(problems) != 4 {
		t.Errorf("problems = %q", problems)
	}
	many := map[string][]string{}
	for i := range maxAccounts + 1 {
		many[fmt.Sprintf("u%d", i)] = nil
	}
	if _, _, _, err := cleanHostConfig(&api.SSHHostConfig{TrustedUserCAKeys: []string{line}, Principals: many}); err == nil {
		t.Error("too many accounts accepted")
	}
	if _, _, _, err := cleanHostConfig(&api.SSHHostConfig{TrustedUserCAKeys: []string{"junk"}}); err == nil {
		t.Error("a host config without a CA key accepted")
	}
}

// FuzzCleanHostConfig: no input makes cleanHostConfig accept an account
// name that is not a plain file name or a principal that is not one line.
func FuzzCleanHostConfig(f *testing.F) {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	pub, _ := ssh.NewPublicKey(k.Public())
	line := string(ssh.MarshalAuthorizedKey(pub))
	f.Add(line, "deploy", "ci@prod")
	f.Add("junk", "../x", "a\nb")
	f.Fuzz(func(t *testing.T, ca, account, principal string) {
		_, ps, _, err := cleanHostConfig(&api.SSHHostConfig{TrustedUserCAKeys: []string{ca}, Principals: map[string][]string{account: {principal}}})
		if err != nil {
			return
		}
		for a, list := range ps {
			if a != filepath.Base(a) || strings.HasPrefix(a, ".") || strings.ContainsAny(a, "/\x00\n") {
				t.Fatalf("account %q accepted", a)
			}
			for _, p := range list {
				if p == "" || strings.ContainsAny(p, " \t\r\n\x00") || strings.HasPrefix(p, "#") {
					t.Fatalf("principal %q accepted", p)
				}
			}
		}
	})
}

func pemBlock(b *pem.Block) []byte { return pem.EncodeToMemory(b) }

// TestSSHFilesOwner: with a user, the SSH key and certificate belong to
// the user (the key 0600) and DIR/ssh to root and the user's group.
func TestSSHFilesOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another user")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	ca := agenttest.New(t, time.Hour)
	dir := filepath.Join(t.TempDir(), "nobody")
	o := enrollOpts(ca, dir, ca.Token("db1", "nobody"))
	o.User = "nobody"
	if _, err := Enroll(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	r, err := newRunner(&Config{}, Identity{Name: "nobody", Dir: dir, User: "nobody", SSH: &SSHOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	f := sshPaths(dir, "")
	if _, err := r.sshRenew(context.Background(), mustLoad(t, dir), nil, f); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][3]int{f.dir: {0, gid, 0o750}, f.key: {uid, gid, 0o600}, f.cert: {uid, gid, 0o644},
		f.config: {uid, gid, 0o644}, f.knownHosts: {uid, gid, 0o644}} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != want[0] || int(st.Gid) != want[1] || int(fi.Mode().Perm()) != want[2] {
			t.Errorf("%s: owner %d:%d mode %o, want %d:%d %o", path, st.Uid, st.Gid, fi.Mode().Perm(), want[0], want[1], want[2])
		}
	}
}

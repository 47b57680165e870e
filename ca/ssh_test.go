package ca

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/certificates/authority/provisioner"
	"go.step.sm/crypto/sshutil"
	"golang.org/x/crypto/ssh"

	"github.com/rosterhq/roster/sshkrl"
)

// sshKeygen is the real OpenSSH tool; CI installs it (scripts/test.sh).
func sshKeygen(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ssh-keygen")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ssh-keygen not installed (openssh-client)")
		}
		t.Skip("ssh-keygen not installed")
	}
	return p
}

func sshPub(t testing.TB) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const testKeyID = "spiffe://roster.local/host/web1/sa/deploy"

func TestSSHKeysAtInit(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  SSHKeyType
		pass []byte
		want string
	}{
		{"default", "", nil, ssh.KeyAlgoED25519},
		{"ecdsa", SSHKeyECDSAP256, nil, ssh.KeyAlgoECDSA256},
		{"encrypted", "", []byte("s3cret pass"), ssh.KeyAlgoED25519},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Init(dir, InitOptions{SSHKeyType: tc.typ, Passphrase: tc.pass}); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{sshUserKeyFile, sshHostKeyFile} {
				st, err := os.Stat(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode() != 0o600 {
					t.Errorf("%s: mode %v", f, st.Mode())
				}
				b, _ := os.ReadFile(filepath.Join(dir, f))
				if enc := bytes.Contains(b, []byte("ENCRYPTED PRIVATE KEY")); enc != (tc.pass != nil) {
					t.Errorf("%s: encrypted %v, want %v", f, enc, tc.pass != nil)
				}
			}
			if tc.pass != nil {
				if _, err := Open(dir, Options{}); err == nil {
					t.Fatal("opened encrypted keys without the passphrase")
				}
			}
			c, err := Open(dir, Options{Passphrase: tc.pass})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.SSHUserCA().Type() != tc.want || c.SSHHostCA().Type() != tc.want {
				t.Errorf("key types %s, %s; want %s", c.SSHUserCA().Type(), c.SSHHostCA().Type(), tc.want)
			}
			if bytes.Equal(c.SSHUserCA().Marshal(), c.SSHHostCA().Marshal()) {
				t.Error("user and host CA share a key")
			}
			if !strings.HasPrefix(c.UserCAPublicKey(), tc.want+" ") || strings.Contains(c.UserCAPublicKey(), "\n") {
				t.Errorf("UserCAPublicKey %q", c.UserCAPublicKey())
			}
		})
	}
	if err := Init(t.TempDir(), InitOptions{SSHKeyType: "rsa"}); err == nil {
		t.Error("Init accepted ssh key type rsa")
	}
}

// A data directory from before SSH certificates gains the keys once, on its
// first start; later starts keep them.
func TestSSHKeysOnFirstStartOfOldDir(t *testing.T) {
	dir := t.TempDir()
	pass := []byte("pass phrase")
	if err := Init(dir, InitOptions{Passphrase: pass}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{sshUserKeyFile, sshHostKeyFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Open(dir, Options{Passphrase: pass, SSHKeyType: SSHKeyECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	user, host := c.UserCAPublicKey(), c.HostCAPublicKey()
	c.Close()
	if !strings.HasPrefix(user, ssh.KeyAlgoECDSA256) {
		t.Errorf("user CA %q, want the option's ECDSA", user)
	}
	for _, f := range []string{sshUserKeyFile, sshHostKeyFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("ENCRYPTED PRIVATE KEY")) {
			t.Errorf("%s not encrypted with the passphrase", f)
		}
	}
	c, err = Open(dir, Options{Passphrase: pass})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.UserCAPublicKey() != user || c.HostCAPublicKey() != host {
		t.Error("restart changed the SSH CA keys")
	}
}

func TestSignSSHBoundsAndDefaults(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := newCA(t, Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	pub := sshPub(t)
	cert, err := c.SignSSHUser(ctx, pub, SSHRequest{KeyID: testKeyID, Principals: []string{"deploy"}})
	if err != nil {
		t.Fatal(err)
	}
	if cert.CertType != ssh.UserCert || cert.KeyId != testKeyID || len(cert.ValidPrincipals) != 1 || cert.ValidPrincipals[0] != "deploy" {
		t.Errorf("cert %+v", cert)
	}
	if len(cert.Extensions)+len(cert.CriticalOptions) != 0 {
		t.Errorf("extensions %v, critical options %v; want none by default", cert.Extensions, cert.CriticalOptions)
	}
	if cert.ValidAfter != uint64(now.Add(-DefaultBackdate).Unix()) || cert.ValidBefore != uint64(now.Add(DefaultSSHValidity).Unix()) {
		t.Errorf("validity %d-%d", cert.ValidAfter, cert.ValidBefore)
	}
	if !bytes.Equal(cert.SignatureKey.Marshal(), c.SSHUserCA().Marshal()) || cert.Serial == 0 {
		t.Errorf("signed by %s, serial %d", ssh.FingerprintSHA256(cert.SignatureKey), cert.Serial)
	}
	checker := ssh.CertChecker{Clock: func() time.Time { return now }}
	if err := checker.CheckCert("deploy", cert); err != nil {
		t.Error(err)
	}

	asked, err := c.SignSSHUser(ctx, pub, SSHRequest{KeyID: testKeyID, Principals: []string{"deploy"}, Validity: 24 * time.Hour,
		Extensions: map[string]string{"permit-pty": ""}, CriticalOptions: map[string]string{"source-address": "192.0.2.7/32"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := asked.Extensions["permit-pty"]; !ok || len(asked.Extensions) != 1 || asked.CriticalOptions["source-address"] != "192.0.2.7/32" {
		t.Errorf("asked-for extensions %v, options %v", asked.Extensions, asked.CriticalOptions)
	}
	if asked.Serial == cert.Serial {
		t.Error("serial reused")
	}

	host, err := c.SignSSHHost(ctx, pub, SSHRequest{KeyID: "spiffe://roster.local/host/web1", Principals: []string{"web1", "web1.example.org"}, Validity: MaxSSHHostValidity})
	if err != nil {
		t.Fatal(err)
	}
	if host.CertType != ssh.HostCert || !bytes.Equal(host.SignatureKey.Marshal(), c.SSHHostCA().Marshal()) || len(host.Extensions) != 0 {
		t.Errorf("host cert type %d, extensions %v", host.CertType, host.Extensions)
	}

	for name, f := range map[string]func() error{
		"user 25h": func() error {
			_, err := c.SignSSHUser(ctx, pub, SSHRequest{KeyID: testKeyID, Principals: []string{"deploy"}, Validity: 25 * time.Hour})
			return err
		},
		"host 8d": func() error {
			_, err := c.SignSSHHost(ctx, pub, SSHRequest{KeyID: testKeyID, Principals: []string{"web1"}, Validity: 8 * 24 * time.Hour})
			return err
		},
		"too short": func() error {
			_, err := c.SignSSHUser(ctx, pub, SSHRequest{KeyID: testKeyID, Principals: []string{"deploy"}, Validity: time.Second})
			return err
		},
		"no principal": func() error {
			_, err := c.SignSSHUser(ctx, pub, SSHRequest{KeyID: testKeyID})
			return err
		},
		"empty principal": func() error {
			_, err := c.SignSSHUser(ctx, pub, SSHRequest{KeyID: testKeyID, Principals: []string{"deploy", ""}})
			return err
		},
		"no key id": func() error {
			_, err := c.SignSSHUser(ctx, pub, SSHRequest{Principals: []string{"deploy"}})
			return err
		},
		"host extension": func() error {
			_, err := c.SignSSHHost(ctx, pub, SSHRequest{KeyID: testKeyID, Principals: []string{"web1"}, Extensions: map[string]string{"permit-pty": ""}})
			return err
		},
		"certificate as key": func() error {
			_, err := c.SignSSHUser(ctx, cert, SSHRequest{KeyID: testKeyID, Principals: []string{"deploy"}})
			return err
		},
	} {
		if err := f(); !errors.Is(err, ErrSSHRequest) {
			t.Errorf("%s: %v, want ErrSSHRequest", name, err)
		}
	}
}

// The pitfalls roster guards against: SignSSH without a template option
// fails, and with a template but without roster's bounds the authority
// issues a certificate valid forever.
func TestSignSSHPitfalls(t *testing.T) {
	c := newCA(t, Options{})
	ctx := context.Background()
	opts := provisioner.SignSSHOptions{CertType: "user", KeyID: testKeyID, Principals: []string{"deploy"}}
	if _, err := c.auth.SignSSH(ctx, sshPub(t), opts); err == nil || !strings.Contains(err.Error(), "certificate template cannot be empty") {
		t.Errorf("no template: %v", err)
	}
	data := sshutil.CreateTemplateData(sshutil.UserCert, testKeyID, []string{"deploy"})
	cert, err := c.auth.SignSSH(ctx, sshPub(t), opts, sshTemplateOption{data: data})
	if err != nil {
		t.Fatal(err)
	}
	// Issued with whatever the template gives (here 0-0): nothing checked it.
	if life := cert.ValidBefore - cert.ValidAfter; cert.ValidBefore != 0 && cert.ValidBefore != ssh.CertTimeInfinity && life <= uint64(MaxSSHUserValidity/time.Second) {
		t.Errorf("without bounds: %d-%d; the pitfall is gone, revisit sshBounds", cert.ValidAfter, cert.ValidBefore)
	}
	// sshBounds' validator refuses what its modifier did not set.
	b := sshBounds{serial: 7, max: time.Hour}
	if err := b.Valid(&ssh.Certificate{Serial: 7, ValidAfter: 1, ValidBefore: 1 + 2*3600, ValidPrincipals: []string{"x"}}, opts); err == nil {
		t.Error("sshBounds accepted two hours for a one-hour maximum")
	}
}

func TestSSHKeygenListsCertificate(t *testing.T) {
	kg := sshKeygen(t)
	c := newCA(t, Options{})
	cert, err := c.SignSSHUser(context.Background(), sshPub(t), SSHRequest{KeyID: testKeyID, Principals: []string{"deploy"},
		Validity: 2 * time.Hour, Extensions: map[string]string{"permit-pty": ""}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id-cert.pub")
	if err := os.WriteFile(path, ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kg, "-L", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -L: %v\n%s", err, out)
	}
	s := string(out)
	va := time.Unix(int64(cert.ValidAfter), 0).Local().Format("2006-01-02T15:04:05")
	for _, want := range []string{
		"Type: ssh-ed25519-cert-v01@openssh.com user certificate",
		`Key ID: "` + testKeyID + `"`,
		fmt.Sprintf("Serial: %d", cert.Serial),
		"Valid: from " + va,
		"Principals: \n                deploy",
		"Extensions: \n                permit-pty",
		"Critical Options: (none)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("ssh-keygen -L lacks %q:\n%s", want, s)
		}
	}
}

func TestSSHCertificatesStored(t *testing.T) {
	dir := t.TempDir()
	c := initOpen(t, dir, Options{})
	cert, err := c.SignSSHUser(context.Background(), sshPub(t), SSHRequest{KeyID: testKeyID, Principals: []string{"deploy"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeSSH(context.Background(), cert.Serial, "keyCompromise"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The KRL is rebuilt on start.
	k, err := sshkrl.Parse(c.SSHKRL())
	if err != nil || !k.IsRevoked(cert) {
		t.Errorf("KRL after restart does not revoke %d: %v", cert.Serial, err)
	}
	r, err := c.SSHCertificate(cert.Serial)
	if err != nil {
		t.Fatal(err)
	}
	if r.Serial != cert.Serial || r.Type != "user" || r.KeyID != testKeyID || len(r.Principals) != 1 ||
		r.ValidBefore.Unix() != int64(cert.ValidBefore) || r.ValidAfter.Unix() != int64(cert.ValidAfter) ||
		r.CAKey != ssh.FingerprintSHA256(c.SSHUserCA()) || r.RevokedAt == nil || r.Reason != "keyCompromise" {
		t.Errorf("record %+v", r)
	}
	// smallstep's own ssh_certs record is there too.
	raw, err := c.issued.DB.Get(sshCertsTable, []byte(fmt.Sprint(cert.Serial)))
	if err != nil || !bytes.Equal(raw, cert.Marshal()) {
		t.Errorf("ssh_certs record: %v", err)
	}
	if _, err := c.SSHCertificate(cert.Serial + 1); !errors.Is(err, ErrUnknownSerial) {
		t.Errorf("unknown serial: %v", err)
	}
}

// For certificates signed by the CA, revoked (by serial, by identity, by
// key id, by explicit key) and not, ssh-keygen -Q agrees with roster.
func TestSSHKRLAgreesWithSSHKeygen(t *testing.T) {
	kg := sshKeygen(t)
	now := time.Now()
	clock := now
	c := newCA(t, Options{Now: func() time.Time { return clock }})
	ctx := context.Background()
	dir := t.TempDir()
	type signed struct {
		name string
		cert *ssh.Certificate
	}
	var certs []signed
	sign := func(name, keyID string, host bool, validity time.Duration) *ssh.Certificate {
		req := SSHRequest{KeyID: keyID, Principals: []string{"deploy"}, Validity: validity}
		f := c.SignSSHUser
		if host {
			f = c.SignSSHHost
		}
		cert, err := f(ctx, sshPub(t), req)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, signed{name, cert})
		return cert
	}
	revokedSerial := sign("revoked-serial", "spiffe://roster.local/host/a/sa/x", false, time.Hour)
	sign("kept", "spiffe://roster.local/host/a/sa/y", false, time.Hour)
	sign("identity-1", "spiffe://roster.local/host/b/sa/z", false, time.Hour)
	sign("identity-2", "spiffe://roster.local/host/b/sa/z", false, 2*time.Hour)
	hostRevoked := sign("host-revoked", "spiffe://roster.local/host/c", true, time.Hour)
	sign("host-kept", "spiffe://roster.local/host/d", true, time.Hour)
	sign("by-key-id", "spiffe://roster.local/host/e/sa/w", false, time.Hour)
	explicit := sign("explicit-key", "spiffe://roster.local/host/f/sa/v", false, time.Hour)
	sign("fingerprint", "spiffe://roster.local/host/g/sa/u", false, time.Hour)

	if err := c.RevokeSSH(ctx, revokedSerial.Serial, "test"); err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeSSH(ctx, revokedSerial.Serial, "test"); !errors.Is(err, ErrAlreadyRevoked) {
		t.Errorf("second revoke: %v", err)
	}
	if err := c.RevokeSSH(ctx, hostRevoked.Serial, "test"); err != nil {
		t.Fatal(err)
	}
	got, err := c.RevokeSSHKeyID(ctx, "spiffe://roster.local/host/b/sa/z", "retired")
	if err != nil || len(got) != 2 {
		t.Fatalf("RevokeSSHKeyID: %v, %v", got, err)
	}
	if got, err := c.RevokeSSHKeyID(ctx, "spiffe://roster.local/host/b/sa/z", "retired"); err != nil || len(got) != 0 {
		t.Errorf("RevokeSSHKeyID again: %v, %v", got, err)
	}

	// The CA's KRL, extended with a key id, an explicit key and a
	// fingerprint (what the format allows beyond roster's serials).
	k, err := sshkrl.Parse(c.SSHKRL())
	if err != nil {
		t.Fatal(err)
	}
	k.Certs = append(k.Certs, sshkrl.CertSection{CA: c.SSHUserCA(), KeyIDs: []string{"spiffe://roster.local/host/e/sa/w"}})
	k.Keys = append(k.Keys, explicit.Key)
	k.SHA256 = append(k.SHA256, sshkrl.Fingerprint(certs[8].cert.Key))
	b, err := k.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"revoked-serial": true, "identity-1": true, "identity-2": true, "host-revoked": true,
		"by-key-id": true, "explicit-key": true, "fingerprint": true}
	check := func(label string, krl []byte, want map[string]bool) {
		t.Helper()
		path := filepath.Join(dir, label+".krl")
		if err := os.WriteFile(path, krl, 0o644); err != nil {
			t.Fatal(err)
		}
		parsed, err := sshkrl.Parse(krl)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range certs {
			cp := filepath.Join(dir, s.name+"-cert.pub")
			if err := os.WriteFile(cp, ssh.MarshalAuthorizedKey(s.cert), 0o644); err != nil {
				t.Fatal(err)
			}
			out, _ := exec.Command(kg, "-Q", "-f", path, cp).CombinedOutput()
			tool := strings.Contains(string(out), "REVOKED")
			if !tool && !strings.Contains(string(out), "ok") {
				t.Fatalf("%s: ssh-keygen -Q: %s", s.name, out)
			}
			if tool != want[s.name] || parsed.IsRevoked(s.cert) != want[s.name] {
				t.Errorf("%s %s: ssh-keygen says revoked=%v, roster %v, want %v (%s)", label, s.name, tool, parsed.IsRevoked(s.cert), want[s.name], strings.TrimSpace(string(out)))
			}
		}
	}
	check("extended", b, want)
	check("ca", c.SSHKRL(), map[string]bool{"revoked-serial": true, "identity-1": true, "identity-2": true, "host-revoked": true})

	// Expired revoked certificates leave the list at the next rebuild: of
	// the five revoked, only identity-2 (2h) is still valid.
	clock = now.Add(90 * time.Minute)
	if err := c.RevokeSSH(ctx, certs[1].cert.Serial, "test"); err != nil {
		t.Fatal(err)
	}
	k, err = sshkrl.Parse(c.SSHKRL())
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Certs) != 1 || len(k.Certs[0].Serials) != 1 || k.Certs[0].Serials[0] != certs[3].cert.Serial || k.Version != 5 {
		t.Errorf("after expiry: %+v (version %d)", k.Certs, k.Version)
	}
	clock = now.Add(3 * time.Hour)
	if n, err := c.SweepSSHKRL(ctx); err != nil || n != 1 {
		t.Errorf("sweep: %d, %v; want 1 gone", n, err)
	}
	if k, err = sshkrl.Parse(c.SSHKRL()); err != nil || len(k.Certs) != 0 {
		t.Errorf("after sweep: %+v, %v", k, err)
	}
}

func TestSSHSerialsUniqueUnderConcurrency(t *testing.T) {
	c := newCA(t, Options{})
	const n = 32
	serials := make(chan uint64, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			cert, err := c.SignSSHUser(context.Background(), sshPub(t), SSHRequest{KeyID: testKeyID, Principals: []string{"deploy"}})
			if err != nil {
				errs <- err
				return
			}
			serials <- cert.Serial
		}()
	}
	seen := map[uint64]bool{}
	for range n {
		select {
		case err := <-errs:
			t.Fatal(err)
		case s := <-serials:
			if seen[s] {
				t.Fatalf("serial %d twice", s)
			}
			seen[s] = true
		}
	}
	recs, err := c.SSHCertificates()
	if err != nil || len(recs) != n {
		t.Fatalf("%d records, want %d: %v", len(recs), n, err)
	}
}

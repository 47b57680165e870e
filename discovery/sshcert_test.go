package discovery

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/scan"
	gossh "golang.org/x/crypto/ssh"
)

// keygen makes a key pair with ssh-keygen in a temporary directory and
// returns its public key line and its fingerprint as ssh-keygen -l prints
// it. Missing ssh-keygen fails the test under CI=true.
func keygen(t *testing.T, typ, comment string) (pub, fp string) {
	t.Helper()
	bin := requireTool(t, "ssh-keygen")
	dir := t.TempDir()
	args := []string{"-q", "-t", typ, "-N", "", "-C", comment, "-f", filepath.Join(dir, "k")}
	if typ == "ecdsa" {
		args = append(args, "-b", "256")
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %q: %v %s", args, err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "k.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b), sshKeygenFingerprint(t, filepath.Join(dir, "k.pub"))
}

// emptyKRL writes an empty key revocation list with ssh-keygen -k.
func emptyKRL(t *testing.T) string {
	t.Helper()
	bin := requireTool(t, "ssh-keygen")
	p := filepath.Join(t.TempDir(), "revoked.krl")
	if out, err := exec.Command(bin, "-q", "-k", "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -k: %v %s", err, out)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const certPasswd = "root:x:0:0:root:/root:/bin/bash\n" +
	"deploy:x:1100:1100::/home/deploy:/bin/bash\n" +
	"ci:x:1101:1101::/home/ci:/bin/bash\n" +
	"svc:x:1102:1102::/srv/svc:/bin/sh\n"

func TestScanSSHDCertificates(t *testing.T) {
	caPub, caFP := keygen(t, "ed25519", "roster user ca")
	ca2Pub, ca2FP := keygen(t, "ecdsa", "old ca")
	userPub, _ := keygen(t, "ed25519", "ci@laptop")
	krl := emptyKRL(t)
	base := func() map[string]string {
		return map[string]string{
			"etc/passwd":                             certPasswd,
			"etc/hostname":                           "cert1\n",
			"etc/ssh/roster/user_ca.pub":             "# roster\n" + caPub + ca2Pub + caPub,
			"etc/ssh/roster/principals/deploy":       "deploy\n",
			"etc/ssh/roster/principals/ci":           "# comment\nci\n\nfrom=\"10.0.0.0/8\",no-pty ci-admin\nci\n",
			"etc/ssh/roster/revoked.krl":             krl,
			"home/ci/.ssh/authorized_keys":           userPub,
			"home/deploy/.ssh/authorized_principals": "deploy-home\n",
		}
	}
	for _, tc := range []struct {
		desc       string
		config     string
		files      map[string]string // added to base; "" removes
		want       *scan.SSHD
		principals map[string][]string // account -> principals; others have none
		warn       []string            // substrings of warnings
	}{
		{
			desc: "roster snippet with case-insensitive keywords, = and quotes",
			config: "trustedusercakeys /etc/ssh/roster/user_ca.pub\nAUTHORIZEDPRINCIPALSFILE=/etc/ssh/roster/principals/%u\n" +
				"RevokedKeys \"/etc/ssh/roster/revoked.krl\"\nHostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\n" +
				"HostCertificate /etc/ssh/ssh_host_ecdsa_key-cert.pub\nhostcertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\n",
			want: &scan.SSHD{TrustedUserCAKeysFile: "/etc/ssh/roster/user_ca.pub",
				TrustedUserCAKeys: []scan.SSHKey{{Type: "ssh-ed25519", Fingerprint: caFP, Location: "/etc/ssh/roster/user_ca.pub:2"},
					{Type: "ecdsa-sha2-nistp256", Fingerprint: ca2FP, Location: "/etc/ssh/roster/user_ca.pub:3"}},
				AuthorizedPrincipalsFile: "/etc/ssh/roster/principals/%u",
				RevokedKeys:              &scan.RevokedKeys{Path: "/etc/ssh/roster/revoked.krl", Exists: true, Size: int64(len(krl)), Format: scan.RevokedKRL},
				HostCertificates:         []string{"/etc/ssh/ssh_host_ed25519_key-cert.pub", "/etc/ssh/ssh_host_ecdsa_key-cert.pub"}},
			principals: map[string][]string{"deploy": {"deploy"}, "ci": {"ci", "ci-admin"}},
		},
		{
			desc: "Include, first value wins, Match recorded and not applied",
			config: "Include conf.d/*.conf\nTrustedUserCAKeys /etc/ssh/other.pub\n" +
				"Match User ci\n  AuthorizedPrincipalsFile none\n  TrustedUserCAKeys /etc/ssh/other.pub\n  PasswordAuthentication yes\n" +
				"Match all\nRevokedKeys /etc/ssh/roster/revoked.krl\n",
			files: map[string]string{"etc/ssh/conf.d/10-roster.conf": "TrustedUserCAKeys /etc/ssh/roster/user_ca.pub\nAuthorizedPrincipalsFile %h/.ssh/authorized_principals\n"},
			want: &scan.SSHD{TrustedUserCAKeysFile: "/etc/ssh/roster/user_ca.pub",
				TrustedUserCAKeys: []scan.SSHKey{{Type: "ssh-ed25519", Fingerprint: caFP, Location: "/etc/ssh/roster/user_ca.pub:2"},
					{Type: "ecdsa-sha2-nistp256", Fingerprint: ca2FP, Location: "/etc/ssh/roster/user_ca.pub:3"}},
				AuthorizedPrincipalsFile: "%h/.ssh/authorized_principals",
				RevokedKeys:              &scan.RevokedKeys{Path: "/etc/ssh/roster/revoked.krl", Exists: true, Size: int64(len(krl)), Format: scan.RevokedKRL},
				MatchBlocks:              []scan.MatchBlock{{Location: "/etc/ssh/sshd_config:3", Criteria: "User ci", Sets: []string{"authorizedprincipalsfile", "trustedusercakeys"}}}},
			// %h: only deploy has the file in its home.
			principals: map[string][]string{"deploy": {"deploy-home"}},
		},
		{
			desc:   "%% and %u expand",
			config: "TrustedUserCAKeys /etc/ssh/roster/user_ca.pub\nAuthorizedPrincipalsFile /etc/ssh/p/%u%%\n",
			files:  map[string]string{"etc/ssh/p/deploy%": "deploy\n", "etc/ssh/p/svc%": "svc\n"},
			want: &scan.SSHD{TrustedUserCAKeysFile: "/etc/ssh/roster/user_ca.pub",
				TrustedUserCAKeys: []scan.SSHKey{{Type: "ssh-ed25519", Fingerprint: caFP, Location: "/etc/ssh/roster/user_ca.pub:2"},
					{Type: "ecdsa-sha2-nistp256", Fingerprint: ca2FP, Location: "/etc/ssh/roster/user_ca.pub:3"}},
				AuthorizedPrincipalsFile: "/etc/ssh/p/%u%%"},
			principals: map[string][]string{"deploy": {"deploy"}, "svc": {"svc"}},
		},
		{
			desc:   "principals without a trusted CA are no certificate login; a missing RevokedKeys is warned",
			config: "AuthorizedPrincipalsFile /etc/ssh/roster/principals/%u\nRevokedKeys /etc/ssh/roster/gone.krl\n",
			want: &scan.SSHD{AuthorizedPrincipalsFile: "/etc/ssh/roster/principals/%u",
				RevokedKeys: &scan.RevokedKeys{Path: "/etc/ssh/roster/gone.krl"}},
			warn: []string{"RevokedKeys file does not exist"},
		},
		{
			desc:   "a CA file that is missing trusts nobody; a key list as RevokedKeys",
			config: "TrustedUserCAKeys /etc/ssh/nope.pub\nAuthorizedPrincipalsFile /etc/ssh/roster/principals/%u\nRevokedKeys /etc/ssh/revoked_keys\n",
			files:  map[string]string{"etc/ssh/revoked_keys": userPub},
			want: &scan.SSHD{TrustedUserCAKeysFile: "/etc/ssh/nope.pub", AuthorizedPrincipalsFile: "/etc/ssh/roster/principals/%u",
				RevokedKeys: &scan.RevokedKeys{Path: "/etc/ssh/revoked_keys", Exists: true, Size: int64(len(userPub)), Format: scan.RevokedKeyList}},
			warn: []string{"TrustedUserCAKeys file does not exist"},
		},
		{
			desc:   "none disables",
			config: "TrustedUserCAKeys none\nAuthorizedPrincipalsFile none\nRevokedKeys none\n",
		},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			files := base()
			files["etc/ssh/sshd_config"] = tc.config
			for k, v := range tc.files {
				files[k] = v
			}
			rep := scanRoot(t, Options{Root: buildRoot(t, files).Dir()})
			if !reflect.DeepEqual(rep.Host.SSHD, tc.want) {
				t.Errorf("sshd\n got  %+v\n want %+v", rep.Host.SSHD, tc.want)
			}
			for _, a := range rep.Accounts {
				want := tc.principals[a.Name]
				var got []string
				if l := a.SSHCertLogin; l != nil {
					got = l.Principals
					if !reflect.DeepEqual(l.CAFingerprints, []string{caFP, ca2FP}) || l.PrincipalsFile == "" {
						t.Errorf("%s: login %+v", a.Name, l)
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: principals %q, want %q", a.Name, got, want)
				}
			}
			for _, w := range tc.warn {
				found := false
				for _, x := range rep.Warnings {
					found = found || strings.Contains(x.Message, w)
				}
				if !found {
					t.Errorf("no warning %q in %+v", w, rep.Warnings)
				}
			}
			if err := scan.Validate(rep); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestScanSSHDCertificatesHostile: oversized and endless files, include
// loops, paths that leave the root, and a CA file holding a certificate.
func TestScanSSHDCertificatesHostile(t *testing.T) {
	caPub, caFP := keygen(t, "ed25519", "ca")
	var many, manyKeys strings.Builder
	for i := range maxPrincipals + 50 {
		many.WriteString("p" + strconv.Itoa(i) + "\n")
	}
	manyKeys.WriteString(certLine(t) + "\n")
	for range maxCAKeys + 5 {
		pub, _ := keygenFast(t)
		manyKeys.WriteString(pub)
	}
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "ca.pub"), []byte(caPub), 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"etc/passwd":   certPasswd,
		"etc/hostname": "cert1\n",
		// A loop through two files, an Include that climbs out of the root,
		// and a symlink to a file outside it: all stay inside the root.
		"etc/ssh/sshd_config":   "Include a.conf\nInclude ../../../../../../" + outside + "/x.conf\nTrustedUserCAKeys /etc/ssh/link.pub\nAuthorizedPrincipalsFile /etc/ssh/p/%u\nRevokedKeys /etc/ssh/big.krl\n",
		"etc/ssh/a.conf":        "Include /etc/ssh/b.conf\n",
		"etc/ssh/b.conf":        "Include /etc/ssh/a.conf\n",
		"etc/ssh/link.pub":      "-> " + filepath.Join(outside, "ca.pub"),
		"etc/ssh/p/deploy":      many.String(),
		"etc/ssh/p/ci":          strings.Repeat("x", 300) + "\nci extra words\n\"unterminated x\nci\n",
		"etc/ssh/p/root":        strings.Repeat("r\n", 3000),
		"etc/ssh/p/svc":         "-> /etc/ssh/p/svc",
		"etc/ssh/big.krl":       "SSHKRL\n\x00" + strings.Repeat("\x00", 5000),
		"etc/ssh/roster/ca.pub": manyKeys.String(),
	}
	rep := scanRoot(t, Options{Root: buildRoot(t, files).Dir(), MaxFileBytes: 4096})
	if err := scan.Validate(rep); err != nil {
		t.Fatal(err)
	}
	d := rep.Host.SSHD
	if d == nil || len(d.TrustedUserCAKeys) != 0 {
		t.Fatalf("a CA key outside the root was read: %+v", d)
	}
	if rk := d.RevokedKeys; rk == nil || !rk.Exists || rk.Size != 5008 || rk.Format != "" {
		t.Errorf("revoked keys larger than the cap: %+v", rk)
	}
	for _, w := range []string{"Include nested deeper", "size cap"} {
		found := false
		for _, x := range rep.Warnings {
			found = found || strings.Contains(x.Message, w)
		}
		if !found {
			t.Errorf("no warning %q in %+v", w, rep.Warnings)
		}
	}

	// The same with the CA file inside the root: principals are capped,
	// bad lines warned, an over-long principal dropped, a too-large file
	// warned, and at most maxCAKeys keys recorded.
	files["etc/ssh/link.pub"] = caPub
	files["etc/ssh/sshd_config"] = "TrustedUserCAKeys /etc/ssh/link.pub\nAuthorizedPrincipalsFile /etc/ssh/p/%u\n"
	rep = scanRoot(t, Options{Root: buildRoot(t, files).Dir(), MaxFileBytes: 4096})
	got := map[string][]string{}
	for _, a := range rep.Accounts {
		if a.SSHCertLogin != nil {
			got[a.Name] = a.SSHCertLogin.Principals
		}
	}
	if len(got["deploy"]) != maxPrincipals || !reflect.DeepEqual(got["ci"], []string{"ci"}) || len(got) != 2 {
		t.Errorf("principals %q", got)
	}
	if rep.Host.SSHD == nil || len(rep.Host.SSHD.TrustedUserCAKeys) != 1 || rep.Host.SSHD.TrustedUserCAKeys[0].Fingerprint != caFP {
		t.Errorf("CA keys %+v", rep.Host.SSHD)
	}
	for _, w := range []string{"more than 256 principals", "principal longer than 256 bytes", "line is not [options] principal",
		"unterminated quote", "size cap", "/etc/ssh/p/svc"} {
		found := false
		for _, x := range rep.Warnings {
			found = found || strings.Contains(x.Message, w) || x.File == w
		}
		if !found {
			t.Errorf("no warning %q in %+v", w, rep.Warnings)
		}
	}
	files["etc/ssh/sshd_config"] = "TrustedUserCAKeys /etc/ssh/roster/ca.pub\nAuthorizedPrincipalsFile /etc/ssh/p/%u\n"
	rep = scanRoot(t, Options{Root: buildRoot(t, files).Dir()})
	if n := len(rep.Host.SSHD.TrustedUserCAKeys); n != maxCAKeys {
		t.Errorf("%d CA keys recorded, want %d", n, maxCAKeys)
	}
	found := false
	for _, x := range rep.Warnings {
		found = found || x.File == "/etc/ssh/roster/ca.pub" && x.Line == 1 && strings.Contains(x.Message, "a certificate is not a CA key")
	}
	if !found {
		t.Errorf("certificate in the CA file not warned: %+v", rep.Warnings)
	}
	if err := scan.Validate(rep); err != nil {
		t.Fatal(err)
	}
}

// keygenFast makes an Ed25519 public key line in Go, for tests where its
// fingerprint does not matter.
func keygenFast(t *testing.T) (string, gossh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(gossh.MarshalAuthorizedKey(s.PublicKey())), s
}

// certLine is a user certificate line (…-cert-v01@openssh.com).
func certLine(t *testing.T) string {
	t.Helper()
	_, ca := keygenFast(t)
	_, user := keygenFast(t)
	c := &gossh.Certificate{Key: user.PublicKey(), CertType: gossh.UserCert, ValidPrincipals: []string{"u"}, ValidBefore: gossh.CertTimeInfinity}
	if err := c.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(c)))
}

// TestScanFixtureCertBastion scans testdata/hosts/cert-bastion: roster's
// sshd snippet in a drop-in that wins over a later TrustedUserCAKeys, a
// real KRL (ssh-keygen -k), and a Match User block that gives backup its
// own principals file (so backup's login is not recorded, with a warning).
func TestScanFixtureCertBastion(t *testing.T) {
	root := filepath.Join("testdata", "hosts", "cert-bastion")
	fp := sshKeygenFingerprint(t, filepath.Join(root, "etc/ssh/roster/user_ca.pub"))
	rep := scanRoot(t, Options{Root: root})
	d := rep.Host.SSHD
	if d == nil || len(d.TrustedUserCAKeys) != 1 || d.TrustedUserCAKeys[0].Fingerprint != fp || d.TrustedUserCAKeysFile != "/etc/ssh/roster/user_ca.pub" ||
		d.AuthorizedPrincipalsFile != "/etc/ssh/roster/principals/%u" || d.RevokedKeys == nil || d.RevokedKeys.Format != scan.RevokedKRL ||
		!reflect.DeepEqual(d.HostCertificates, []string{"/etc/ssh/ssh_host_ed25519_key-cert.pub"}) || len(d.MatchBlocks) != 1 {
		t.Fatalf("sshd %+v", d)
	}
	logins := map[string][]string{}
	for _, a := range rep.Accounts {
		if a.SSHCertLogin != nil {
			logins[a.Name] = a.SSHCertLogin.Principals
		}
	}
	if want := map[string][]string{"ci": {"ci"}, "deploy": {"deploy"}}; !reflect.DeepEqual(logins, want) {
		t.Errorf("logins %q, want %q", logins, want)
	}
	// deploy moved from authorized_keys to certificates: still a service.
	if a := findAccount(t, rep, "deploy"); a.Kind != scan.KindService {
		t.Errorf("deploy: %s %q", a.Kind, a.KindEvidence)
	}
	if len(rep.Warnings) != 1 || rep.Warnings[0].File != "/etc/ssh/sshd_config" || rep.Warnings[0].Line != 7 {
		t.Errorf("warnings %+v", rep.Warnings)
	}
}

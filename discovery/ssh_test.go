package discovery

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/scan"
	gossh "golang.org/x/crypto/ssh"
)

// requireTool returns the path of an external program. Without it the
// test is skipped, except under CI=true, where it fails.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

func TestReadSSHDConfig(t *testing.T) {
	defaults := []string{".ssh/authorized_keys", ".ssh/authorized_keys2"}
	cases := []struct {
		desc string
		root string
		want sshdConfig
	}{
		{
			desc: "debian with drop-in and Match block",
			root: "testdata/ssh/debian",
			want: sshdConfig{Found: true, PasswordAuthentication: false, PermitRootLogin: "without-password",
				AuthorizedKeysFiles: []string{".ssh/authorized_keys", "/etc/ssh/authorized_keys/%u"},
				Matches:             []string{"/etc/ssh/sshd_config:123 User backup"},
				MatchBlocks:         []scan.MatchBlock{{Location: "/etc/ssh/sshd_config:123", Criteria: "User backup"}}},
		},
		{
			desc: "rhel with IPA, user CA and crypto-policy include",
			root: "testdata/ssh/rhel",
			want: sshdConfig{Found: true, PasswordAuthentication: true, PermitRootLogin: "yes",
				AuthorizedKeysFiles:   []string{".ssh/authorized_keys"},
				AuthorizedKeysCommand: "/usr/bin/sss_ssh_authorizedkeys", AuthorizedKeysCommandUser: "nobody",
				TrustedUserCAKeys: "/etc/ssh/user_ca.pub", AuthorizedPrincipalsFile: "/etc/ssh/auth_principals/%u"},
		},
		{
			desc: "suse vendor config in /usr/etc",
			root: "testdata/ssh/suse",
			want: sshdConfig{Found: true, PasswordAuthentication: true, PermitRootLogin: "yes",
				AuthorizedKeysFiles: []string{".ssh/authorized_keys"}},
		},
		{
			desc: "no sshd",
			root: "testdata/cron/suse",
			want: sshdConfig{PasswordAuthentication: true, PermitRootLogin: "prohibit-password", AuthorizedKeysFiles: defaults},
		},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			var w warnings
			got := readSSHDConfig(testRoot(t, tc.root), &w)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if len(w.list) != 0 {
				t.Errorf("warnings: %+v", w.list)
			}
		})
	}
}

func TestReadSSHDConfigEdgeCases(t *testing.T) {
	r := buildRoot(t, map[string]string{
		"etc/ssh/sshd_config": `Include loop.conf
AuthorizedKeysFile none
Match Group admins
  TrustedUserCAKeys /etc/ssh/admin_ca.pub
Match all
TrustedUserCAKeys "/etc/ssh/all ca.pub"
AuthorizedKeysCommand /usr/bin/keys "%u" --flag
PermitRootLogin
Banner "unterminated
`,
		"etc/ssh/loop.conf": "Include /etc/ssh/loop.conf\nPasswordAuthentication no\n",
	})
	var w warnings
	got := readSSHDConfig(r, &w)
	want := sshdConfig{Found: true, AuthorizedKeysFiles: []string{"none"}, PermitRootLogin: "prohibit-password",
		TrustedUserCAKeys: "/etc/ssh/all ca.pub", AuthorizedKeysCommand: "/usr/bin/keys %u --flag",
		Matches:     []string{"/etc/ssh/sshd_config:3 Group admins", "/etc/ssh/sshd_config:5 all"},
		MatchBlocks: []scan.MatchBlock{{Location: "/etc/ssh/sshd_config:3", Criteria: "Group admins", Sets: []string{"trustedusercakeys"}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	warned := warnedAt(&w)
	if want := []string{"/etc/ssh/loop.conf:1", "/etc/ssh/sshd_config:8", "/etc/ssh/sshd_config:9"}; !reflect.DeepEqual(warned, want) {
		t.Errorf("warnings %q, want %q (%+v)", warned, want, w.list)
	}
	if paths := got.authorizedKeysPaths("alice", "/home/alice", 1000); len(paths) != 0 {
		t.Errorf("AuthorizedKeysFile none gave paths %q", paths)
	}
}

func TestAuthorizedKeysPaths(t *testing.T) {
	c := sshdConfig{AuthorizedKeysFiles: []string{".ssh/authorized_keys", "%h/.ssh/authorized_keys", "/etc/ssh/keys/%u",
		"/etc/ssh/100%%/%u", "/etc/ssh/uid/%U", "../shared/keys"}}
	got := c.authorizedKeysPaths("svc-backup", "/var/lib/backup", 1000)
	want := []string{"/var/lib/backup/.ssh/authorized_keys", "/etc/ssh/keys/svc-backup", "/etc/ssh/100%/svc-backup", "/etc/ssh/uid/1000", "/var/lib/shared/keys"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := c.authorizedKeysPaths("nohome", "", 1000); !reflect.DeepEqual(got, []string{"/etc/ssh/keys/nohome", "/etc/ssh/100%/nohome", "/etc/ssh/uid/1000"}) {
		t.Errorf("without a home: %q", got)
	}
	// %U needs the uid: an unknown (negative) one leaves the pattern out.
	if got := c.authorizedKeysPaths("nouid", "", -1); !reflect.DeepEqual(got, []string{"/etc/ssh/keys/nouid", "/etc/ssh/100%/nouid"}) {
		t.Errorf("without a uid: %q", got)
	}
}

// sshKeygenList runs ssh-keygen -lf and returns "BITS FINGERPRINT COMMENT"
// for every key it lists.
func sshKeygenList(t *testing.T, file string) []string {
	t.Helper()
	out, err := exec.Command(requireTool(t, "ssh-keygen"), "-lf", file).Output()
	if err != nil {
		t.Fatalf("ssh-keygen -lf %s: %v", file, err)
	}
	var list []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.LastIndex(line, " ("); i >= 0 {
			line = line[:i] // drop " (ED25519)"
		}
		list = append(list, line)
	}
	return list
}

func credList(creds []scan.Credential) []string {
	var list []string
	for _, c := range creds {
		list = append(list, strings.TrimSpace(strconv.Itoa(c.Bits)+" "+c.Fingerprint+" "+c.Name))
	}
	return list
}

func TestReadAuthorizedKeysMatchesSSHKeygen(t *testing.T) {
	const file = "testdata/ssh/authorized_keys"
	want := sshKeygenList(t, file)
	dir, _ := filepath.Abs("testdata/ssh")
	var w warnings
	creds := readAuthorizedKeys(testRoot(t, dir), "/authorized_keys", &w)
	if got := credList(creds); !reflect.DeepEqual(got, want) {
		t.Fatalf("fingerprints differ from ssh-keygen -lf:\n got %q\nwant %q", got, want)
	}
	type row struct {
		loc, alg string
		options  []string
		findings []string
	}
	rows := []row{
		{"/authorized_keys:3", "ssh-ed25519", nil, []string{"no from= restriction"}},
		{"/authorized_keys:4", "ssh-rsa", []string{"from=10.0.0.0/8,192.168.1.*", "command=/usr/bin/rrsync -ro /backup", "no-pty", "no-port-forwarding"}, nil},
		{"/authorized_keys:5", "ecdsa-sha2-nistp384", []string{"restrict", "expiry-time=20200101", "environment=DB_PASSWORD"}, []string{"expired", "no from= restriction"}},
		{"/authorized_keys:6", "ssh-ed25519", []string{"cert-authority", "principals=ops,deploy"}, []string{"no from= restriction"}},
		{"/authorized_keys:7", "ssh-rsa", nil, []string{"no from= restriction", "weak key (RSA 1024 bits)"}},
		{"/authorized_keys:8", "ssh-dss", nil, []string{"no from= restriction", "deprecated key type (DSA)"}},
		{"/authorized_keys:9", "ssh-ed25519", []string{`command=echo "quoted" here`, "no-agent-forwarding"}, []string{"no from= restriction"}},
	}
	for i, c := range creds {
		r := rows[i]
		if c.Type != scan.CredSSHAuthorizedKey || c.Location != r.loc || c.Algorithm != r.alg ||
			!reflect.DeepEqual(c.Options, r.options) || !reflect.DeepEqual(c.Findings, r.findings) {
			t.Errorf("key %d:\n got %s %s %q %q\nwant %s %s %q %q", i, c.Location, c.Algorithm, c.Options, c.Findings, r.loc, r.alg, r.options, r.findings)
		}
	}
	if warned, want := warningLines(&w), []int{10, 11, 12}; !reflect.DeepEqual(warned, want) {
		t.Errorf("warnings on lines %v, want %v: %+v", warned, want, w.list)
	}
	assertNoSecrets(t, []string{"envoptsecret"}, creds, w.list)
}

// genKey creates a key pair with ssh-keygen and returns the private key path.
func genKey(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	cmd := exec.Command(requireTool(t, "ssh-keygen"), append([]string{"-q", "-f", p, "-C", name}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %v: %v\n%s", args, err, out)
	}
	return p
}

func TestGeneratedKeysAndPrivateKeys(t *testing.T) {
	root := t.TempDir()
	ssh := filepath.Join(root, "home/svc/.ssh")
	if err := os.MkdirAll(ssh, 0o700); err != nil {
		t.Fatal(err)
	}
	keys := []struct {
		name    string
		args    []string
		private bool // an unencrypted private key credential is expected
	}{
		{"id_ed25519", []string{"-t", "ed25519", "-N", ""}, true},
		{"id_rsa", []string{"-t", "rsa", "-b", "2048", "-N", ""}, true},
		{"id_ecdsa", []string{"-t", "ecdsa", "-b", "521", "-N", "", "-m", "PEM"}, true},
		{"id_ecdsa256", []string{"-t", "ecdsa", "-b", "256", "-N", "", "-m", "PKCS8"}, true},
		{"id_encrypted", []string{"-t", "ed25519", "-N", "a passphrase"}, false},
		{"id_encrypted_pem", []string{"-t", "rsa", "-b", "2048", "-N", "a passphrase", "-m", "PEM"}, false},
	}
	var ak bytes.Buffer
	var privateBodies []string
	for _, k := range keys {
		p := genKey(t, ssh, k.name, k.args...)
		pub, err := os.ReadFile(p + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		ak.Write(pub)
		data, _ := os.ReadFile(p)
		lines := strings.Split(string(data), "\n")
		privateBodies = append(privateBodies, lines[len(lines)/2]) // a line of key material
	}
	if err := os.Chmod(filepath.Join(ssh, "id_ecdsa"), 0o644); err != nil {
		t.Fatal(err)
	}
	akPath := filepath.Join(ssh, "authorized_keys")
	if err := os.WriteFile(akPath, ak.Bytes(), 0o620); err != nil {
		t.Fatal(err)
	}
	os.Chmod(akPath, 0o620) // umask may have cleared group write
	os.WriteFile(filepath.Join(ssh, "known_hosts"), []byte("host ssh-ed25519 AAAA\n"), 0o644)
	os.WriteFile(filepath.Join(ssh, "id_broken"), []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAdamaged\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600)
	if l, err := net.Listen("unix", filepath.Join(ssh, "cm-socket")); err == nil { // a ControlMaster socket
		defer l.Close()
	}

	r := testRoot(t, root)
	var w warnings
	creds := readAuthorizedKeys(r, "/home/svc/.ssh/authorized_keys", &w)
	if got, want := credList(creds), sshKeygenList(t, akPath); !reflect.DeepEqual(got, want) {
		t.Fatalf("authorized_keys differs from ssh-keygen -lf:\n got %q\nwant %q", got, want)
	}
	for _, c := range creds {
		if c.Mode != "0620" || !slices.Contains(c.Findings, "writable by group") {
			t.Errorf("%s: mode %s findings %q, want 0620 and writable by group", c.Location, c.Mode, c.Findings)
		}
	}

	priv := readPrivateKeys(r, "/home/svc", &w)
	byName := map[string]scan.Credential{}
	for _, c := range priv {
		byName[c.Name] = c
	}
	for i, k := range keys {
		c, ok := byName[k.name]
		if ok != k.private {
			t.Errorf("%s: reported %v, want %v", k.name, ok, k.private)
			continue
		}
		if !ok {
			continue
		}
		// The private key's fingerprint is its public key's, as ssh-keygen prints it.
		if want := creds[i].Fingerprint; c.Fingerprint != want || c.Bits != creds[i].Bits || c.Type != scan.CredSSHPrivateKey {
			t.Errorf("%s: %s %d bits, want %s %d", k.name, c.Fingerprint, c.Bits, want, creds[i].Bits)
		}
		if c.Location != "/home/svc/.ssh/"+k.name || c.ChangedAt == nil {
			t.Errorf("%s: location %s changed %v", k.name, c.Location, c.ChangedAt)
		}
	}
	if f := byName["id_ecdsa"].Findings; !reflect.DeepEqual(f, []string{"readable by others"}) {
		t.Errorf("id_ecdsa (0644) findings %q", f)
	}
	if f := byName["id_ed25519"].Findings; len(f) != 0 {
		t.Errorf("id_ed25519 (0600) findings %q", f)
	}
	if len(w.list) != 1 || w.list[0].File != "/home/svc/.ssh/id_broken" {
		t.Errorf("want one warning for id_broken, got %+v", w.list)
	}
	assertNoSecrets(t, privateBodies, creds, priv, w.list)
}

func TestParseExpiryTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"20300102":        time.Date(2030, 1, 2, 0, 0, 0, 0, time.Local),
		"203001021504Z":   time.Date(2030, 1, 2, 15, 4, 0, 0, time.UTC),
		"20300102150405z": time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC),
	} {
		if got, ok := parseExpiryTime(in); !ok || !got.Equal(want) {
			t.Errorf("parseExpiryTime(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "2030", "20301301", "2030010215", "tomorrow"} {
		if _, ok := parseExpiryTime(bad); ok {
			t.Errorf("parseExpiryTime(%q) accepted", bad)
		}
	}
}

func FuzzSSHDConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/ssh/*/etc/ssh/sshd_config*")
	more, _ := filepath.Glob("testdata/ssh/*/*/etc/ssh/sshd_config*")
	conf, _ := filepath.Glob("testdata/ssh/*/etc/ssh/sshd_config.d/*")
	n := 0
	for _, p := range append(append(files, more...), conf...) {
		if data, err := os.ReadFile(p); err == nil && len(data) > 0 {
			f.Add(data)
			n++
		}
	}
	if n < 5 {
		f.Fatalf("only %d sshd_config seeds", n)
	}
	r := testRoot(f, f.TempDir())
	f.Fuzz(func(t *testing.T, data []byte) {
		var c sshdConfig
		w := &warnings{}
		p := &sshdParser{r: r, w: w, c: &c, set: map[string]bool{}}
		p.parse("/etc/ssh/sshd_config", data, 0, false)
		// Warnings name the file and a line of it, or a file that an
		// Include names (the root is empty: none can be read).
		var own warnings
		for _, x := range w.list {
			if x.File != "/etc/ssh/sshd_config" && path.IsAbs(x.File) && x.Line == 0 {
				continue
			}
			own.list = append(own.list, x)
		}
		checkWarnings(t, "/etc/ssh/sshd_config", data, &own)
		if c.PermitRootLogin != strings.ToLower(c.PermitRootLogin) {
			t.Fatalf("PermitRootLogin %q is not lower case", c.PermitRootLogin)
		}
		// Key files are clean absolute paths, each once; those built
		// from %h are in the home.
		seen := map[string]bool{}
		for _, kp := range c.authorizedKeysPaths("u", "/home/u", 1000) {
			if !path.IsAbs(kp) || path.Clean(kp) != kp || seen[kp] {
				t.Fatalf("bad or repeated key file %q from %q", kp, c.AuthorizedKeysFiles)
			}
			seen[kp] = true
		}
		// The first value of a keyword wins: the same file twice gives
		// the same settings.
		var twice sshdConfig
		p2 := &sshdParser{r: r, w: &warnings{}, c: &twice, set: map[string]bool{}}
		p2.parse("/etc/ssh/sshd_config", append(append(append([]byte(nil), data...), '\n'), data...), 0, false)
		if twice.PasswordAuthentication != c.PasswordAuthentication || twice.PermitRootLogin != c.PermitRootLogin ||
			twice.TrustedUserCAKeys != c.TrustedUserCAKeys || twice.AuthorizedKeysCommand != c.AuthorizedKeysCommand ||
			twice.AuthorizedPrincipalsFile != c.AuthorizedPrincipalsFile || twice.RevokedKeys != c.RevokedKeys ||
			!slices.Equal(twice.HostCertificates, c.HostCertificates) ||
			!slices.Equal(twice.AuthorizedKeysFiles, c.AuthorizedKeysFiles) {
			t.Fatalf("a repeated file changed the settings:\n%+v\n%+v", c, twice)
		}
	})
}

func FuzzAuthorizedKeyLine(f *testing.F) {
	data, err := os.ReadFile("testdata/ssh/authorized_keys")
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		k, err := parseAuthorizedKeyLine(line)
		if err != nil {
			return
		}
		c := k.credential(time.Now())
		if !strings.HasPrefix(c.Fingerprint, "SHA256:") || c.Algorithm == "" {
			t.Fatalf("bad credential %+v", c)
		}
		for _, o := range k.options {
			if o.name == "environment" {
				_, v, _ := strings.Cut(o.value, "=")
				if len(v) >= 4 && strings.Contains(strings.Join(c.Options, ","), v) {
					t.Fatalf("environment= value leaked into options %q", c.Options)
				}
			}
		}
	})
}

// BenchmarkReadAuthorizedKeys parses 5,000 authorized_keys lines of
// distinct keys with options.
func BenchmarkReadAuthorizedKeys(b *testing.B) {
	var buf bytes.Buffer
	for i := range 5000 {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			b.Fatal(err)
		}
		sk, err := gossh.NewPublicKey(pub)
		if err != nil {
			b.Fatal(err)
		}
		if i%2 == 0 {
			buf.WriteString(`from="10.0.0.0/8",no-pty `)
		}
		buf.WriteString(strings.TrimSpace(string(gossh.MarshalAuthorizedKey(sk))) + " key" + strconv.Itoa(i) + "\n")
	}
	r := buildRoot(b, map[string]string{"home/u/.ssh/authorized_keys": buf.String()})
	b.ResetTimer()
	for b.Loop() {
		var w warnings
		if ks := readAuthorizedKeys(r, "/home/u/.ssh/authorized_keys", &w); len(ks) != 5000 {
			b.Fatalf("%d keys", len(ks))
		}
	}
}

package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/scan"
)

var testKey = []byte("roster-test-fingerprint-key-0001")

var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func scanRoot(t *testing.T, opts Options) *scan.Report {
	t.Helper()
	if opts.FingerprintKey == nil {
		opts.FingerprintKey = testKey
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	rep, err := Scan(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func findAccount(t *testing.T, rep *scan.Report, name string) scan.Account {
	t.Helper()
	for _, a := range rep.Accounts {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("account %s not in report", name)
	return scan.Account{}
}

// outputs renders rep in every format plus its warnings, for leak checks.
func outputs(t *testing.T, rep *scan.Report) map[string]string {
	t.Helper()
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var tab, all bytes.Buffer
	if err := WriteTable(&tab, rep); err != nil {
		t.Fatal(err)
	}
	if err := (TableOptions{All: true}).Write(&all, rep); err != nil {
		t.Fatal(err)
	}
	var warns strings.Builder
	for _, w := range rep.Warnings {
		warns.WriteString(w.File + " " + w.Message + "\n")
	}
	return map[string]string{"json": string(js), "table": tab.String(), "table --all": all.String(), "warnings": warns.String()}
}

// assertReportClean fails if any secret appears in any output.
func assertReportClean(t *testing.T, rep *scan.Report, secrets []string) {
	t.Helper()
	for format, out := range outputs(t, rep) {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output contains planted secret %q", format, s)
			}
		}
	}
}

// sshKeygenFingerprint runs ssh-keygen -lf, which a test needs: missing
// ssh-keygen fails the test under CI=true and skips it elsewhere.
func sshKeygenFingerprint(t *testing.T, pubFile string) string {
	t.Helper()
	bin, err := exec.LookPath("ssh-keygen")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ssh-keygen is required: ", err)
		}
		t.Skip("ssh-keygen not installed")
	}
	out, err := exec.Command(bin, "-lf", pubFile).Output()
	if err != nil {
		t.Fatalf("ssh-keygen -lf %s: %v", pubFile, err)
	}
	return strings.Fields(string(out))[1]
}

func TestScanFixtureDebianWeb(t *testing.T) {
	root := filepath.Join("testdata", "hosts", "debian-web")
	rep := scanRoot(t, Options{Root: root})

	if rep.SchemaVersion != scan.SchemaVersion || rep.Scanner.Name != "roster" {
		t.Errorf("header %d %+v", rep.SchemaVersion, rep.Scanner)
	}
	h := rep.Host
	if h.Hostname != "web1" || h.MachineID != "4b0c1e7a9d2f4e6a8b1c3d5e7f9a0b2c" || h.OS.ID != "debian" || h.OS.VersionID != "12" || h.Live || !h.ScannedAt.Equal(testNow) {
		t.Errorf("host %+v", h)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings: %+v", rep.Warnings)
	}

	kinds := map[string]string{
		"root": scan.KindService, "alice": scan.KindHuman, "deploy": scan.KindService, "billing": scan.KindService,
		"postgres": scan.KindService, "backup-bot": scan.KindService, "report": scan.KindService,
		"daemon": scan.KindSystem, "nobody": scan.KindSystem, "www-data": scan.KindSystem, "sshd": scan.KindSystem,
	}
	for name, kind := range kinds {
		if a := findAccount(t, rep, name); a.Kind != kind || len(a.KindEvidence) == 0 {
			t.Errorf("%s: kind %s %v, want %s", name, a.Kind, a.KindEvidence, kind)
		}
	}
	privileged := map[string]string{
		"root":   "UID 0",
		"alice":  "member of group sudo (root-equivalent)",
		"deploy": "sudo rule /etc/sudoers.d/deploy:2 (via user) runs /usr/bin/systemctl restart billing, /usr/bin/systemctl status billing as root without a password",
	}
	// Reading the logs is not root-equivalent; alice is privileged by
	// sudo and reads the logs too.
	sensitive := map[string]string{"alice": "member of group adm (reads the system logs)"}
	for _, a := range rep.Accounts {
		want, ok := privileged[a.Name]
		if a.Privileged != ok || ok && !slices.Contains(a.PrivilegeReasons, want) {
			t.Errorf("%s: privileged %v %q, want reason %q", a.Name, a.Privileged, a.PrivilegeReasons, want)
		}
		want, ok = sensitive[a.Name]
		if a.SensitiveRead != ok || ok && !slices.Contains(a.SensitiveReadReasons, want) {
			t.Errorf("%s: sensitive read %v %q, want reason %q", a.Name, a.SensitiveRead, a.SensitiveReadReasons, want)
		}
	}
	// e2scrub_fail@.service (User=mail, Group=systemd-journal) is a
	// template that nothing instantiates: it is no use of mail.
	if m := findAccount(t, rep, "mail"); m.Kind != scan.KindSystem || len(m.UsedBy) != 0 || m.Privileged || m.SensitiveRead {
		t.Errorf("mail: kind %s, used by %+v, privileged %v, sensitive read %v", m.Kind, m.UsedBy, m.Privileged, m.SensitiveRead)
	}

	billing := findAccount(t, rep, "billing")
	if len(billing.UsedBy) != 1 || billing.UsedBy[0].Name != "billing.service" || !billing.UsedBy[0].Enabled {
		t.Errorf("billing used by %+v", billing.UsedBy)
	}
	var envNames []string
	for _, c := range billing.Credentials {
		if c.Type == scan.CredSecretEnv {
			envNames = append(envNames, c.Name)
		}
	}
	slices.Sort(envNames)
	if !slices.Equal(envNames, []string{"API_TOKEN", "DB_PASSWORD"}) {
		t.Errorf("billing secret_env %v", envNames)
	}
	if r := findAccount(t, rep, "report"); !r.Dynamic || r.UID != -1 || len(r.UsedBy) != 1 {
		t.Errorf("dynamic account %+v", r)
	}
	if pg := findAccount(t, rep, "postgres"); len(pg.UsedBy) != 2 || pg.UsedBy[0].Type != scan.UsageCron || pg.UsedBy[0].Schedule != "30 2 * * *" {
		t.Errorf("postgres used by %+v", pg.UsedBy)
	}

	// SSH: alice by key (passwords are off); root's only key has expired;
	// deploy's account has expired.
	for name, want := range map[string]bool{"alice": true, "root": false, "deploy": false, "billing": false} {
		if a := findAccount(t, rep, name); a.Exposure.SSH != want {
			t.Errorf("%s: ssh %v %v, want %v", name, a.Exposure.SSH, a.Exposure.SSHReasons, want)
		}
	}

	// The RSA key is authorized for three accounts; alice and backup-bot
	// have one password hash.
	rsa := sshKeygenFingerprint(t, filepath.Join(root, "home/alice/.ssh/authorized_keys"))
	var sharedKey, sharedPw *scan.SharedCredential
	for i, s := range rep.Shared {
		switch s.Type {
		case scan.CredSSHAuthorizedKey:
			sharedKey = &rep.Shared[i]
		case scan.CredPassword:
			sharedPw = &rep.Shared[i]
		}
	}
	if len(rep.Shared) != 2 || sharedKey == nil || sharedPw == nil {
		t.Fatalf("shared %+v", rep.Shared)
	}
	if sharedKey.Fingerprint != rsa || !slices.Equal(sharedKey.Accounts, []string{"alice", "deploy", "root"}) {
		t.Errorf("shared key %+v, want %s", sharedKey, rsa)
	}
	if !slices.Equal(sharedPw.Accounts, []string{"alice", "backup-bot"}) || !strings.HasPrefix(sharedPw.Fingerprint, FingerprintPrefix) {
		t.Errorf("shared password %+v", sharedPw)
	}
	for _, c := range findAccount(t, rep, "alice").Credentials {
		if !slices.Contains(c.Findings, "shared") {
			t.Errorf("alice %s lacks the shared finding: %v", c.Type, c.Findings)
		}
	}
	// deploy's own key pair is a trust relation, not a shared secret.
	ed := sshKeygenFingerprint(t, filepath.Join(root, "home/deploy/.ssh/id_ed25519.pub"))
	for _, c := range findAccount(t, rep, "deploy").Credentials {
		if c.Fingerprint == ed && slices.Contains(c.Findings, "shared") {
			t.Errorf("deploy %s marked shared", c.Type)
		}
	}

	shadow, err := os.ReadFile(filepath.Join(root, "etc/shadow"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"planted-env-token-7f3a9c", "planted-db-password-91c2", "planted-pgpass-secret-55", "planted-netrc-pass",
		"planted-cron-secret-3", "planted-execstart-pw"}
	for _, l := range strings.Split(string(shadow), "\n") {
		if f := strings.Split(l, ":"); len(f) > 1 && len(f[1]) > 2 {
			secrets = append(secrets, f[1], strings.TrimLeft(f[1], "!"))
		}
	}
	secrets = append(secrets, privateKeyBody(t, filepath.Join(root, "home/deploy/.ssh/id_ed25519"))...)
	assertReportClean(t, rep, secrets)

	// The same root scanned twice gives the same report.
	a, _ := json.Marshal(rep)
	b, _ := json.Marshal(scanRoot(t, Options{Root: root}))
	if !bytes.Equal(a, b) {
		t.Error("two scans of one root differ")
	}
}

// privateKeyBody returns the base64 lines of a PEM or OpenSSH private key.
func privateKeyBody(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no key body", file)
	}
	return out
}

func TestScanBuiltRoot(t *testing.T) {
	const hash = "$y$j9T$PlantedSaltPlantedSal$PlantedHashPlantedHashPlantedHashPlantedHas"
	const outsideHash = "$6$outside$OutsideHashThatMustNeverBeRead"
	const legacyHash = "$1$legacy$PlantedMd5HashInPasswd0"
	outside := buildRoot(t, map[string]string{
		"shadow": "root:" + outsideHash + ":19000:0:99999:7:::\n",
		"my.cnf": "[client]\npassword=outside-mycnf-secret\n",
	}).Dir()
	dir := buildRoot(t, map[string]string{
		// An absolute link resolves inside the root.
		"etc/passwd": "-> /etc/passwd.real",
		"etc/passwd.real": "root:x:0:0:root:/root:/bin/bash\n" +
			"svc:x:990:990:app:/var/lib/svc:/usr/sbin/nologin\n" +
			"toor:x:0:0:backdoor:/root:/bin/sh\n" +
			"bob:x:1000:1000:Bob:/home/bob:/bin/bash\n" +
			"legacy:" + legacyHash + ":1001:1001::/home/legacy:/bin/sh\n" +
			"nopw::1002:1002::/home/nopw:/bin/sh\n" +
			"broken line\n",
		"etc/shadow": "root:*:19000:0:99999:7:::\n" +
			"svc:" + hash + ":19000:0:99999:7:::\n" +
			"bob::19000:0:99999:7:::\n" +
			"ghost:*:19000::::::\n" +
			"legacy:*:19000::::::\n" + // passwd's own field wins, as in pam_unix
			"nopw:$6$s$shadowIgnored:19000::::::\n",
		"etc/group":                        "root:x:0:\nsvc:x:990:\nbob:x:1000:\nsudo:x:27:bob\n",
		"etc/systemd/system/app.service":   "[Service]\nUser=svc\nEnvironment=APP_SECRET=planted-env-secret-xyz\nExecStart=/usr/bin/app\n",
		"etc/systemd/system/ghost.service": "[Service]\nUser=ghost\nExecStart=/usr/bin/ghost\n",
		"var/lib/svc/.pgpass":              "*:*:*:app:planted-pgpass-xyz\n",
		"var/lib/svc/.ssh/":                "",
		"etc/ssh/sshd_config":              "PasswordAuthentication yes\n",
		// Links out of the root stay in it: relative with "..", absolute
		// to the host path, and into /proc.
		"etc/gshadow":         "-> ../../../../../../../../../" + outside + "/shadow",
		"var/lib/svc/.my.cnf": "-> " + filepath.Join(outside, "my.cnf"),
		"etc/hostname":        "-> /proc/sys/kernel/hostname",
		"etc/machine-id":      "-> /proc/self/environ",
		// A loop is a warning.
		"etc/login.defs":   "-> /etc/login.defs.b",
		"etc/login.defs.b": "-> /etc/login.defs",
		"etc/os-release/":  "",
	}).Dir()
	// A FIFO is a warning, not a hang.
	if err := syscall.Mkfifo(filepath.Join(dir, "etc/sudoers"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A private key generated by ssh-keygen, unencrypted.
	keyFile := filepath.Join(dir, "var/lib/svc/.ssh/id_ed25519")
	if bin, err := exec.LookPath("ssh-keygen"); err == nil {
		if out, err := exec.Command(bin, "-q", "-t", "ed25519", "-N", "", "-f", keyFile).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("ssh-keygen is required")
	}

	done := make(chan *scan.Report)
	go func() { done <- scanRoot(t, Options{Root: dir, MaxFileBytes: 1 << 16}) }()
	var rep *scan.Report
	select {
	case rep = <-done:
	case <-time.After(time.Minute):
		t.Fatal("scan hangs (FIFO or link loop)")
	}

	if rep.Host.Hostname != "" || rep.Host.MachineID != "" || rep.Host.Live {
		t.Errorf("host facts leaked from the machine running the scan: %+v", rep.Host)
	}
	toor := findAccount(t, rep, "toor")
	if !toor.Privileged || !slices.Contains(toor.PrivilegeReasons, "UID 0: a second root account besides root") {
		t.Errorf("toor %+v", toor.PrivilegeReasons)
	}
	svc := findAccount(t, rep, "svc")
	types := map[string]int{}
	for _, c := range svc.Credentials {
		types[c.Type]++
		if c.Type == scan.CredSecretFile && c.Name != "pgpass" {
			t.Errorf("svc has secret file %s at %s: read through a link out of the root", c.Name, c.Location)
		}
	}
	wantTypes := map[string]int{scan.CredPassword: 1, scan.CredSecretEnv: 1, scan.CredSecretFile: 1}
	if _, err := os.Stat(keyFile); err == nil {
		wantTypes[scan.CredSSHPrivateKey] = 1
	}
	for typ, n := range wantTypes {
		if types[typ] != n {
			t.Errorf("svc has %d %s, want %d (%+v)", types[typ], typ, n, svc.Credentials)
		}
	}
	if svc.Kind != scan.KindService {
		t.Errorf("svc kind %s", svc.Kind)
	}
	bob := findAccount(t, rep, "bob")
	if bob.Password.Status != "empty" || len(bob.Credentials) != 1 || bob.Credentials[0].Type != scan.CredEmptyPassword {
		t.Errorf("bob %+v %+v", bob.Password, bob.Credentials)
	}
	if l := findAccount(t, rep, "legacy"); l.Password.Status != "usable" || l.Password.Algorithm != "md5" || len(l.Credentials) != 1 ||
		l.Credentials[0].Location != "/etc/passwd:5" || !slices.Contains(l.Credentials[0].Findings, "hash in world-readable /etc/passwd") {
		t.Errorf("hash in passwd: %+v %+v", l.Password, l.Credentials)
	}
	if n := findAccount(t, rep, "nopw"); n.Password.Status != "empty" || len(n.Credentials) != 1 || n.Credentials[0].Type != scan.CredEmptyPassword {
		t.Errorf("empty passwd field: %+v %+v", n.Password, n.Credentials)
	}
	if bob.Exposure.SSH {
		t.Errorf("an empty password is not an SSH way in (PermitEmptyPasswords defaults to no): %v", bob.Exposure.SSHReasons)
	}

	for _, want := range []struct{ file, msg string }{
		{"/etc/passwd", "want 7 colon-separated fields"}, // named by its link, not its target
		{"/etc/login.defs", "too many levels of symbolic links"},
		{"/etc/sudoers", "not a regular file"},
		{"/etc/os-release", "not a regular file"},
		{"/etc/shadow", "entry for ghost, which is not in /etc/passwd"},
		{"/etc/systemd/system/ghost.service", "runs as ghost, which has no account"},
	} {
		if !slices.ContainsFunc(rep.Warnings, func(w scan.Warning) bool { return w.File == want.file && strings.Contains(w.Message, want.msg) }) {
			t.Errorf("no warning %q for %s in:\n%s", want.msg, want.file, outputs(t, rep)["warnings"])
		}
	}
	secrets := []string{hash, outsideHash, legacyHash, "shadowIgnored", "outside-mycnf-secret", "planted-env-secret-xyz", "planted-pgpass-xyz"}
	if _, err := os.Stat(keyFile); err == nil {
		secrets = append(secrets, privateKeyBody(t, keyFile)...)
	}
	assertReportClean(t, rep, secrets)
}

func TestScanLiveProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/net/tcp"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("/proc is required: ", err)
		}
		t.Skip("no /proc")
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	uid := os.Getuid()
	dir := buildRoot(t, map[string]string{
		"etc/passwd": "runner:x:" + strconv.Itoa(uid) + ":" + strconv.Itoa(uid) + "::/nonexistent:/usr/sbin/nologin\n",
	}).Dir()
	rep := scanRoot(t, Options{Root: dir, ProcDir: "/proc"})
	if !rep.Host.Live {
		t.Error("live scan not marked live")
	}
	a := findAccount(t, rep, "runner")
	self := slices.ContainsFunc(a.UsedBy, func(u scan.Usage) bool { return u.Type == scan.UsageProcess && u.PID == os.Getpid() })
	listening := slices.ContainsFunc(a.Exposure.Listening, func(s scan.Socket) bool {
		return s.Port == port && s.Loopback && s.PID == os.Getpid()
	})
	if !self || !listening || a.Kind != scan.KindService {
		t.Errorf("runner: process %v, listener %v, kind %s: %+v %+v", self, listening, a.Kind, a.Exposure, len(a.UsedBy))
	}
	if rep := scanRoot(t, Options{Root: dir, ProcDir: "-"}); rep.Host.Live {
		t.Error(`ProcDir "-" read /proc`)
	}
}

func TestScanErrors(t *testing.T) {
	empty := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		desc string
		ctx  context.Context
		opts Options
		want string
	}{
		{"no passwd", context.Background(), Options{Root: empty, FingerprintKey: testKey}, "read accounts"},
		{"short key", context.Background(), Options{Root: "testdata/hosts/debian-web", FingerprintKey: []byte("short")}, "at least 16 bytes"},
		{"root is a file", context.Background(), Options{Root: "scan.go", FingerprintKey: testKey}, "not a directory"},
		{"cancelled", ctx, Options{Root: "testdata/hosts/debian-web", FingerprintKey: testKey}, context.Canceled.Error()},
	}
	for _, tc := range tests {
		_, err := Scan(tc.ctx, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.desc, err, tc.want)
		}
	}
	if _, err := Scan(ctx, Options{Root: "testdata/hosts/debian-web", FingerprintKey: testKey}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled scan: %v", err)
	}
}

func TestWriteTable(t *testing.T) {
	rep := scanRoot(t, Options{Root: filepath.Join("testdata", "hosts", "debian-web")})
	var buf bytes.Buffer
	if err := WriteTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "host web1 (Debian GNU/Linux 12 (bookworm))") {
		t.Errorf("header %q", lines[0])
	}
	// Privileged accounts with credentials come first, system accounts
	// are hidden but counted.
	var order []string
	for _, l := range lines[3:] {
		if l == "" {
			break
		}
		order = append(order, strings.Fields(l)[0])
	}
	if want := []string{"root", "alice", "deploy", "postgres", "billing", "backup-bot", "report"}; !slices.Equal(order, want) {
		t.Errorf("rows %v, want %v", order, want)
	}
	for _, want := range []string{"shared credentials (2):", "21 unprivileged system accounts hidden (--all shows them)", "; 0 warnings", "\nprivileges:\n", "deploy: member of group docker (root-equivalent)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	if err := (TableOptions{All: true}).Write(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\nnobody ") || strings.Contains(buf.String(), "hidden") {
		t.Errorf("--all table:\n%s", buf.String())
	}
	if err := WriteTable(failingWriter{}, rep); err == nil {
		t.Error("write error not returned")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestScanFixtureHosts(t *testing.T) {
	tests := []struct {
		host       string
		hostname   string
		osID       string
		kinds      map[string]string
		privileged []string
		sensitive  []string
		ssh        []string
		shared     int
		warnings   int
		secrets    []string
	}{
		{
			host: "rhel-db", hostname: "db1.example.com", osID: "rhel",
			kinds: map[string]string{
				"root": scan.KindService, "postgres": scan.KindService, "ec2-user": scan.KindService, // key-only login shared by whoever holds the key
				"operator": scan.KindSystem, "sshd": scan.KindSystem, "chrony": scan.KindSystem, "nobody": scan.KindSystem,
			},
			// postgres may restart services without a password; ec2-user
			// is in wheel and has cloud-init's NOPASSWD rule; the adm
			// account's primary group adm reads the logs, which is
			// sensitive read access, not a privilege.
			privileged: []string{"ec2-user", "postgres", "root"},
			sensitive:  []string{"adm"},
			ssh:        []string{"ec2-user", "root"},
			shared:     1, // cloud-init's key for ec2-user, also in root's file
			secrets:    []string{"planted-rhel-pgpass-77"},
		},
		{
			host: "suse-app", hostname: "app7", osID: "sles",
			kinds: map[string]string{
				"root": scan.KindService, "tux": scan.KindHuman, "wwwrun": scan.KindService,
				"nobody": scan.KindSystem, "messagebus": scan.KindSystem,
			},
			// "ALL ALL=(ALL) ALL" with Defaults targetpw asks for the
			// target's password: it makes nobody privileged.
			privileged: []string{"root", "tux"},
			ssh:        []string{"tux"}, // PasswordAuthentication defaults to yes
			warnings:   1,               // the NIS "+" line in passwd
		},
		{
			// alice logs in only with a FIDO key: a person (the touch);
			// carol has a FIDO key and a plain one, which whoever holds
			// the file can use: key-only login, a service.
			host: "fido-bastion", hostname: "bastion1", osID: "debian",
			kinds: map[string]string{
				"root": scan.KindSystem, "alice": scan.KindHuman, "carol": scan.KindService,
			},
			privileged: []string{"alice", "root"},
			ssh:        []string{"alice", "carol"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			root := filepath.Join("testdata", "hosts", tc.host)
			rep := scanRoot(t, Options{Root: root})
			if rep.Host.Hostname != tc.hostname || rep.Host.OS.ID != tc.osID {
				t.Errorf("host %+v", rep.Host)
			}
			for name, kind := range tc.kinds {
				if a := findAccount(t, rep, name); a.Kind != kind {
					t.Errorf("%s: kind %s %v, want %s", name, a.Kind, a.KindEvidence, kind)
				}
			}
			var priv, read, ssh []string
			for _, a := range rep.Accounts {
				if a.Privileged {
					priv = append(priv, a.Name)
				}
				if a.SensitiveRead {
					read = append(read, a.Name)
				}
				if a.Exposure.SSH {
					ssh = append(ssh, a.Name)
				}
			}
			slices.Sort(priv)
			slices.Sort(ssh)
			if !slices.Equal(priv, tc.privileged) || !slices.Equal(ssh, tc.ssh) || !slices.Equal(read, tc.sensitive) {
				t.Errorf("privileged %v (want %v), sensitive read %v (want %v), ssh %v (want %v)", priv, tc.privileged, read, tc.sensitive, ssh, tc.ssh)
			}
			if len(rep.Shared) != tc.shared || len(rep.Warnings) != tc.warnings {
				t.Errorf("shared %+v (want %d), warnings %+v (want %d)", rep.Shared, tc.shared, rep.Warnings, tc.warnings)
			}
			shadow, err := os.ReadFile(filepath.Join(root, "etc/shadow"))
			if err != nil {
				t.Fatal(err)
			}
			secrets := tc.secrets
			for _, l := range strings.Split(string(shadow), "\n") {
				if f := strings.Split(l, ":"); len(f) > 1 && len(f[1]) > 2 {
					secrets = append(secrets, strings.TrimLeft(f[1], "!"))
				}
			}
			assertReportClean(t, rep, secrets)
		})
	}
}

// TestTemplateUnits checks that a template unit is a use of its account
// only through an instance, and that a read-only group is sensitive read
// access, not a privilege: the first report on a plain Debian VM listed
// mail as privileged because of e2scrub_fail@.service.
func TestTemplateUnits(t *testing.T) {
	const template = "[Service]\nUser=mail\nGroup=systemd-journal\nSupplementaryGroups=systemd-journal\nExecStart=/usr/lib/e2scrub_fail %I\n"
	base := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/bash\nmail:x:8:8:mail:/var/mail:/usr/sbin/nologin\n",
		"etc/group":  "root:x:0:\nmail:x:8:\nsystemd-journal:x:999:\ndocker:x:996:\n",
		"lib/systemd/system/e2scrub_fail@.service": template,
	}
	tests := []struct {
		desc       string
		files      map[string]string
		usedBy     []string
		privileged bool
		sensitive  []string
		creds      int
		kind       string
	}{
		{desc: "template without instance", kind: scan.KindSystem},
		{
			desc:      "instance wanted by a target",
			files:     map[string]string{"etc/systemd/system/multi-user.target.wants/e2scrub_fail@sda1.service": "-> /lib/systemd/system/e2scrub_fail@.service"},
			usedBy:    []string{"e2scrub_fail@sda1.service"},
			sensitive: []string{"unit e2scrub_fail@sda1.service runs it with group systemd-journal (reads the system journal)"},
			kind:      scan.KindService,
		},
		{
			desc: "instance started by an enabled timer",
			files: map[string]string{
				"lib/systemd/system/e2scrub_fail@home.timer":                     "[Timer]\nOnCalendar=daily\n",
				"etc/systemd/system/timers.target.wants/e2scrub_fail@home.timer": "-> /lib/systemd/system/e2scrub_fail@home.timer",
			},
			usedBy:    []string{"e2scrub_fail@home.service"},
			sensitive: []string{"unit e2scrub_fail@home.service runs it with group systemd-journal (reads the system journal)"},
			kind:      scan.KindService,
		},
		{
			desc: "template started per connection by an enabled socket",
			files: map[string]string{
				"lib/systemd/system/e2scrub_fail.socket":                      "[Socket]\nListenStream=/run/x.sock\nAccept=yes\n",
				"etc/systemd/system/sockets.target.wants/e2scrub_fail.socket": "-> /lib/systemd/system/e2scrub_fail.socket",
			},
			usedBy:    []string{"e2scrub_fail@.service"},
			sensitive: []string{"unit e2scrub_fail@.service runs it with group systemd-journal (reads the system journal)"},
			kind:      scan.KindService,
		},
		{
			desc: "instance with a root-equivalent group",
			files: map[string]string{
				"lib/systemd/system/e2scrub_fail@.service":                          "[Service]\nUser=mail\nGroup=docker\nExecStart=/bin/x\n",
				"etc/systemd/system/multi-user.target.wants/e2scrub_fail@a.service": "-> /lib/systemd/system/e2scrub_fail@.service",
			},
			usedBy:     []string{"e2scrub_fail@a.service"},
			privileged: true,
			kind:       scan.KindService,
		},
		{
			desc:  "template without instance that holds a secret",
			files: map[string]string{"lib/systemd/system/e2scrub_fail@.service": template + "Environment=SMTP_PASSWORD=planted-template-pw\n"},
			creds: 1,
			kind:  scan.KindService, // it holds a machine credential
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			files := maps.Clone(base)
			maps.Copy(files, tc.files)
			rep := scanRoot(t, Options{Root: buildRoot(t, files).Dir()})
			m := findAccount(t, rep, "mail")
			var used []string
			for _, u := range m.UsedBy {
				used = append(used, u.Name)
			}
			if !slices.Equal(used, tc.usedBy) || m.Privileged != tc.privileged || !slices.Equal(m.SensitiveReadReasons, tc.sensitive) ||
				m.SensitiveRead != (len(tc.sensitive) > 0) || len(m.Credentials) != tc.creds || m.Kind != tc.kind {
				t.Errorf("mail: used by %q (want %q), privileged %v %q (want %v), sensitive read %v %q (want %q), %d credentials (want %d), kind %s (want %s)",
					used, tc.usedBy, m.Privileged, m.PrivilegeReasons, tc.privileged, m.SensitiveRead, m.SensitiveReadReasons, tc.sensitive,
					len(m.Credentials), tc.creds, m.Kind, tc.kind)
			}
			if len(rep.Warnings) != 0 {
				t.Errorf("warnings: %+v", rep.Warnings)
			}
			assertReportClean(t, rep, []string{"planted-template-pw"})
		})
	}
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/table")

// TestWriteTableGolden compares the table of each fixture host with
// testdata/table/HOST.txt; go test -run TestWriteTableGolden -update
// rewrites them.
func TestWriteTableGolden(t *testing.T) {
	for _, host := range []string{"debian-web", "rhel-db", "suse-app", "cert-bastion"} {
		t.Run(host, func(t *testing.T) {
			rep := scanRoot(t, Options{Root: filepath.Join("testdata", "hosts", host)})
			// The checkout's path and file modes vary (umask): the
			// golden has neither.
			rep.Host.Root = "/fixtures/" + host
			for i := range rep.Accounts {
				for j := range rep.Accounts[i].Credentials {
					c := &rep.Accounts[i].Credentials[j]
					c.Findings = slices.DeleteFunc(c.Findings, func(f string) bool { return strings.HasPrefix(f, "readable by ") })
				}
			}
			var buf bytes.Buffer
			if err := (TableOptions{All: true}).Write(&buf, rep); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "table", host+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("table of %s differs from %s (go test -run TestWriteTableGolden -update rewrites it):\n%s", host, golden, buf.String())
			}
		})
	}
}

// writeProc writes a /proc directory with the given processes: pid ->
// uid, comm and NUL-separated command line.
func writeProc(t *testing.T, procs map[int][3]string) string {
	t.Helper()
	dir := t.TempDir()
	for pid, p := range procs {
		d := filepath.Join(dir, strconv.Itoa(pid))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range map[string]string{
			"status":  "Name:\t" + p[1] + "\nUid:\t" + p[0] + "\t" + p[0] + "\t" + p[0] + "\t" + p[0] + "\n",
			"comm":    p[1] + "\n",
			"cmdline": strings.ReplaceAll(p[2], " ", "\x00") + "\x00",
		} {
			if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// TestUsageMerged checks that identical uses (a pool of workers) are one
// used_by entry with a count, in the report and in the table, while uses
// that differ stay apart.
func TestUsageMerged(t *testing.T) {
	procs := map[int][3]string{
		700: {"33", "php-fpm8.2", "php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)"},
		812: {"102", "postgres", "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main"},
		813: {"102", "postgres", "postgres: 15/main: checkpointer"},
		814: {"102", "postgres", "postgres: 15/main: walwriter"},
	}
	for pid := 705; pid > 700; pid-- {
		procs[pid] = [3]string{"33", "php-fpm8.2", "php-fpm: pool www"}
	}
	rep := scanRoot(t, Options{Root: filepath.Join("testdata", "hosts", "debian-web"), ProcDir: writeProc(t, procs)})
	tests := []struct {
		account string
		want    []scan.Usage
	}{
		{"www-data", []scan.Usage{
			{Type: scan.UsageProcess, Name: "php-fpm8.2", Detail: "php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)", PID: 700},
			{Type: scan.UsageProcess, Name: "php-fpm8.2", Detail: "php-fpm: pool www", PID: 701, Count: 5},
		}},
		{"postgres", nil}, // checked below: cron entries and three distinct processes
	}
	for _, tc := range tests {
		a := findAccount(t, rep, tc.account)
		if tc.want != nil && !slices.Equal(a.UsedBy, tc.want) {
			t.Errorf("%s used by\n got %+v\nwant %+v", tc.account, a.UsedBy, tc.want)
		}
	}
	pg := findAccount(t, rep, "postgres")
	procsOf := 0
	for _, u := range pg.UsedBy {
		if u.Type == scan.UsageProcess {
			procsOf++
			if u.Count != 0 {
				t.Errorf("distinct postgres process merged: %+v", u)
			}
		}
	}
	if procsOf != 3 {
		t.Errorf("postgres has %d process entries, want 3: %+v", procsOf, pg.UsedBy)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var row string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(l, "www-data ") {
			row = l
		}
	}
	if !strings.Contains(row, " 6 proc ") {
		t.Errorf("www-data row %q, want 6 proc", row)
	}
	if got := scan.SummarizeUsage(pg.UsedBy); !slices.Contains(got, "process:postgres ×3") || len(got) != 3 {
		t.Errorf("SummarizeUsage(postgres) = %q", got)
	}
}

// TestFIDOKeyEvidence checks that a FIDO security key (sk-…) is evidence
// of a person in kind_evidence, and decides the kind only when it is the
// account's only login credential.
func TestFIDOKeyEvidence(t *testing.T) {
	rep := scanRoot(t, Options{Root: filepath.Join("testdata", "hosts", "fido-bastion")})
	const ev = "logs in with 1 FIDO security key(s) (sk-…): needs a person's touch"
	for _, tc := range []struct {
		name, kind string
	}{
		{"alice", scan.KindHuman},
		{"carol", scan.KindService},
	} {
		a := findAccount(t, rep, tc.name)
		if a.Kind != tc.kind || !slices.Contains(a.KindEvidence, ev) {
			t.Errorf("%s: kind %s %q, want %s with %q", tc.name, a.Kind, a.KindEvidence, tc.kind, ev)
		}
		if !scan.IsFIDOKey(a.Credentials[0].Algorithm) {
			t.Errorf("%s: algorithm %q not a FIDO key", tc.name, a.Credentials[0].Algorithm)
		}
	}
}

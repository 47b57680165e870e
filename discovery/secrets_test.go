package discovery

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/rosterhq/roster/scan"
)

// keytabEntry is one entry for makeKeytab.
type keytabEntry struct {
	realm string
	comps []string
	key   string
}

// makeKeytab encodes an MIT keytab (0x0502), as ktutil writes it, with an
// optional hole (a deleted entry) after the first entry.
func makeKeytab(entries []keytabEntry, hole bool) []byte {
	var b bytes.Buffer
	b.Write([]byte{5, 2})
	str := func(e *bytes.Buffer, s string) {
		binary.Write(e, binary.BigEndian, uint16(len(s)))
		e.WriteString(s)
	}
	for i, en := range entries {
		var e bytes.Buffer
		binary.Write(&e, binary.BigEndian, uint16(len(en.comps)))
		str(&e, en.realm)
		for _, c := range en.comps {
			str(&e, c)
		}
		binary.Write(&e, binary.BigEndian, uint32(1))          // KRB5_NT_PRINCIPAL
		binary.Write(&e, binary.BigEndian, uint32(1700000000)) // timestamp
		e.WriteByte(3)                                         // kvno
		binary.Write(&e, binary.BigEndian, uint16(18))         // aes256-cts-hmac-sha1-96
		str(&e, en.key)
		binary.Write(&e, binary.BigEndian, uint32(3)) // 32-bit kvno
		binary.Write(&b, binary.BigEndian, int32(e.Len()))
		b.Write(e.Bytes())
		if hole && i == 0 {
			binary.Write(&b, binary.BigEndian, int32(-12))
			b.Write(make([]byte, 12))
		}
	}
	return b.Bytes()
}

var testKeytab = makeKeytab([]keytabEntry{
	{"EXAMPLE.COM", []string{"host", "web1.example.com"}, "keytab-key-material-01"},
	{"EXAMPLE.COM", []string{"HTTP", "web1.example.com"}, "keytab-key-material-02"},
}, true)

func TestSecretParsers(t *testing.T) {
	cases := []struct {
		file     string
		data     []byte
		parse    secretParser
		secrets  []string
		problems []int
	}{
		{file: "pgpass", parse: parsePgpass, secrets: []string{`pg:pass\word1`, "replpass2"}, problems: []int{5}},
		{file: "netrc", parse: parseNetrc, secrets: []string{"ghp_netrcsecret1", "quoted netrc secret", "guest@example"}, problems: []int{10, 11}},
		{file: "my.cnf", parse: parseMyCnf, secrets: []string{"my cnf secret", "dumpsecret"}},
		{file: "debian.cnf", parse: parseMyCnf, secrets: []string{"debiansysmaintpw", "debiansysmaintpw"}},
		{file: "aws-credentials", parse: parseAWS, secrets: []string{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			"je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"}, problems: []int{9}},
		{file: "aws-config", parse: parseAWS},
		{file: "docker-config.json", parse: parseDockerConfig, secrets: []string{"ghcridentitytoken", "ZGVwbG95OmRvY2tlcnNlY3JldA=="}},
		{file: "docker-config-bad.json", parse: parseDockerConfig, problems: []int{4}},
		{file: "git-credentials", parse: parseGitCredentials, secrets: []string{"gitcredsecret", "p@ss-git"}, problems: []int{4}},
		{file: "kubeconfig", parse: parseKubeconfig, secrets: []string{"kubetokensecret", "a3ViZWNsaWVudGtleXNlY3JldA==",
			"oidcclientsecret", "oidcidtoken", "oidcrefreshtoken"}},
		{file: "kubeconfig-bad", parse: parseKubeconfig, problems: []int{5}},
		{file: "keytab", data: testKeytab, parse: parseKeytab, secrets: []string{"keytab-key-material-01", "keytab-key-material-02"}},
		{file: "truncated keytab", data: testKeytab[:40], parse: parseKeytab, problems: []int{0}},
		{file: "not a keytab", data: []byte("hello"), parse: parseKeytab, problems: []int{0}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			data := tc.data
			if data == nil {
				data = readSecretTestdata(t, tc.file)
			}
			secrets, problems := tc.parse(data)
			var lines []int
			for _, p := range problems {
				lines = append(lines, p.line)
			}
			if !reflect.DeepEqual(secrets, tc.secrets) || !reflect.DeepEqual(lines, tc.problems) {
				t.Errorf("got secrets %q problems %+v\nwant secrets %q problem lines %v", secrets, problems, tc.secrets, tc.problems)
			}
			assertNoSecrets(t, append(tc.secrets, "dGVzdDp0ZXN0", "unterminated"), problems)
		})
	}
}

func readSecretTestdata(t testing.TB, name string) []byte {
	t.Helper()
	return readTestdata(t, filepath.Join("secrets", name))
}

func TestReadSecretFiles(t *testing.T) {
	files := map[string]string{}
	for rel, src := range map[string]string{
		"home/app/.pgpass": "pgpass", "home/app/.netrc": "netrc", "home/app/.my.cnf": "my.cnf",
		"home/app/.aws/credentials": "aws-credentials", "home/app/.aws/config": "aws-config",
		"home/app/.docker/config.json": "docker-config.json", "home/app/.git-credentials": "git-credentials",
		"home/app/.kube/config": "kubeconfig", "etc/mysql/debian.cnf": "debian.cnf",
	} {
		files[rel] = string(readSecretTestdata(t, src))
	}
	files["home/app/svc.keytab"] = string(testKeytab)
	files["etc/krb5.keytab"] = string(testKeytab)
	files["home/empty/.pgpass"] = "# nothing here\n"
	files["home/app/.config/git/credentials"] = "-> /home/app/.git-credentials"
	r := buildRoot(t, files)
	modes := map[string]os.FileMode{"home/app/.pgpass": 0o640, "home/app/.my.cnf": 0o600, "home/app/.aws/credentials": 0o600,
		"home/app/.docker/config.json": 0o600, "home/app/.git-credentials": 0o600, "home/app/.kube/config": 0o600,
		"home/app/svc.keytab": 0o600, "etc/krb5.keytab": 0o600, "etc/mysql/debian.cnf": 0o600}
	for p, m := range modes {
		if err := os.Chmod(filepath.Join(r.Dir(), p), m); err != nil {
			t.Fatal(err)
		}
	}
	fp := testFingerprinter(t)
	var w warnings
	creds := readSecretFiles(r, "/home/app", fp, &w)
	var got []string
	for _, c := range creds {
		if c.Type != scan.CredSecretFile || c.ChangedAt == nil || c.AgeDays == nil {
			t.Errorf("%s: %+v", c.Location, c)
		}
		got = append(got, c.Name+" "+c.Location+" "+c.Mode+" "+strings.Join(c.Findings, ","))
	}
	want := []string{
		"pgpass /home/app/.pgpass 0640 readable by group",
		"netrc /home/app/.netrc 0644 readable by others",
		"mycnf /home/app/.my.cnf 0600 ",
		"aws /home/app/.aws/credentials 0600 ",
		"docker /home/app/.docker/config.json 0600 ",
		"git-credentials /home/app/.git-credentials 0600 ",
		"git-credentials /home/app/.config/git/credentials 0600 ",
		"kubeconfig /home/app/.kube/config 0600 ",
		"keytab /home/app/svc.keytab 0600 ",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("credentials:\n got %q\nwant %q", got, want)
	}
	// The fingerprint is over the sorted set of secrets, so order in the file does not matter.
	if want := fp.Secret([]byte("pg:pass\\word1\x00replpass2")); creds[0].Fingerprint != want {
		t.Errorf("pgpass fingerprint %s, want %s", creds[0].Fingerprint, want)
	}
	if creds[1].Fingerprint == creds[2].Fingerprint {
		t.Error("different files share a fingerprint")
	}

	sys := readSystemSecrets(r, fp, &w)
	if len(sys) != 2 || sys[0].Cred.Location != "/etc/krb5.keytab" || sys[1].Cred.Location != "/etc/mysql/debian.cnf" ||
		sys[0].UID != os.Getuid() || sys[0].Cred.Fingerprint != creds[8].Fingerprint {
		t.Errorf("system secrets: %+v", sys)
	}
	if len(readSecretFiles(r, "/home/empty", fp, &w)) != 0 {
		t.Error("a file without secrets is a credential")
	}
	warned := warnedAt(&w)
	wantWarned := []string{"/home/app/.pgpass:5", "/home/app/.netrc:10", "/home/app/.netrc:11", "/home/app/.aws/credentials:9",
		"/home/app/.git-credentials:4", "/home/app/.config/git/credentials:4"}
	if !reflect.DeepEqual(warned, wantWarned) {
		t.Errorf("warnings %q\nwant %q", warned, wantWarned)
	}
	planted := []string{"pass\\word1", "replpass2", "ghp_netrcsecret1", "quoted netrc secret", "my cnf secret", "dumpsecret",
		"debiansysmaintpw", "wJalrXUtnFEMI", "je7MtGbClwBF", "FwoGZXIvYXdzEXAMPLESESSIONTOKEN", "ZGVwbG95OmRvY2tlcnNlY3JldA",
		"ghcridentitytoken", "gitcredsecret", "p%40ss-git", "p@ss-git", "kubetokensecret", "a3ViZWNsaWVudGtleXNlY3JldA",
		"oidcclientsecret", "oidcidtoken", "oidcrefreshtoken", "keytab-key-material"}
	assertNoSecrets(t, planted, creds, sys, w.list)
}

func TestEnvSecret(t *testing.T) {
	cases := []struct {
		name, value, secret string
		ok                  bool
	}{
		{"DB_PASSWORD", "pw", "pw", true},
		{"DB_PASSWORD", "", "", false},
		{"FEATURE_TOKEN", "true", "", false},
		{"API_KEY", "${API_KEY}", "", false},
		{"DATABASE_URL", "postgres://app:urlpw@db/app", "urlpw", true},
		{"DATABASE_URL", "postgres://db/app", "", false},
		{"LANG", "C.UTF-8", "", false},
	}
	for _, tc := range cases {
		s, ok := envSecret(tc.name, tc.value)
		if s != tc.secret || ok != tc.ok {
			t.Errorf("envSecret(%q, %q) = %q, %v", tc.name, tc.value, s, ok)
		}
	}
}

// fuzzSecretParser fuzzes one parser with seeds from testdata: it must not
// panic, and every problem message, digits aside, must be one of the
// parser's fixed messages, so that no input text can reach a warning.
func fuzzSecretParser(f *testing.F, parse secretParser, messages []string, seeds ...[]byte) {
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	allowed := map[string]bool{}
	for _, m := range messages {
		allowed[m] = true
	}
	noDigits := strings.NewReplacer("0", "", "1", "", "2", "", "3", "", "4", "", "5", "", "6", "", "7", "", "8", "", "9", "")
	f.Fuzz(func(t *testing.T, data []byte) {
		_, problems := parse(data)
		for _, p := range problems {
			if !allowed[noDigits.Replace(p.msg)] {
				t.Fatalf("unexpected problem message %q", p.msg)
			}
		}
	})
}

func seedFiles(f *testing.F, names ...string) [][]byte {
	var out [][]byte
	for _, n := range names {
		out = append(out, readSecretTestdata(f, n))
	}
	return out
}

var iniMessages = []string{"malformed section header", "line is not key = value"}

func FuzzPgpass(f *testing.F) {
	fuzzSecretParser(f, parsePgpass, []string{"line has  fields, want host:port:database:user:password"}, seedFiles(f, "pgpass")...)
}

func FuzzNetrc(f *testing.F) {
	fuzzSecretParser(f, parseNetrc, []string{"unterminated quote", "unexpected token", `"machine" has no value`,
		`"login" has no value`, `"password" has no value`, `"account" has no value`, `"macdef" has no value`},
		seedFiles(f, "netrc")...)
}

func FuzzMyCnf(f *testing.F) {
	fuzzSecretParser(f, parseMyCnf, append([]string{"option outside of a [group]", "unterminated quote"}, iniMessages...),
		seedFiles(f, "my.cnf", "debian.cnf")...)
}

func FuzzAWS(f *testing.F) {
	fuzzSecretParser(f, parseAWS, iniMessages, seedFiles(f, "aws-credentials", "aws-config")...)
}

func FuzzDockerConfig(f *testing.F) {
	fuzzSecretParser(f, parseDockerConfig, []string{"not a valid docker config.json"},
		seedFiles(f, "docker-config.json", "docker-config-bad.json")...)
}

func FuzzGitCredentials(f *testing.F) {
	fuzzSecretParser(f, parseGitCredentials, []string{"not a URL"}, seedFiles(f, "git-credentials")...)
}

func FuzzKubeconfig(f *testing.F) {
	fuzzSecretParser(f, parseKubeconfig, []string{"not valid YAML"}, seedFiles(f, "kubeconfig", "kubeconfig-bad")...)
}

func FuzzKeytab(f *testing.F) {
	fuzzSecretParser(f, parseKeytab, []string{"not a version x keytab", "entry  is truncated", "entry  is malformed"},
		testKeytab, testKeytab[:40])
}

func TestSpecialFilesAreWarnedNotRead(t *testing.T) {
	r := buildRoot(t, map[string]string{
		"lib/systemd/system/fifo.service":   "[Service]\nEnvironmentFile=/etc/app/env\n",
		"home/u/.ssh/authorized_keys/":      "",
		"home/u/.netrc":                     "-> /home/u/.netrc", // a link loop
		"home/u/.docker/config.json":        "-> /../../../../etc/shadow",
		"etc/shadow":                        "root:$6$inside-the-root:19000::::::\n",
		"home/u/.git-credentials":           "-> /dev/zero", // no /dev in the root: missing, not read
		"home/u/.kube/":                     "",
		"home/u/.aws/credentials/":          "",
		"home/u/.config/git/":               "",
		"home/u/.ssh/known_hosts":           "",
		"home/u/.ssh/id_ed25519.pub":        "",
		"home/u/.ssh/not-a-key-but-listed/": "",
	})
	for _, p := range []string{"etc/app/env", "home/u/.pgpass", "home/u/.ssh/id_rsa", "home/u/.kube/config"} {
		os.MkdirAll(filepath.Dir(filepath.Join(r.Dir(), p)), 0o755)
		if err := syscall.Mkfifo(filepath.Join(r.Dir(), p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fp := testFingerprinter(t)
	var w warnings
	units := readUnits(r, fp, &w)
	creds := readSecretFiles(r, "/home/u", fp, &w)
	creds = append(creds, readPrivateKeys(r, "/home/u", &w)...)
	creds = append(creds, readAuthorizedKeys(r, "/home/u/.ssh/authorized_keys", &w)...)
	if len(units) != 1 || len(units[0].Secrets) != 0 || len(creds) != 0 {
		t.Errorf("units %+v creds %+v", units, creds)
	}
	want := []string{"/etc/app/env:0", "/home/u/.pgpass:0", "/home/u/.netrc:0", "/home/u/.aws/credentials:0",
		"/home/u/.docker/config.json:1", "/home/u/.kube/config:0", "/home/u/.ssh/authorized_keys:0"}
	if got := warnedAt(&w); !sameSet(got, want) {
		t.Errorf("warnings %q\nwant %q\n%+v", got, want, w.list)
	}
	// The docker link resolves inside the root: the root's /etc/shadow is
	// not a docker config, so it is a parse warning, never the host's file.
	assertNoSecrets(t, []string{"inside-the-root"}, units, creds, w.list)
}

package discovery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/hostile"
	"github.com/rosterhq/roster/scan"
)

// TestRedactFailsSafe reproduces the leaks of the first redaction rules:
// a single-dash long flag lost its value to the "-pVALUE" rule, and short
// flags of known tools, user:password pairs and --pw were not recognised.
func TestRedactFailsSafe(t *testing.T) {
	cases := []struct{ in, want string }{
		{"app -password S1secret", "app -password [REDACTED]"},
		{"app -password=S1secret", "app -password=[REDACTED]"},
		{"redis-cli -h cache -a S2secret ping", "redis-cli -h cache -a [REDACTED] ping"},
		{"curl -u user:S3secret https://h/", "curl -u user:[REDACTED] https://h/"},
		{"curl --user=admin:S4secret https://h/", "curl --user=admin:[REDACTED] https://h/"},
		{"tool --pw S5secret", "tool --pw [REDACTED]"},
		{"sshpass -p S6secret ssh host", "sshpass -p [REDACTED] ssh host"},
		{"mysqldump -uroot -pS7secret --all-databases", "mysqldump -uroot -p[REDACTED] --all-databases"},
		{"/usr/bin/mysql -u root -p S8secret", "/usr/bin/mysql -u root -p [REDACTED]"},
		{"curl -uadmin:S9secret https://h/", "curl -uadmin:[REDACTED] https://h/"},
		{"mount -o username=svc,password=S10secret //h/s /mnt", "mount -o username=svc,password=[REDACTED] //h/s /mnt"},
		{"curl 'https://h/v1?user=bob&token=S11secret'", "curl https://h/v1?user=bob&token=[REDACTED]"},
		{"sh -c 'mysql -uroot -pS12secret db'", "sh -c 'mysql -uroot -p[REDACTED] db'"},
		{"psql postgres://app:S13secret@db1/app", "psql postgres://app:[REDACTED]@db1/app"},
		{"redis-cli -u redis://:S14secret@cache:6379", "redis-cli -u redis://:[REDACTED]@cache:6379"},
		{"curl -H Authorization: Bearer S15secret https://h/", "curl -H Authorization: [REDACTED] [REDACTED] https://h/"},
		{"java -Dapp.db.password=S16secret -jar app.jar", "java -Dapp.db.password=[REDACTED] -jar app.jar"},
		{"smbclient //fs/share -U svc%S17secret", "smbclient //fs/share -U svc%[REDACTED]"},
		{"docker login -u ci -p S18secret reg.example.com", "docker login -u ci -p [REDACTED] reg.example.com"},
		{"sqlplus scott/S19secret@orcl", "sqlplus scott/[REDACTED]@orcl"},
		{"app ghp_0123456789abcdefghijABCDEFGHIJklmnop", "app [REDACTED]"},
		{"app --id AKIAIOSFODNN7EXAMPLE", "app --id [REDACTED]"},
		{"app eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl", "app [REDACTED]"},
		{"app Zx9Qm2Lp7Vt4Rk8Wn3Hb6Jc1Ys5", "app [REDACTED]"},
		{"app run 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "app run [REDACTED]"},
		{"curl https://hooks.slack.com/services/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", "curl https://hooks.slack.com/services/T0AB12CD3/B0AB12CD3/[REDACTED]"},
		{"ldapsearch -x -D cn=admin,dc=example,dc=com -w S20secret -b dc=example,dc=com", "ldapsearch -x -D cn=admin,dc=example,dc=com -w [REDACTED] -b dc=example,dc=com"},
		{"7z x -pS21secret a.7z", "7z x -p[REDACTED] a.7z"},
		{`vault write x '{"role":"ci","token":"S22secret"}'`, `vault write x {"role":"ci","token":"[REDACTED]"}`},
		{`app --config={"db":{"password":"S23secret"}}`, `app --config={db:{password:[REDACTED]}}`}, // the shell removes the quotes
	}
	for _, tc := range cases {
		if got := redactCommand(tc.in); got != tc.want {
			t.Errorf("redactCommand(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	// Raw arguments keep their quotes: JSON members.
	args := []string{"app", `--config={"db":{"password":"S24sec\"ret","user":"bob"}}`}
	if got, want := strings.Join(redactArgs(args), " "), `app --config={"db":{"password":"[REDACTED]","user":"bob"}}`; got != want {
		t.Errorf("redactArgs(%q)\n got %q\nwant %q", args, got, want)
	}
}

// TestRedactKeepsWhatRuns checks that ordinary command lines, including
// flags that resemble secret ones, are shown unchanged.
func TestRedactKeepsWhatRuns(t *testing.T) {
	for _, s := range []string{
		"/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main -c config_file=/etc/postgresql/15/main/postgresql.conf",
		"postgres: 15/main: checkpointer",
		"ssh -p 2222 deploy@host1",
		"psql -h db1 -p 5432 -U app appdb",
		"redis-cli -h cache1 -p 6380 ping",
		"find / -perm -4000 -print",
		"java -Xmx4g -XX:+HeapDumpOnOutOfMemoryError -Djava.util.logging.manager=org.apache.juli.ClassLoaderLogManager -jar /opt/app/lib/app-1.2.3-SNAPSHOT.jar",
		"/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock",
		"nginx: worker process",
		"gunicorn --bind 0.0.0.0:8000 app.wsgi:application",
		"app --password-file /run/secrets/pw --token-url https://auth.example.com/token",
		"docker login --password-stdin registry.example.com",
		"sudo -u postgres psql",
		"/usr/sbin/sshd -D -o AuthorizedKeysCommand=/usr/bin/sss_ssh_authorizedkeys",
		"agetty -o '-p -- \\u' --noclear - linux",
		"kubelet --kubeconfig=/etc/kubernetes/kubelet.conf --container-runtime-endpoint=unix:///run/containerd/containerd.sock",
		"python3 -m http.server 8080",
		"curl -H 'Content-Type: application/json' https://api.example.com/v1",
		"cd $PWD",
		"env LANG=C.UTF-8 TZ=UTC app",
		"app --no-password --verbose",
	} {
		if got := redactCommand(s); got != s {
			t.Errorf("redactCommand(%q)\n got %q\nwant it unchanged", s, got)
		}
	}
}

// TestRedactCorpus runs every case of the shared redaction corpus through
// both entry points: raw arguments (/proc) and a shell command line (cron,
// ExecStart=, authorized_keys command=).
func TestRedactCorpus(t *testing.T) {
	for _, c := range hostile.RedactionCases() {
		t.Run(c.Name, func(t *testing.T) {
			outs := map[string]string{
				"args":    strings.Join(redactArgs(c.Args), " "),
				"command": redactCommand(c.Command()),
			}
			for via, out := range outs {
				for _, p := range c.Planted {
					if strings.Contains(out, p) {
						t.Errorf("%s: planted %q survives in %q", via, p, out)
					}
				}
				for _, k := range c.Keep {
					if !strings.Contains(out, k) {
						t.Errorf("%s: %q lost from %q", via, k, out)
					}
				}
			}
		})
	}
}

// TestScanRedactsCorpus runs a full scan of a fixture host whose /proc
// holds one process per corpus case and checks that no planted value
// reaches the JSON report, the tables or the log.
func TestScanRedactsCorpus(t *testing.T) {
	proc := t.TempDir()
	cases := hostile.RedactionCases()
	var planted []string
	for i, c := range cases {
		dir := filepath.Join(proc, strconv.Itoa(1000+i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{
			"status":  "Name:\t" + filepath.Base(c.Args[0]) + "\nUid:\t1001\t1001\t1001\t1001\n",
			"comm":    filepath.Base(c.Args[0]) + "\n",
			"cmdline": strings.Join(c.Args, "\x00") + "\x00",
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		planted = append(planted, c.Planted...)
	}

	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(prev)

	rep, err := Scan(context.Background(), Options{Root: filepath.Join("testdata", "hosts", "debian-web"), ProcDir: proc,
		FingerprintKey: testKey, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	deploy := findAccount(t, rep, "deploy")
	n := 0
	for _, u := range deploy.UsedBy {
		if u.Type == scan.UsageProcess {
			n += u.Uses()
		}
	}
	if n != len(cases) {
		t.Errorf("deploy is used by %d processes, want %d", n, len(cases))
	}
	outs := outputs(t, rep)
	outs["log"] = logs.String()
	for via, out := range outs {
		for _, p := range planted {
			if strings.Contains(out, p) {
				t.Errorf("%s output contains planted %q", via, p)
			}
		}
	}
	js, _ := json.Marshal(rep)
	if !bytes.Contains(js, []byte("-password [REDACTED]")) {
		t.Error("the report does not show the redacted command lines")
	}
}

// redactForms build a command line around a planted value v; each
// returns the arguments. The fuzzer picks the form.
var redactForms = []func(v string) []string{
	func(v string) []string { return []string{"app", "--password=" + v} },
	func(v string) []string { return []string{"app", "--password", v, "run"} },
	func(v string) []string { return []string{"app", "-password", v} },
	func(v string) []string { return []string{"app", "-password=" + v} },
	func(v string) []string { return []string{"app", "--pw", v} },
	func(v string) []string { return []string{"app", "--api-key", v, "--verbose"} },
	func(v string) []string { return []string{"app", "--client-secret", v} },
	func(v string) []string { return []string{"mysql", "-uroot", "-p" + v, "db"} },
	func(v string) []string { return []string{"mysqldump", "-p", v} },
	func(v string) []string { return []string{"sshpass", "-p", v, "ssh", "host"} },
	func(v string) []string { return []string{"redis-cli", "-a", v, "ping"} },
	func(v string) []string { return []string{"curl", "-u", "user:" + v, "https://h/"} },
	func(v string) []string { return []string{"curl", "--user=admin:" + v, "https://h/"} },
	func(v string) []string { return []string{"git", "clone", "https://u:" + v + "@h.example.com/r.git"} },
	func(v string) []string { return []string{"env", "DB_PASSWORD=" + v, "app"} },
	func(v string) []string { return []string{"app", "token=" + v} },
	func(v string) []string { return []string{"curl", "-H", "Authorization: Bearer " + v, "https://h/"} },
	func(v string) []string { return []string{"curl", "-H", "X-Api-Key: " + v, "https://h/"} },
	func(v string) []string { return []string{"mount", "-o", "user=svc,password=" + v, "/a", "/b"} },
	func(v string) []string { return []string{"sh", "-c", "mysql -uroot -p" + v + " db"} },
	func(v string) []string { return []string{"openssl", "pkcs12", "-passin", "pass:" + v} },
	func(v string) []string { return []string{"smbclient", "-U", "svc%" + v, "//h/s"} },
	func(v string) []string { return []string{"java", "-Dapp.db.password=" + v, "-jar", "x.jar"} },
	func(v string) []string { return []string{"curl", "https://h/?a=1&token=" + v} },
	func(v string) []string { return []string{"docker", "login", "-u", "ci", "-p", v, "reg"} },
	func(v string) []string { return []string{"ldapsearch", "-w", v, "-b", "dc=x"} },
	func(v string) []string { return []string{"sqlplus", "scott/" + v + "@orcl"} },
	// A high-entropy token: the planted value is replaced by one.
	func(v string) []string { return []string{"app", "--verbose", entropyToken(v)} },
}

// wrappers are put in front of a form: programs that run a command.
var wrappers = [][]string{nil, {"sudo", "-u", "postgres"}, {"env", "LANG=C"}, {"nice", "-n", "10"}, {"nohup"}, {"timeout", "30"}}

// entropyToken derives a random-looking base64url token from v, with a
// capital, a small letter and a digit, as real tokens have.
func entropyToken(v string) string {
	sum := sha256.Sum256([]byte(v))
	return "Aa0" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// plantable turns fuzz input into a value to plant: at least 8 bytes of
// characters that need no shell quoting and carry no syntax of the forms
// (no separators such as ',' '&' ':' '@' '/' '%' '=' or spaces).
func plantable(raw string) string {
	var b strings.Builder
	for _, r := range raw {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._+~^!*", r) {
			b.WriteRune(r)
		}
	}
	v := b.String()
	if len(v) < 8 {
		v += "Xq7pL2mN"[:8-len(v)]
	}
	return v
}

// FuzzRedactCommand asserts the redaction invariant: a planted secret
// never survives. The fuzzer picks the form, the value, a wrapper and
// trailing arguments; values that also occur in the parts that are kept
// (and so cannot be told apart from them) are skipped.
func FuzzRedactCommand(f *testing.F) {
	for i := range redactForms {
		f.Add(uint8(i), "hunter2secret", uint8(i%len(wrappers)), "")
	}
	f.Add(uint8(7), "s3cr3t", uint8(1), "extra arg")
	f.Add(uint8(2), "PlantedS1", uint8(0), "-v")
	f.Fuzz(func(t *testing.T, form uint8, raw string, wrapper uint8, tail string) {
		v := plantable(raw)
		build := redactForms[int(form)%len(redactForms)]
		args := build(v)
		secret := v
		if int(form)%len(redactForms) == len(redactForms)-1 {
			secret = entropyToken(v)
		}
		wrap := wrappers[int(wrapper)%len(wrappers)]
		var trailing []string
		for _, w := range strings.Fields(tail) {
			if strings.HasPrefix(w, "x") && !strings.ContainsAny(w, "'\"\\|;&") {
				trailing = append(trailing, w) // plain arguments only
			}
		}
		args = append(append(append([]string(nil), wrap...), args...), trailing...)
		kept := strings.Join(wrap, " ") + " " + strings.Join(build(""), " ") + " " + strings.Join(trailing, " ")
		if strings.Contains(kept, secret) || strings.Contains(redacted, secret) {
			t.Skip("the value also occurs in the kept parts")
		}
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = hostile.ShellQuote(a)
		}
		for via, out := range map[string]string{
			"args":    strings.Join(redactArgs(args), " "),
			"command": redactCommand(strings.Join(quoted, " ")),
		} {
			if strings.Contains(out, secret) {
				t.Fatalf("%s: planted %q survives: %q -> %q", via, secret, args, out)
			}
		}
	})
}

// TestRedactBounded checks that hostile quoting ends: an unterminated
// quote is one word, and commands nested deeper than maxNesting are
// hidden whole (fail safe) instead of read further.
func TestRedactBounded(t *testing.T) {
	if got := redactCommand("echo 'a b"); got != "echo 'a b" {
		t.Errorf("unterminated quote: %q", got)
	}
	if got := redactCommand(`+cmd|' /C calc'!A0`); got != `+cmd|' /C calc'!A0` {
		t.Errorf("formula: %q", got)
	}
	nested := "mysql -pdeepsecret1"
	for range maxNesting + 1 {
		nested = "sh -c " + hostile.ShellQuote(nested)
	}
	if got := redactCommand(nested); strings.Contains(got, "deepsecret1") || !strings.HasPrefix(got, "sh -c ") {
		t.Errorf("deep nesting: %q", got)
	}
}

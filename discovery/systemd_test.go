package discovery

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/scan"
)

// buildRoot writes files into a new temporary root and returns it. A
// value starting with "-> " makes a symbolic link to the rest; a key
// ending in "/" makes a directory.
func buildRoot(t testing.TB, files map[string]string) *Root {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(content, "-> "):
			err = os.Symlink(strings.TrimPrefix(content, "-> "), p)
		default:
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return testRoot(t, dir)
}

func testRoot(t testing.TB, dir string) *Root {
	t.Helper()
	r, err := NewRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testFingerprinter(t testing.TB) *Fingerprinter {
	t.Helper()
	fp, err := NewFingerprinter([]byte("0123456789abcdef-test-key"))
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

// assertNoSecrets fails if any planted secret appears in the JSON form of
// the values (results and warnings).
func assertNoSecrets(t testing.TB, secrets []string, values ...any) {
	t.Helper()
	out, err := json.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(out), s) {
			t.Errorf("planted secret %q appears in the output", s)
		}
	}
}

// warnedAt returns "file:line" of each warning, in order.
func warnedAt(w *warnings) []string {
	var out []string
	for _, x := range w.list {
		out = append(out, lineLoc(x.File, x.Line))
	}
	return out
}

func unitsByName(us []unit) map[string]unit {
	m := map[string]unit{}
	for _, u := range us {
		m[u.Name] = u
	}
	return m
}

func TestReadUnitsDistros(t *testing.T) {
	type want struct {
		user, group string
		enabled     bool
		execStart   []string
		secrets     []string // Name@Location
	}
	cases := []struct {
		desc    string
		root    string
		want    map[string]want
		absent  []string
		secrets []string
	}{
		{
			desc: "debian",
			root: "testdata/systemd/debian",
			want: map[string]want{
				"redis-server.service":       {user: "redis", group: "redis", enabled: true, execStart: []string{"/usr/bin/redis-server /etc/redis/redis.conf --supervised systemd --daemonize no"}},
				"redis-server@.service":      {user: "redis", group: "redis", execStart: []string{"/usr/bin/redis-server /etc/redis/redis-%i.conf --supervised systemd --daemonize no"}},
				"postgresql@15-main.service": {enabled: true, execStart: []string{"/usr/bin/pg_ctlcluster --skip-systemctl-redirect 15-main start"}},
				"pg_dump@15-main.service":    {user: "postgres", enabled: true, execStart: []string{"/usr/bin/pg_backupcluster 15-main dump", "/usr/bin/pg_backupcluster 15-main expiredumps $KEEP"}},
				"getty@tty1.service":         {enabled: true, execStart: []string{`/sbin/agetty -o '-p -- \\u' --noclear - $TERM`}},
				"epmd.service":               {user: "epmd", group: "epmd", enabled: true, execStart: []string{"/usr/bin/epmd -systemd"}},
				"apt-daily.service":          {enabled: true, execStart: []string{"/usr/lib/apt/apt.systemd.daily update"}},
				"systemd-timesyncd.service":  {user: "systemd-timesync", execStart: []string{"/lib/systemd/systemd-timesyncd"}},
				"user@0.service":             {user: "0", execStart: []string{"/lib/systemd/systemd --user"}},
				"mosquitto.service":          {execStart: []string{"/usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf"}},
			},
			absent: []string{"rabbitmq-server.service", "redis.service", "getty@.service", "postgresql@.service", "user@.service"},
		},
		{
			desc: "rhel",
			root: "testdata/systemd/rhel",
			want: map[string]want{
				"postgresql.service": {user: "postgres", group: "postgres", enabled: true, execStart: []string{"/usr/bin/postmaster -D ${PGDATA}"}},
				"crond.service":      {enabled: true, execStart: []string{"/usr/sbin/crond -n $CRONDARGS"}},
				"sshd.service":       {enabled: true, execStart: []string{"/usr/sbin/sshd -D $OPTIONS $CRYPTO_POLICY"}},
				"httpd.service":      {execStart: []string{"/usr/sbin/httpd $OPTIONS -DFOREGROUND"}},
			},
		},
		{
			desc: "suse",
			root: "testdata/systemd/suse",
			want: map[string]want{
				"apache2.service": {enabled: true, execStart: []string{"/usr/sbin/start_apache2 -DSYSTEMD -DFOREGROUND -k start"},
					secrets: []string{"APACHE_STATUS_PASSWORD@/etc/sysconfig/apache2:20"}},
				"cron.service": {enabled: true, execStart: []string{"/usr/sbin/cron -n"}},
			},
			absent:  []string{"httpd.service"},
			secrets: []string{"s3cr3t-suse-status"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			var w warnings
			units := readUnits(testRoot(t, tc.root), testFingerprinter(t), &w)
			got := unitsByName(units)
			for name, wt := range tc.want {
				u, ok := got[name]
				if !ok {
					t.Errorf("%s missing; have %v", name, reflect.ValueOf(got).MapKeys())
					continue
				}
				var secrets []string
				for _, s := range u.Secrets {
					secrets = append(secrets, s.Name+"@"+s.Location)
					if s.Type != scan.CredSecretEnv || s.Unit != name || !strings.HasPrefix(s.Fingerprint, FingerprintPrefix) {
						t.Errorf("%s: bad secret credential %+v", name, s)
					}
				}
				if u.User != wt.user || u.Group != wt.group || u.Enabled != wt.enabled ||
					!reflect.DeepEqual(u.ExecStart, wt.execStart) || !reflect.DeepEqual(secrets, wt.secrets) {
					t.Errorf("%s:\n got user=%q group=%q enabled=%v exec=%q secrets=%q\nwant user=%q group=%q enabled=%v exec=%q secrets=%q",
						name, u.User, u.Group, u.Enabled, u.ExecStart, secrets, wt.user, wt.group, wt.enabled, wt.execStart, wt.secrets)
				}
			}
			for _, name := range tc.absent {
				if _, ok := got[name]; ok {
					t.Errorf("%s should not be a unit", name)
				}
			}
			if len(w.list) != 0 {
				t.Errorf("unexpected warnings: %+v", w.list)
			}
			assertNoSecrets(t, tc.secrets, units, w.list)
		})
	}
}

func TestReadUnitsEdgeCases(t *testing.T) {
	planted := []string{"hunter2 two", "tok123", "sekret1", "setcredsecret", "envfile secret", "urlpw", "dropsecret", "resetsecret"}
	r := buildRoot(t, map[string]string{
		"etc/systemd/system/billing.service": `# billing
[Unit]
Description=Billing ; not a comment here

[Service]
; a comment
User=billing
Environment="DB_PASSWORD=hunter2 two" "LANG=C.UTF-8" \
  API_TOKEN=tok123
ExecStart=-/usr/bin/billing --password=sekret1 \
# comment inside a continuation
    run
SupplementaryGroups=a b
SupplementaryGroups=
SupplementaryGroups=c d
LoadCredential=db:/etc/billing/db.pw
SetCredential=key:setcredsecret
EnvironmentFile=-/etc/billing/missing.env
EnvironmentFile=/etc/billing/env
EnvironmentFile=/etc/billing/required-missing
`,
		"lib/systemd/system/billing.service":                "[Service]\nUser=shadowed-by-etc\n",
		"etc/systemd/system/billing.service.d/10-user.conf": "[Service]\nUser=billing2\nGroup=billing\n",
		"lib/systemd/system/billing.service.d/10-user.conf": "[Service]\nUser=masked-by-name\n",
		"lib/systemd/system/billing.service.d/20-env.conf":  "[Service]\nEnvironment=EXTRA_SECRET=dropsecret\n",
		"etc/billing/env": `# billing secrets
PGPASSWORD="envfile secret"
PASSWORD_FILE=/run/credentials/billing/pw
DATABASE_URL=postgres://billing:urlpw@db.internal/billing
garbage line
`,
		"etc/systemd/system/multi-user.target.wants/billing.service": "-> /etc/systemd/system/billing.service",

		"lib/systemd/system/reset.service":                 "[Service]\nEnvironment=OLD_TOKEN=resetsecret\nExecStart=/bin/a\n",
		"lib/systemd/system/reset.service.d/override.conf": "[Service]\nEnvironment=\nExecStart=\nExecStart=/bin/b\n",

		"lib/systemd/system/old.service":   "[Service]\nUser=old\n",
		"etc/systemd/system/old.service":   "-> /dev/null",
		"lib/systemd/system/empty.service": "",

		"lib/systemd/system/worker@.service":                               "[Service]\nUser=w-%i\nGroup=%I\nExecStart=/usr/bin/worker %n %p\n",
		`etc/systemd/system/multi-user.target.wants/worker@x\x2dy.service`: "-> /lib/systemd/system/worker@.service",

		"lib/systemd/system/report.timer":                     "[Timer]\nOnCalendar=daily\nUnit=report-job.service\n",
		"lib/systemd/system/report-job.service":               "[Service]\nDynamicUser=yes\nExecStart=/usr/bin/report\n",
		"etc/systemd/system/timers.target.wants/report.timer": "-> /lib/systemd/system/report.timer",

		"lib/systemd/system/app-web.service":         "[Service]\nExecStart=/usr/bin/web\n",
		"etc/systemd/system/app-.service.d/10.conf":  "[Service]\nUser=appuser\n",
		"etc/systemd/system/loop.service":            "-> loop.service",
		"etc/systemd/system/aliased.service":         "-> /lib/systemd/system/app-web.service",
		"etc/systemd/system/sockets.target.wants/x/": "",
		"lib/systemd/system/bad.service":             "User=outside\n[Service\nnot an assignment\n[Service]\n=novalue\nUser=bad\n",
	})
	var w warnings
	units := readUnits(r, testFingerprinter(t), &w)
	got := unitsByName(units)

	b := got["billing.service"]
	if b.User != "billing2" || b.Group != "billing" || !b.Enabled || b.Source != "/etc/systemd/system/billing.service" {
		t.Errorf("billing: user=%q group=%q enabled=%v source=%q", b.User, b.Group, b.Enabled, b.Source)
	}
	if want := []string{"/usr/bin/billing --password=[REDACTED] run"}; !reflect.DeepEqual(b.ExecStart, want) {
		t.Errorf("billing ExecStart = %q, want %q", b.ExecStart, want)
	}
	if want := []string{"c", "d"}; !reflect.DeepEqual(b.SupplementaryGroups, want) {
		t.Errorf("billing SupplementaryGroups = %q, want %q", b.SupplementaryGroups, want)
	}
	if want := []string{"db:/etc/billing/db.pw"}; !reflect.DeepEqual(b.LoadCredentials, want) {
		t.Errorf("billing LoadCredentials = %q", b.LoadCredentials)
	}
	var secrets []string
	for _, s := range b.Secrets {
		secrets = append(secrets, s.Name+"@"+s.Location+"@"+strings.Join(s.Findings, ","))
	}
	wantSecrets := []string{
		"DB_PASSWORD@unit billing.service@readable by others",
		"API_TOKEN@unit billing.service@readable by others",
		"EXTRA_SECRET@unit billing.service@readable by others",
		"key@unit billing.service@readable by others",
		"PGPASSWORD@/etc/billing/env:2@readable by others",
		"DATABASE_URL@/etc/billing/env:4@readable by others",
	}
	if !reflect.DeepEqual(secrets, wantSecrets) {
		t.Errorf("billing secrets:\n got %q\nwant %q", secrets, wantSecrets)
	}
	fp := testFingerprinter(t)
	if b.Secrets[0].Fingerprint != fp.Secret([]byte("hunter2 two")) || b.Secrets[5].Fingerprint != fp.Secret([]byte("urlpw")) {
		t.Errorf("fingerprints are not of the secret values")
	}

	if rs := got["reset.service"]; len(rs.Secrets) != 0 || !reflect.DeepEqual(rs.ExecStart, []string{"/bin/b"}) {
		t.Errorf("reset.service: secrets %v exec %q; empty assignments must reset", rs.Secrets, rs.ExecStart)
	}
	for _, name := range []string{"old.service", "empty.service", "aliased.service", "worker@.service", "loop.service"} {
		if _, ok := got[name]; ok {
			t.Errorf("%s should not be reported", name)
		}
	}
	wk := got[`worker@x\x2dy.service`]
	if wk.User != `w-x\x2dy` || wk.Group != "x-y" || !wk.Enabled ||
		!reflect.DeepEqual(wk.ExecStart, []string{`/usr/bin/worker worker@x\x2dy.service worker`}) {
		t.Errorf("worker instance: %+v", wk)
	}
	if rj := got["report-job.service"]; !rj.DynamicUser || !rj.Enabled {
		t.Errorf("report-job.service: %+v (enabled by its timer, DynamicUser)", rj)
	}
	if aw := got["app-web.service"]; aw.User != "appuser" {
		t.Errorf("app-web.service: prefix drop-in not applied: %+v", aw)
	}
	if bad := got["bad.service"]; bad.User != "bad" {
		t.Errorf("bad.service: %+v", bad)
	}

	warned := warnedAt(&w)
	wantWarned := []string{
		"/lib/systemd/system/bad.service:1", "/lib/systemd/system/bad.service:2", "/lib/systemd/system/bad.service:3",
		"/lib/systemd/system/bad.service:5", "/etc/billing/env:5", "/etc/billing/required-missing:0",
		"/etc/systemd/system/loop.service:0",
	}
	if !sameSet(warned, wantWarned) {
		t.Errorf("warnings:\n got %q\nwant %q\n%+v", warned, wantWarned, w.list)
	}
	assertNoSecrets(t, planted, units, w.list)
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

func TestSplitWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{in: `A=b C=d`, want: []string{"A=b", "C=d"}},
		{in: `"A=b c" "D=e"`, want: []string{"A=b c", "D=e"}},
		{in: `A="b c" 'D=e f'`, want: []string{"A=b c", "D=e f"}},
		{in: `A=b\ c E=\x41\n`, want: []string{"A=b c", "E=A\n"}},
		{in: `  `, want: nil},
		{in: `"A=b`, err: true},
		{in: `A=b\`, err: true},
		{in: `""`, want: []string{""}},
	}
	for _, tc := range cases {
		got, err := splitWords(tc.in)
		if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestSecretName(t *testing.T) {
	cases := map[string]bool{
		"DB_PASSWORD": true, "PGPASSWORD": true, "MYSQL_PWD": true, "PWD": false, "OLDPWD": false,
		"API_KEY": true, "apikey": true, "GITHUB_TOKEN": true, "client_secret": true, "AWS_SECRET_ACCESS_KEY": true,
		"AWS_ACCESS_KEY_ID": false, "PASSWORD_FILE": false, "TOKEN_URL": false, "SMTP_PASS": true,
		"BASIC_AUTH": true, "AUTHOR": false, "LANG": false, "PATH": false, "PRIVATE_KEY": true, "SSL_PRIVATE_KEY_PATH": false,
		"VAULT_CREDENTIALS": true, "HOME": false, "ENCRYPTION_KEY": true, "password": true, "pass": true,
		"APACHE_SERVERTOKENS": false, "MAX_TOKENS": false, "requirepass": true,
	}
	for name, want := range cases {
		if got := secretName(name); got != want {
			t.Errorf("secretName(%q) = %v, want %v", name, got, want)
		}
	}
}

// unitSeeds returns every unit file and environment file in testdata.
func unitSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, pat := range []string{"testdata/systemd/*/*/systemd/system/*.service", "testdata/systemd/*/usr/lib/systemd/system/*",
		"testdata/systemd/*/etc/sysconfig/*", "testdata/systemd/*/etc/systemd/system/*.d/*.conf"} {
		files, _ := filepath.Glob(pat)
		for _, f := range files {
			if data, err := os.ReadFile(f); err == nil {
				seeds = append(seeds, data)
			}
		}
	}
	if len(seeds) < 10 {
		t.Fatalf("only %d fuzz seeds found in testdata", len(seeds))
	}
	return seeds
}

func FuzzParseUnitFile(f *testing.F) {
	for _, s := range unitSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, problems := parseUnitFile(data)
		n := strings.Count(string(data), "\n") + 1
		for _, e := range entries {
			if e.key == "" || e.section == "" || e.line < 1 || e.line > n {
				t.Fatalf("bad entry %+v", e)
			}
		}
		for _, p := range problems {
			if p.line < 1 || p.line > n {
				t.Fatalf("bad problem line %d", p.line)
			}
		}
	})
}

func FuzzParseEnvFile(f *testing.F) {
	for _, s := range unitSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte("A=\"b c\"\nB='x'\\\n y\n#c\n;d\nexport C=1\nbad\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, problems := parseEnvFile(data)
		seen := map[string]bool{}
		for _, v := range vars {
			if !validEnvName(v.name) || seen[v.name] {
				t.Fatalf("bad or repeated variable %q", v.name)
			}
			seen[v.name] = true
		}
		for _, p := range problems {
			// A message may name the variable (a name is not a secret, and
			// may happen to equal another variable's value); the rest of it
			// must not quote a value.
			rest := p.msg
			if after, ok := strings.CutPrefix(rest, "value of "); ok {
				name, _, _ := strings.Cut(after, " ")
				if !validEnvName(name) {
					t.Fatalf("problem message %q names no variable", p.msg)
				}
				rest = strings.Replace(rest, name, "", 1)
			}
			for _, v := range vars {
				if len(v.value) >= 6 && strings.Contains(rest, v.value) {
					t.Fatalf("problem message %q quotes a value", p.msg)
				}
			}
		}
	})
}

func TestSplitEnvironment(t *testing.T) {
	vars, bad, err := splitEnvironment(`"DB_PASSWORD=a b" LANG=C 1X=y 'TOKEN=x=y' novalue`)
	want := []envAssignment{{name: "DB_PASSWORD", value: "a b"}, {name: "LANG", value: "C"}, {name: "TOKEN", value: "x=y"}}
	if err != nil || !reflect.DeepEqual(vars, want) || !reflect.DeepEqual(bad, []int{3, 5}) {
		t.Errorf("got %+v %v %v", vars, bad, err)
	}
}

func FuzzSplitEnvironment(f *testing.F) {
	for _, s := range []string{`"A=b c" "D=e"`, `A=b\ c E=\x41 bad`, `'X=y`, "PGPASSWORD=x LANG=C.UTF-8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vars, bad, err := splitEnvironment(s)
		if err != nil && (vars != nil || bad != nil) {
			t.Fatal("results with an error")
		}
		for _, v := range vars {
			if !validEnvName(v.name) {
				t.Fatalf("invalid name %q", v.name)
			}
		}
		// Every word is an assignment or a bad position, in order.
		words, _ := splitWords(s)
		if err == nil && len(vars)+len(bad) != len(words) {
			t.Fatalf("%d words, %d assignments and %d bad", len(words), len(vars), len(bad))
		}
		for i, b := range bad {
			if b < 1 || b > len(words) || i > 0 && b <= bad[i-1] {
				t.Fatalf("bad positions %v for %d words", bad, len(words))
			}
		}
	})
}

func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{`"A=b c" "D=e"`, `A=b\ c E=\x41`, `'x' "y`, `a\`, `PATH=/usr/bin:/bin LANG=C`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := splitWords(s)
		if err != nil {
			return
		}
		// Re-quoting each word and splitting again gives the same words.
		var b strings.Builder
		for _, w := range words {
			b.WriteString(`"`)
			for i := 0; i < len(w); i++ {
				if w[i] == '"' || w[i] == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(w[i])
			}
			b.WriteString(`" `)
		}
		again, err := splitWords(b.String())
		if err != nil || !reflect.DeepEqual(again, words) && len(words) > 0 {
			t.Fatalf("round trip of %q: %q, %v", words, again, err)
		}
	})
}

// BenchmarkReadUnits reads 2,000 services, a third enabled, each with a
// drop-in, a shared environment file and an Environment= secret.
func BenchmarkReadUnits(b *testing.B) {
	files := map[string]string{"etc/app/env": "DB_PASSWORD=x\nLANG=C\n"}
	for i := range 2000 {
		name := "app" + strconv.Itoa(i) + ".service"
		files["lib/systemd/system/"+name] = "[Unit]\nDescription=app\n\n[Service]\nUser=svc" + strconv.Itoa(i) +
			"\nEnvironment=\"API_TOKEN=t" + strconv.Itoa(i) + "\" LANG=C\nEnvironmentFile=-/etc/app/env\nExecStart=/usr/bin/app --config /etc/app.conf\n\n[Install]\nWantedBy=multi-user.target\n"
		files["etc/systemd/system/"+name+".d/override.conf"] = "[Service]\nGroup=app\n"
		if i%3 == 0 {
			files["etc/systemd/system/multi-user.target.wants/"+name] = "-> /lib/systemd/system/" + name
		}
	}
	r := buildRoot(b, files)
	fp := testFingerprinter(b)
	b.ResetTimer()
	for b.Loop() {
		var w warnings
		if us := readUnits(r, fp, &w); len(us) != 2000 {
			b.Fatalf("%d units", len(us))
		}
	}
}

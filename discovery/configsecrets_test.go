package discovery

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestConfigSecretParsers(t *testing.T) {
	cases := []struct {
		name     string
		parse    lineSecretParser
		in       string
		want     []string // name:line of each secret
		secrets  []string
		problems int
	}{
		{"crontab", parseCrontabEnv,
			"SHELL=/bin/sh\nPGPASSWORD=cron-pg-secret\n \"API_TOKEN\" = \"cron-quoted-token\"\nDB_PASSWORD=\n" +
				"FEATURE_TOKEN=true\nSMTP_PASS=${SMTP_PASS}\nBACKUP_SECRET='unterminated\n" +
				"0 3 * * * root PGPASSWORD=inline-not-an-assignment /usr/bin/dump\n#X_TOKEN=commented\n",
			[]string{"PGPASSWORD:2", "API_TOKEN:3"}, []string{"cron-pg-secret", "cron-quoted-token", "unterminated", "commented"}, 1},
		{"environment", parseEnvironment,
			"PATH=\"/usr/bin:/bin\"\nexport APP_SECRET=env-app-secret\nDATABASE_URL=postgres://u:env-url-pw@db/x\nnot an assignment\n",
			[]string{"APP_SECRET:2", "DATABASE_URL:3"}, []string{"env-app-secret", "env-url-pw"}, 1},
		{"redis", parseRedisConf,
			"port 6379\n# requirepass commented-redis\nrequirepass redis-plain-secret\nmasterauth \"redis quoted secret\"\nmasterauth \"bad\n",
			[]string{"requirepass:3", "masterauth:4"}, []string{"redis-plain-secret", "redis quoted secret", "commented-redis"}, 1},
		{"pg_service", parsePgService,
			"# services\n[billing]\nhost=db\nuser=billing\npassword=pgservice-secret\n[empty]\npassword=\nbroken line\n",
			[]string{"password:5"}, []string{"pgservice-secret"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, problems := tc.parse([]byte(tc.in))
			var at []string
			for _, s := range got {
				at = append(at, fmt.Sprintf("%s:%d", s.name, s.line))
			}
			if !reflect.DeepEqual(at, tc.want) {
				t.Errorf("secrets at %q, want %q", at, tc.want)
			}
			if len(problems) != tc.problems {
				t.Errorf("%d problems, want %d: %+v", len(problems), tc.problems, problems)
			}
			assertNoSecrets(t, tc.secrets, problems)
		})
	}
}

// TestScanConfigSecrets plants a secret in each new location and checks
// the holder, the location with its line, the readable-by-others finding,
// and that no output carries a planted value.
func TestScanConfigSecrets(t *testing.T) {
	// The files belong to the uid running the test; "holder" is that
	// uid's account (root's, when the tests run as root).
	me := os.Getuid()
	passwd := fmt.Sprintf("holder:x:%d:%d:files' owner:/home/holder:/bin/bash\n", me, me)
	if me != 0 {
		passwd = "root:x:0:0:root:/root:/bin/bash\n" + passwd
	}
	r := buildRoot(t, map[string]string{
		"etc/passwd":                     passwd,
		"etc/group":                      "root:x:0:\n",
		"etc/crontab":                    "PGPASSWORD=planted-crontab-pg\n17 * * * * root cd / && run-parts /etc/cron.hourly\n",
		"etc/cron.d/backup":              "BACKUP_TOKEN=planted-crond-token\n0 2 * * * root /usr/bin/backup\n",
		"var/spool/cron/crontabs/holder": "# user crontab\nS3_SECRET=\"planted-spool-secret\"\n0 1 * * * /usr/bin/sync\n",
		"etc/environment":                "PATH=/usr/bin\nGLOBAL_API_KEY=planted-environment-key\n",
		"etc/redis/redis.conf":           "bind 127.0.0.1\nrequirepass planted-redis-pass\nmasterauth planted-redis-master\n",
		"etc/pg_service.conf":            "[app]\nhost=db\npassword=planted-pgservice-system\n",
		"home/holder/.pg_service.conf":   "[mine]\nuser=holder\npassword=planted-pgservice-home\n",
		"home/holder/.config/systemd/user/sync.service": "[Unit]\nDescription=sync\n[Service]\n" +
			"Environment=LOG=1 \"SYNC_TOKEN=planted-user-unit-token\"\nEnvironmentFile=-%h/.config/sync.env\nEnvironmentFile=-/nonexistent\nExecStart=/usr/bin/sync\n",
		"home/holder/.config/sync.env": "# sync\nSYNC_PASSWORD=planted-user-envfile\n",
	})
	planted := []string{"planted-user-unit-token", "planted-user-envfile", "planted-crontab-pg", "planted-crond-token", "planted-spool-secret", "planted-environment-key",
		"planted-redis-pass", "planted-redis-master", "planted-pgservice-system", "planted-pgservice-home"}
	rep := scanRoot(t, Options{Root: r.Dir(), ProcDir: "-"})
	a := findAccount(t, rep, "holder")
	var got []string
	for _, c := range a.Credentials {
		if !strings.HasPrefix(c.Type, "secret_") {
			continue
		}
		if c.Fingerprint == "" || c.Mode != "0644" || !reflect.DeepEqual(c.Findings, []string{"readable by others"}) {
			t.Errorf("credential %+v: want a fingerprint, mode 0644 and readable by others", c)
		}
		got = append(got, c.Type+" "+c.Name+" "+c.Location)
	}
	want := []string{ // the report sorts credentials
		"secret_env BACKUP_TOKEN /etc/cron.d/backup:1",
		"secret_env PGPASSWORD /etc/crontab:1",
		"secret_env GLOBAL_API_KEY /etc/environment:2",
		"secret_env SYNC_PASSWORD /home/holder/.config/sync.env:2",
		"secret_env SYNC_TOKEN /home/holder/.config/systemd/user/sync.service:4",
		"secret_env S3_SECRET /var/spool/cron/crontabs/holder:2",
		"secret_file pg_service /etc/pg_service.conf:3",
		"secret_file redis /etc/redis/redis.conf:2",
		"secret_file redis /etc/redis/redis.conf:3",
		"secret_file pg_service /home/holder/.pg_service.conf:3",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("secrets:\n got %q\nwant %q", got, want)
	}
	assertReportClean(t, rep, planted)
}

// TestConfigSecretsHostile: a huge file is refused by the root's size
// limit with a warning; a very long line and many assignments stay bounded
// and quote nothing.
func TestConfigSecretsHostile(t *testing.T) {
	long := "API_TOKEN=" + strings.Repeat("s", 1<<20) + "\n"
	var many strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&many, "V%d_TOKEN=hostile-many-%d\n", i, i)
	}
	r := buildRoot(t, map[string]string{
		"etc/environment":      strings.Repeat("X_SECRET=hostile-huge-value\n", 5<<20/27),
		"etc/redis/redis.conf": "requirepass " + strings.Repeat("r", 1<<20) + "\n",
		"etc/cron.d/many":      many.String(),
		"etc/pg_service.conf":  long,
	})
	var w warnings
	fp := testFingerprinter(t)
	sys := readConfigSecrets(r, fp, &w)
	_, cron := readCron(r, fp, &w)
	if !strings.Contains(strings.Join(warnedAt(&w), " "), "/etc/environment:0") {
		t.Errorf("a file over the size limit is not a warning: %q", warnedAt(&w))
	}
	if len(cron) != 20000 {
		t.Errorf("%d crontab secrets, want 20000", len(cron))
	}
	assertNoSecrets(t, []string{"hostile-huge-value", "hostile-many-1\"", strings.Repeat("r", 100), strings.Repeat("s", 100)}, sys, w.list)
}

func TestAppConfigParsers(t *testing.T) {
	cases := []struct {
		name    string
		parse   lineSecretParser
		in      string
		want    []string
		secrets []string
	}{
		{"compose map and list", parseCompose,
			"services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: compose-map-secret\n      POSTGRES_USER: app\n" +
				"  app:\n    environment:\n      - APP_TOKEN=compose-list-token\n      - LOG_LEVEL=debug\n      - API_KEY=${API_KEY}\n",
			[]string{"POSTGRES_PASSWORD:5", "APP_TOKEN:9"}, []string{"compose-map-secret", "compose-list-token"}},
		{"compose invalid", parseCompose, "services: [\n  password: compose-bad-secret\n", nil, []string{"compose-bad-secret"}},
		{"properties", parseProperties,
			"# db\nspring.datasource.url=jdbc:postgresql://db/app\nspring.datasource.password = props-eq-secret\n" +
				"ldap.bind.password: props-colon-secret\nmail.smtp.pass props-space-secret\n! keystore.password=commented\n" +
				"long.value=a \\\n  keystore.password=continued-not-a-key\napp.name=demo\n",
			[]string{"spring.datasource.password:3", "ldap.bind.password:4", "mail.smtp.pass:5"},
			[]string{"props-eq-secret", "props-colon-secret", "props-space-secret", "commented", "continued-not-a-key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, problems := tc.parse([]byte(tc.in))
			var at []string
			for _, s := range got {
				at = append(at, fmt.Sprintf("%s:%d", s.name, s.line))
			}
			if !reflect.DeepEqual(at, tc.want) {
				t.Errorf("secrets at %q, want %q", at, tc.want)
			}
			assertNoSecrets(t, tc.secrets, problems)
		})
	}
}

// TestScanAppConfigSecrets: .env, docker-compose and .properties files
// under /srv, /opt, /etc and at the top of homes; too deep, skipped and
// example files are not read.
func TestScanAppConfigSecrets(t *testing.T) {
	me := os.Getuid()
	passwd := fmt.Sprintf("holder:x:%d:%d::/home/holder:/bin/bash\n", me, me)
	if me != 0 {
		passwd = "root:x:0:0:root:/root:/bin/bash\n" + passwd
	}
	r := buildRoot(t, map[string]string{
		"etc/passwd":                        passwd,
		"etc/group":                         "root:x:0:\n",
		"srv/shop/.env":                     "# shop\nSTRIPE_SECRET_KEY=planted-dotenv-stripe\nDEBUG=1\n",
		"srv/shop/.env.example":             "STRIPE_SECRET_KEY=planted-example-not-read\n",
		"opt/stack/docker-compose.prod.yml": "services:\n  db:\n    environment:\n      MYSQL_ROOT_PASSWORD: planted-compose-root\n",
		"etc/app/db.properties":             "db.user=app\ndb.password=planted-properties-pw\n",
		"srv/a/b/c/d/e/f/.env":              "DEEP_TOKEN=planted-too-deep\n",
		"srv/shop/node_modules/x/.env":      "NPM_TOKEN=planted-skipped-tree\n",
		"home/holder/.env":                  "HOME_API_KEY=planted-home-dotenv\n",
	})
	rep := scanRoot(t, Options{Root: r.Dir(), ProcDir: "-"})
	var got []string
	for _, c := range findAccount(t, rep, "holder").Credentials {
		got = append(got, c.Type+" "+c.Name+" "+c.Location+" "+strings.Join(c.Findings, ","))
	}
	want := []string{
		"secret_env db.password /etc/app/db.properties:2 readable by others",
		"secret_env HOME_API_KEY /home/holder/.env:1 readable by others",
		"secret_env MYSQL_ROOT_PASSWORD /opt/stack/docker-compose.prod.yml:4 readable by others",
		"secret_env STRIPE_SECRET_KEY /srv/shop/.env:2 readable by others",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("secrets:\n got %q\nwant %q", got, want)
	}
	assertReportClean(t, rep, []string{"planted-dotenv-stripe", "planted-example-not-read", "planted-compose-root",
		"planted-properties-pw", "planted-too-deep", "planted-skipped-tree", "planted-home-dotenv"})
}

// TestAppConfigWalkBounds: many directories and many files stop the walk
// with a warning; a properties file with a very long line is read in
// bounded time and quotes nothing.
func TestAppConfigWalkBounds(t *testing.T) {
	files := map[string]string{"srv/big.properties": "x.password=" + strings.Repeat("p", 3<<20) + "\n"}
	for i := range appWalkDirs + 10 {
		files[fmt.Sprintf("opt/d%d/", i)] = ""
	}
	for i := range appWalkFiles + 10 {
		files[fmt.Sprintf("srv/many/%d.properties", i)] = "a.password=walk-many\n"
	}
	r := buildRoot(t, files)
	var w warnings
	got := readAppConfigSecrets(r, testFingerprinter(t), &w)
	if len(got) != appWalkFiles {
		t.Errorf("%d secrets, want the cap %d", len(got), appWalkFiles)
	}
	msgs := fmt.Sprint(w.list)
	if !strings.Contains(msgs, "stopped after") {
		t.Errorf("no warning that the walk stopped: %s", msgs)
	}
	assertNoSecrets(t, []string{"walk-many", strings.Repeat("p", 64)}, got, w.list)
}

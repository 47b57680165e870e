package discovery

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadCron(t *testing.T) {
	cases := []struct {
		desc     string
		root     string
		want     []cronJob
		warnings []string // file:line
		secrets  []string
	}{
		{
			desc: "debian",
			root: "testdata/cron/debian",
			want: []cronJob{
				{"root", "/etc/crontab:19", "17 * * * *", "cd / && run-parts --report /etc/cron.hourly"},
				{"root", "/etc/crontab:20", "25 6 * * *", "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }"},
				{"root", "/etc/crontab:21", "47 6 * * 7", "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }"},
				{"root", "/etc/crontab:22", "52 6 1 * *", "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.monthly; }"},
				{"root", "/etc/cron.d/e2scrub_all:1", "30 3 * * 0", "test -e /run/systemd/system || SERVICE_MODE=1 /usr/lib/x86_64-linux-gnu/e2fsprogs/e2scrub_all_cron"},
				{"root", "/etc/cron.d/e2scrub_all:2", "10 3 * * *", "test -e /run/systemd/system || SERVICE_MODE=1 /sbin/e2scrub_all -A -r"},
				{"root", "/etc/cron.d/php:14", "09,39 * * * *", "[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi"},
				{"postgres", "/var/spool/cron/crontabs/postgres:9", "0 2 * * *", "pg_dumpall -U postgres | gzip > /var/backups/pg/all-$(date +%F).sql.gz"},
				{"postgres", "/var/spool/cron/crontabs/postgres:10", "@reboot", "/usr/local/bin/pg-warmup --password=[REDACTED]"},
				{"postgres", "/var/spool/cron/crontabs/postgres:11", "*/5 * * * *", "psql -c 'select 1' >/dev/null"},
			},
			secrets: []string{"cronenvsecret", "cronargsecret", "stdin text"},
		},
		{
			desc: "rhel",
			root: "testdata/cron/rhel",
			want: []cronJob{
				{"root", "/etc/cron.d/0hourly:5", "01 * * * *", "run-parts /etc/cron.hourly"},
				{"root", "/etc/cron.d/raid-check:2", "0 1 * * Sun", "/usr/sbin/raid-check"},
				{"apache", "/var/spool/cron/apache:1", "*/10 * * * *", "/usr/bin/php /var/www/html/cron.php"},
				{"apache", "/var/spool/cron/apache:2", "@daily", "curl -s https://deploy:[REDACTED]@repo.example.com/sync"},
			},
			warnings: []string{"/var/spool/cron/apache:3", "/var/spool/cron/apache:4"},
			secrets:  []string{"urlsecret"},
		},
		{
			desc: "suse",
			root: "testdata/cron/suse",
			want: []cronJob{
				{"root", "/etc/crontab:7", "*/15 * * * *", "test -x /usr/lib/cron/run-crons && /usr/lib/cron/run-crons >/dev/null 2>&1"},
				{"wwwrun", "/var/spool/cron/tabs/wwwrun:4", "@hourly", "/usr/bin/php /srv/www/htdocs/cron.php"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			var w warnings
			got, _ := readCron(testRoot(t, tc.root), testFingerprinter(t), &w)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("jobs:\n got %q\nwant %q", got, tc.want)
			}
			warned := warnedAt(&w)
			if !reflect.DeepEqual(warned, tc.warnings) {
				t.Errorf("warnings: got %q, want %q (%+v)", warned, tc.warnings, w.list)
			}
			assertNoSecrets(t, tc.secrets, got, w.list)
		})
	}
}

func TestParseCrontabLines(t *testing.T) {
	cases := []struct {
		line, user string
		want       *cronJob
	}{
		{line: "0 0 * * * root /bin/x", want: &cronJob{"root", "f:1", "0 0 * * *", "/bin/x"}},
		{line: "@weekly  nobody  /bin/x arg", want: &cronJob{"nobody", "f:1", "@weekly", "/bin/x arg"}},
		{line: "0 0 * * *", user: "", want: nil},
		{line: "@never root /bin/x", want: nil},
		{line: "60 * * * * root /bin/x", want: nil},
		{line: "* 24 * * * root /bin/x", want: nil},
		{line: "* * 0 * * root /bin/x", want: nil},
		{line: "1-5/2,7 0-23/4 1~31 jan-mar mon-fri root /bin/x", want: &cronJob{"root", "f:1", "1-5/2,7 0-23/4 1~31 jan-mar mon-fri", "/bin/x"}},
		{line: "*/0 * * * * root /bin/x", want: nil},
		{line: "  MAILTO = ops@example.com", want: nil},
		{line: "0 0 * * * /bin/x --token abc", user: "alice", want: &cronJob{"alice", "f:1", "0 0 * * *", "/bin/x --token [REDACTED]"}},
		{line: `0 0 * * * mysql -psecretpw -e "x\%y" % input`, user: "bob", want: &cronJob{"bob", "f:1", "0 0 * * *", `mysql -p[REDACTED] -e "x%y"`}},
	}
	for _, tc := range cases {
		var w warnings
		got := parseCrontab("f", tc.user, []byte(tc.line), &w)
		switch {
		case tc.want == nil && len(got) != 0:
			t.Errorf("%q: got %q, want nothing", tc.line, got)
		case tc.want != nil && (len(got) != 1 || got[0] != *tc.want):
			t.Errorf("%q: got %q, want %q (warnings %v)", tc.line, got, *tc.want, w.list)
		case tc.want == nil && !strings.Contains(tc.line, "=") && len(w.list) != 1:
			t.Errorf("%q: want one warning, got %v", tc.line, w.list)
		}
		assertNoSecrets(t, []string{"secretpw", "abc", "input"}, got, w.list)
	}
}

func FuzzParseCrontab(f *testing.F) {
	files, _ := filepath.Glob("testdata/cron/*/*/*")
	more, _ := filepath.Glob("testdata/cron/*/*/*/*")
	spool, _ := filepath.Glob("testdata/cron/*/var/spool/cron/*/*")
	n := 0
	for _, p := range append(append(files, more...), spool...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data, n%2 == 0)
			n++
		}
	}
	if n < 5 {
		f.Fatalf("only %d crontab seeds", n)
	}
	f.Fuzz(func(t *testing.T, data []byte, system bool) {
		user := "u"
		if system {
			user = ""
		}
		var w warnings
		jobs := parseCrontab("f", user, data, &w)
		for _, j := range jobs {
			if j.User == "" || j.Schedule == "" || strings.Contains(j.Command, "\n") {
				t.Fatalf("bad job %q", j)
			}
		}
	})
}

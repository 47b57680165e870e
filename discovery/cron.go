package discovery

import (
	"errors"
	"github.com/rosterhq/roster/scan"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// cronJob is one crontab entry.
type cronJob struct{ User, Source, Schedule, Command string } // Source "file:line"; Command with secrets redacted

// cronSpoolDirs hold per-user crontabs named after the user: Debian,
// SUSE, and RHEL (whose directory also holds Debian's subdirectories).
var cronSpoolDirs = []string{"/var/spool/cron/crontabs", "/var/spool/cron/tabs", "/var/spool/cron"}

// cronDName is what run-parts and Debian's cron accept in /etc/cron.d:
// names with a "." or "~" (backups, dpkg leftovers) are ignored.
var cronDName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// readCron reads /etc/crontab, /etc/cron.d/* (with a user column) and the
// per-user spool crontabs, and the secrets in their variable assignments,
// each owned by the uid that owns the crontab.
func readCron(r *Root, fp *Fingerprinter, w *warnings) ([]cronJob, []ownedCredential) {
	var jobs []cronJob
	var secrets []ownedCredential
	crontab := configSecretFile{credType: scan.CredSecretEnv, parse: parseCrontabEnv}
	read := func(p, user string) {
		data, fi, err := r.ReadFileInfo(p)
		if err != nil {
			if p != "/etc/crontab" || !errors.Is(err, fs.ErrNotExist) {
				w.add(p, 0, "unreadable crontab: %v", err)
			}
			return
		}
		jobs = append(jobs, parseCrontab(p, user, data, w)...)
		crontab.glob = p
		uid := fileUID(fi)
		if uid < 0 {
			uid = 0
		}
		for _, c := range configCredentials(p, data, fi, crontab, fp, w) {
			secrets = append(secrets, ownedCredential{UID: uid, Cred: c})
		}
	}
	read("/etc/crontab", "")
	readDir := func(dir string, userIsName bool) {
		ents, err := r.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			w.add(dir, 0, "unreadable crontab directory: %v", err)
		}
		for _, e := range ents {
			p, name := path.Join(dir, e.Name()), e.Name()
			skip := strings.HasPrefix(name, ".")
			if !userIsName {
				skip = !cronDName.MatchString(name) // run-parts rules
			}
			// Directories such as Debian's crontabs/ inside RHEL's spool
			// are not crontabs; links are followed inside the root.
			if skip || e.IsDir() || !e.Type().IsRegular() && !isRegular(r, p) {
				continue
			}
			user := ""
			if userIsName {
				user = name
			}
			read(p, user)
		}
	}
	readDir("/etc/cron.d", false)
	for _, dir := range cronSpoolDirs {
		readDir(dir, true)
	}
	return jobs, secrets
}

// isRegular reports whether p is a regular file (after links).
func isRegular(r *Root, p string) bool {
	fi, err := r.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// cronNicknames are the @ schedules of vixie cron and cronie.
var cronNicknames = map[string]bool{"@reboot": true, "@yearly": true, "@annually": true, "@monthly": true,
	"@weekly": true, "@daily": true, "@midnight": true, "@hourly": true}

// cronRanges are the bounds of the five time fields.
var cronRanges = [5][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}}

// cronNames are the month and weekday names, by field.
var cronNames = [5]map[string]int{3: {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7,
	"aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}, 4: {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4,
	"fri": 5, "sat": 6}}

// validCronField checks time field i: a list of "*", values, ranges
// "a-b", cronie's random ranges "a~b", each with an optional "/step".
func validCronField(s string, i int) bool {
	value := func(v string, emptyOK bool) bool {
		if v == "" {
			return emptyOK
		}
		if _, ok := cronNames[i][strings.ToLower(v)]; ok {
			return true
		}
		n, err := strconv.Atoi(v)
		return err == nil && n >= cronRanges[i][0] && n <= cronRanges[i][1]
	}
	for _, item := range strings.Split(s, ",") {
		base, step, hasStep := strings.Cut(item, "/")
		if n, err := strconv.Atoi(step); hasStep && (err != nil || n <= 0) {
			return false
		}
		if base == "*" || base == "~" {
			continue
		}
		if lo, hi, ok := strings.Cut(base, "~"); ok {
			if !value(lo, true) || !value(hi, true) {
				return false
			}
		} else if lo, hi, ok := strings.Cut(base, "-"); ok {
			if !value(lo, false) || !value(hi, false) {
				return false
			}
		} else if !value(base, false) {
			return false
		}
	}
	return true
}

// cronEnv is an environment assignment line: NAME=value, with optional
// blanks around "=" and an optionally quoted name.
var cronEnv = regexp.MustCompile(`^["']?[A-Za-z_][A-Za-z0-9_]*["']?\s*=`)

// parseCrontab parses one crontab. With user "" the file is a system
// crontab whose sixth field names the user. Environment lines are skipped;
// malformed lines are warned about and skipped.
func parseCrontab(file, user string, data []byte, w *warnings) []cronJob {
	var jobs []cronJob
	lines(data, func(n int, line string) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || cronEnv.MatchString(line) {
			return
		}
		// A leading "-" on the minute field (SUSE, vixie) only turns off
		// syslog logging of the job.
		line = strings.TrimPrefix(line, "-")
		f := strings.Fields(line)
		if len(f) == 0 {
			return
		}
		nsched := 5
		if strings.HasPrefix(f[0], "@") {
			if !cronNicknames[strings.ToLower(f[0])] {
				w.add(file, n, "unknown @ schedule")
				return
			}
			nsched = 1
		}
		need := nsched + 1
		if user == "" {
			need++
		}
		if len(f) < need {
			w.add(file, n, "crontab line has %d fields, want at least %d", len(f), need)
			return
		}
		for i, s := range f[:nsched] {
			if nsched == 5 && !validCronField(s, i) {
				w.add(file, n, "bad time field %d", i+1)
				return
			}
		}
		job := cronJob{User: user, Source: lineLoc(file, n), Schedule: strings.Join(f[:nsched], " ")}
		rest := line
		for i := 0; i < nsched; i++ {
			rest = strings.TrimLeft(strings.TrimLeft(rest, " \t")[len(f[i]):], " \t")
		}
		if user == "" {
			job.User = f[nsched]
			rest = strings.TrimLeft(rest[len(job.User):], " \t")
		}
		job.Command = redactCommand(cronCommand(rest))
		jobs = append(jobs, job)
	})
	return jobs
}

// cronCommand returns the command part of a crontab command field: text
// after the first unescaped "%" is the job's standard input and is
// dropped; "\%" is a literal percent sign.
func cronCommand(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '%':
			b.WriteByte('%')
			i++
		case s[i] == '%':
			return strings.TrimSpace(b.String())
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

package discovery

import (
	"slices"
	"strconv"
	"strings"
)

// passwdEntry is one line of /etc/passwd.
type passwdEntry struct {
	Name string
	// hash is the password field: "x" points at shadow; anything else is
	// a legacy hash and is secret.
	hash  string
	UID   int
	GID   int
	GECOS string
	Home  string
	Shell string
	Line  int
}

// maxID is the largest UID or GID: (uid_t)-1 is reserved as "no id".
const maxID = 1<<32 - 2

// parseID parses a decimal UID or GID.
func parseID(s string) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > maxID {
		return 0, false
	}
	return int(n), true
}

// lines calls fn for every line of data with its 1-based number, without
// the line terminator (a trailing "\r" is dropped too).
func lines(data []byte, fn func(n int, line string)) {
	s := string(data) // one copy; lines are substrings of it
	n := 0
	for len(s) > 0 {
		n++
		l := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			l, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		fn(n, strings.TrimSuffix(l, "\r"))
	}
}

// colonFile walks a colon-separated account database (passwd, group,
// shadow) named file: blank lines are skipped; comment lines, NIS compat
// entries ("+" and "-" lines), lines with a field count not in counts,
// invalid names and repeated names (the first entry wins, as getpwnam(3)
// and getgrnam(3) return it) are warned about and skipped. fn gets the
// fields of every other line.
func colonFile(file string, data []byte, w *warnings, counts []int, fn func(n int, f []string)) {
	seen := make(map[string]bool)
	lines(data, func(n int, line string) {
		switch {
		case strings.TrimSpace(line) == "":
			return
		case line[0] == '#':
			w.add(file, n, "comment lines are not allowed here; skipped")
			return
		case line[0] == '+' || line[0] == '-':
			w.add(file, n, "NIS compat entry skipped: entries from NIS are not scanned")
			return
		}
		f := strings.Split(line, ":")
		if !slices.Contains(counts, len(f)) {
			w.add(file, n, "want %d colon-separated fields, got %d; line skipped", counts[0], len(f))
			return
		}
		if !validName(f[0]) {
			w.add(file, n, "invalid name; line skipped")
			return
		}
		if seen[f[0]] {
			w.add(file, n, "%s is listed again; the first entry wins", f[0])
			return
		}
		seen[f[0]] = true
		fn(n, f)
	})
}

// parsePasswd parses a passwd(5) file; see [colonFile] for what is
// skipped. A bad UID or GID skips the line too.
func parsePasswd(file string, data []byte, w *warnings) []passwdEntry {
	var out []passwdEntry
	colonFile(file, data, w, []int{7}, func(n int, f []string) {
		uid, ok := parseID(f[2])
		if !ok {
			w.add(file, n, "account %s: invalid UID %q; line skipped", f[0], clip(f[2]))
			return
		}
		gid, ok := parseID(f[3])
		if !ok {
			w.add(file, n, "account %s: invalid GID %q; line skipped", f[0], clip(f[3]))
			return
		}
		out = append(out, passwdEntry{Name: f[0], hash: f[1], UID: uid, GID: gid, GECOS: f[4], Home: f[5], Shell: f[6], Line: n})
	})
	return out
}

// validName is the syntax of the name field of passwd, group and shadow
// lines, leniently as shadow-utils and systemd write them: no whitespace,
// colon, comma or control characters, not starting with '-', '+' or '~',
// at most 256 bytes. It decides which lines are parsed; whether an account
// is reported is decided by roster's account name rule,
// spiffeid.ValidateAccount (see readAccounts). Group names are not
// identities and keep this rule.
func validName(s string) bool {
	if s == "" || len(s) > 256 || s == "." || s == ".." {
		return false
	}
	switch s[0] {
	case '-', '+', '~':
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == ':' || c == ',' || c == '/' || c == 0x7f {
			return false
		}
	}
	return true
}

// clip shortens a non-secret field quoted in a warning.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// nonLoginShells are shells that refuse an interactive login.
var nonLoginShells = map[string]bool{
	"/sbin/nologin": true, "/usr/sbin/nologin": true, "/bin/false": true, "/usr/bin/false": true,
	"/bin/true": true, "/usr/bin/true": true, "/sbin/shutdown": true, "/sbin/halt": true, "/bin/sync": true,
	"/usr/bin/nologin": true, "/usr/sbin/shutdown": true, "/usr/sbin/halt": true, "/usr/bin/sync": true,
}

// isLoginShell reports whether shell lets the account log in and run
// commands. An empty shell means /bin/sh to login(1).
func isLoginShell(shell string) bool {
	if shell == "" {
		return true
	}
	if nonLoginShells[shell] {
		return false
	}
	base := shell[strings.LastIndexByte(shell, '/')+1:]
	return base != "nologin" && base != "false"
}

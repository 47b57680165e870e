package discovery

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/scan"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// warningLines returns the line numbers of the warnings, in order.
func warningLines(w *warnings) []int {
	var out []int
	for _, x := range w.list {
		out = append(out, x.Line)
	}
	return out
}

func TestParsePasswd(t *testing.T) {
	tests := []struct {
		desc      string
		file      string
		count     int
		check     map[string]passwdEntry // selected entries, Line ignored
		warnLines []int
	}{
		{desc: "debian 12", file: "passwd/debian", count: 25, check: map[string]passwdEntry{
			"root":     {Name: "root", UID: 0, GID: 0, GECOS: "root", Home: "/root", Shell: "/bin/bash"},
			"postgres": {Name: "postgres", UID: 102, GID: 110, GECOS: "PostgreSQL administrator,,,", Home: "/var/lib/postgresql", Shell: "/bin/bash"},
			"nobody":   {Name: "nobody", UID: 65534, GID: 65534, GECOS: "nobody", Home: "/nonexistent", Shell: "/usr/sbin/nologin"},
		}},
		{desc: "rhel 9", file: "passwd/rhel", count: 21, check: map[string]passwdEntry{
			"shutdown": {Name: "shutdown", UID: 6, GID: 0, GECOS: "shutdown", Home: "/sbin", Shell: "/sbin/shutdown"},
			"ec2-user": {Name: "ec2-user", UID: 1000, GID: 1000, GECOS: "Cloud User", Home: "/home/ec2-user", Shell: "/bin/bash"},
		}},
		{desc: "sles 15 with NIS compat line", file: "passwd/suse", count: 10, warnLines: []int{11}, check: map[string]passwdEntry{
			"tux": {Name: "tux", UID: 1000, GID: 100, GECOS: "Tux the Penguin", Home: "/home/tux", Shell: "/bin/bash"},
		}},
		{desc: "malformed lines", file: "passwd/malformed", count: 5, warnLines: []int{2, 3, 4, 5, 6, 7, 8, 11}, check: map[string]passwdEntry{
			"root":  {Name: "root", UID: 0, GID: 0, GECOS: "root", Home: "/root", Shell: "/bin/bash"},
			"toor":  {Name: "toor", UID: 0, GID: 0, GECOS: "second uid zero", Home: "/root", Shell: "/bin/sh"},
			"crlf2": {Name: "crlf2", UID: 1005, GID: 1005, Home: "/home/crlf2", Shell: "/bin/bash"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			w := &warnings{}
			got := parsePasswd(tc.file, readTestdata(t, tc.file), w)
			if len(got) != tc.count {
				t.Errorf("got %d entries, want %d", len(got), tc.count)
			}
			for name, want := range tc.check {
				i := slices.IndexFunc(got, func(e passwdEntry) bool { return e.Name == name })
				if i < 0 {
					t.Errorf("%s missing", name)
					continue
				}
				e := got[i]
				e.Line, e.hash = 0, ""
				if e != want {
					t.Errorf("%s = %+v, want %+v", name, e, want)
				}
			}
			if gl := warningLines(w); !slices.Equal(gl, tc.warnLines) {
				t.Errorf("warning lines %v, want %v (%v)", gl, tc.warnLines, w.list)
			}
			for _, x := range w.list {
				if x.File != tc.file {
					t.Errorf("warning names file %q", x.File)
				}
			}
		})
	}
}

func TestParseGroup(t *testing.T) {
	tests := []struct {
		desc      string
		file      string
		count     int
		members   map[string][]string
		warnLines []int
	}{
		{desc: "debian", file: "group/debian", count: 44, members: map[string][]string{"sudo": {"alice"}, "docker": {"deploy"}, "root": nil}},
		{desc: "rhel", file: "group/rhel", count: 39, members: map[string][]string{"wheel": {"ec2-user"}}},
		{desc: "suse", file: "group/suse", count: 15, members: map[string][]string{"wheel": {"tux"}, "www": {"wwwrun"}}},
		{desc: "malformed", file: "group/malformed", count: 2, warnLines: []int{2, 3, 4, 5}, members: map[string][]string{"members": {"alice", "bob", "carol"}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			w := &warnings{}
			got := parseGroup(tc.file, readTestdata(t, tc.file), w)
			if len(got) != tc.count {
				t.Errorf("got %d groups, want %d", len(got), tc.count)
			}
			for name, want := range tc.members {
				i := slices.IndexFunc(got, func(g groupEntry) bool { return g.Name == name })
				if i < 0 || !slices.Equal(got[i].Members, want) {
					t.Errorf("%s members wrong: %+v, want %v", name, got, want)
				}
			}
			if gl := warningLines(w); !slices.Equal(gl, tc.warnLines) {
				t.Errorf("warning lines %v, want %v (%v)", gl, tc.warnLines, w.list)
			}
		})
	}
}

func TestParseLoginDefs(t *testing.T) {
	tests := []struct {
		desc  string
		file  string
		want  uidRanges
		warns int
	}{
		{desc: "debian: SYS_ keys commented out", file: "login.defs/debian", want: uidRanges{100, 999, 1000, 60000, "login.defs/debian"}},
		{desc: "rhel", file: "login.defs/rhel", want: uidRanges{201, 999, 1000, 60000, "login.defs/rhel"}},
		{desc: "suse", file: "login.defs/suse", want: uidRanges{100, 499, 1000, 60000, "login.defs/suse"}},
		{desc: "malformed, hex and octal", file: "login.defs/malformed", want: uidRanges{0x64, 0777, 1000, 60000, "login.defs/malformed"}, warns: 2},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			w := &warnings{}
			got := parseLoginDefs(tc.file, readTestdata(t, tc.file), w)
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if len(w.list) != tc.warns {
				t.Errorf("%d warnings, want %d: %v", len(w.list), tc.warns, w.list)
			}
		})
	}
	w := &warnings{}
	if got := parseLoginDefs("x", []byte("UID_MIN 5000\nUID_MAX 100\n"), w); got.UIDMin != 1000 || got.UIDMax != 60000 || len(w.list) != 1 {
		t.Errorf("inverted range: %+v %v", got, w.list)
	}
}

func TestParseOSRelease(t *testing.T) {
	tests := []struct {
		desc  string
		file  string
		want  map[string]string
		warns []int
	}{
		{desc: "debian", file: "os-release/debian", want: map[string]string{"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "VERSION_CODENAME": "bookworm"}},
		{desc: "rhel", file: "os-release/rhel", want: map[string]string{"ID": "rhel", "ID_LIKE": "fedora", "VERSION_ID": "9.3", "REDHAT_BUGZILLA_PRODUCT_VERSION": "9.3"}},
		{desc: "suse", file: "os-release/suse", want: map[string]string{"ID": "sles", "ID_LIKE": "suse", "VERSION_ID": "15.5", "PRETTY_NAME": "SUSE Linux Enterprise Server 15 SP5"}},
		{desc: "malformed", file: "os-release/malformed", warns: []int{3, 4, 5, 8}, want: map[string]string{"ID": "alpine", "VERSION_ID": "3.19", "ESC": `a "quoted" $word`}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			w := &warnings{}
			got := parseOSRelease(tc.file, readTestdata(t, tc.file), w)
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			if gl := warningLines(w); !slices.Equal(gl, tc.warns) {
				t.Errorf("warning lines %v, want %v (%v)", gl, tc.warns, w.list)
			}
		})
	}
}

func TestParseShadowAndDecode(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC) // day 20454
	fp, _ := NewFingerprinter([]byte("0123456789abcdef"))
	type want struct {
		status, alg string
		cred        string // credential type or ""
		neverExp    bool
		pwExpired   bool
		acctExpired bool
		age         int // -1: none
	}
	tests := []struct {
		desc      string
		file      string
		count     int
		warnLines []int
		want      map[string]want
	}{
		{desc: "debian", file: "shadow/debian", count: 25, want: map[string]want{
			"root":            {status: scan.PasswordUsable, alg: "yescrypt", cred: scan.CredPassword, neverExp: true, age: 20454 - 19600},
			"daemon":          {status: scan.PasswordNone, neverExp: true, age: 20454 - 19600},
			"systemd-network": {status: scan.PasswordNone, neverExp: true, age: 20454 - 19600},
			"messagebus":      {status: scan.PasswordNone, neverExp: true, age: 20454 - 19600},
			"alice":           {status: scan.PasswordUsable, alg: "sha512", cred: scan.CredPassword, pwExpired: true, age: 20454 - 19650},
			"deploy":          {status: scan.PasswordLocked, alg: "yescrypt", neverExp: true, acctExpired: true, age: 20454 - 19700},
		}},
		{desc: "rhel", file: "shadow/rhel", count: 21, want: map[string]want{
			"root":     {status: scan.PasswordUsable, alg: "sha512", cred: scan.CredPassword, neverExp: true, age: 20454 - 19500},
			"sshd":     {status: scan.PasswordNone, neverExp: true, age: 20454 - 19500},
			"ec2-user": {status: scan.PasswordLocked, alg: "sha512", neverExp: true, age: 20454 - 19500},
		}},
		{desc: "suse", file: "shadow/suse", count: 10, want: map[string]want{
			"root": {status: scan.PasswordUsable, alg: "sha512", cred: scan.CredPassword, neverExp: true, age: 20454 - 19000},
			"tux":  {status: scan.PasswordUsable, alg: "bcrypt", cred: scan.CredPassword, neverExp: true, age: 20454 - 18000},
			"at":   {status: scan.PasswordNone, neverExp: true, age: 20454 - 19000},
		}},
		{desc: "malformed", file: "shadow/malformed", count: 8, warnLines: []int{2, 3, 10}, want: map[string]want{
			"badage":  {status: scan.PasswordUsable, alg: "sha512", cred: scan.CredPassword, neverExp: true, age: -1},
			"empty":   {status: scan.PasswordEmpty, cred: scan.CredEmptyPassword, neverExp: true, age: 20454 - 19600},
			"des":     {status: scan.PasswordUsable, alg: "des", cred: scan.CredPassword, neverExp: true, age: 20454 - 15000},
			"md5":     {status: scan.PasswordUsable, alg: "md5", cred: scan.CredPassword, neverExp: true, pwExpired: true, age: 20454},
			"expired": {status: scan.PasswordUsable, alg: "sha256", cred: scan.CredPassword, pwExpired: true, acctExpired: true, age: 20454 - 19000},
			"weird":   {status: scan.PasswordNone, neverExp: true, age: 20454 - 19000},
			"legacy":  {status: scan.PasswordUsable, alg: "sha512", cred: scan.CredPassword, neverExp: true, age: -1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			w := &warnings{}
			data := readTestdata(t, tc.file)
			got := parseShadow(tc.file, data, w)
			if len(got) != tc.count {
				t.Errorf("got %d entries, want %d", len(got), tc.count)
			}
			if gl := warningLines(w); !slices.Equal(gl, tc.warnLines) {
				t.Errorf("warning lines %v, want %v (%v)", gl, tc.warnLines, w.list)
			}
			for _, e := range got {
				wt, ok := tc.want[e.Name]
				if !ok {
					continue
				}
				p, c := decodePassword(e, tc.file, now, fp)
				if p.Status != wt.status || p.Algorithm != wt.alg || p.NeverExpires != wt.neverExp ||
					p.PasswordExpired != wt.pwExpired || p.AccountExpired != wt.acctExpired {
					t.Errorf("%s: got %+v, want %+v", e.Name, p, wt)
				}
				if wt.age < 0 && p.AgeDays != nil || wt.age >= 0 && (p.AgeDays == nil || *p.AgeDays != wt.age) {
					t.Errorf("%s: age %v, want %d", e.Name, p.AgeDays, wt.age)
				}
				switch {
				case wt.cred == "" && c != nil:
					t.Errorf("%s: unexpected credential %+v", e.Name, c)
				case wt.cred != "" && (c == nil || c.Type != wt.cred):
					t.Errorf("%s: credential %+v, want type %s", e.Name, c, wt.cred)
				case c != nil:
					if !strings.HasPrefix(c.Fingerprint, FingerprintPrefix) || c.Location != lineLoc(tc.file, e.Line) {
						t.Errorf("%s: credential %+v", e.Name, c)
					}
					if e.hash != "" && strings.Contains(c.Fingerprint, e.hash) {
						t.Errorf("%s: hash leaked", e.Name)
					}
				}
			}
			for _, x := range w.list {
				for _, e := range got {
					if len(e.hash) > 3 && strings.Contains(x.Message, e.hash) {
						t.Errorf("warning quotes a hash: %v", x)
					}
				}
			}
		})
	}
}

func TestHashAlgorithm(t *testing.T) {
	for h, want := range map[string]string{
		"$y$j9T$a$b": "yescrypt", "$gy$j9T$a$b": "gost-yescrypt", "$7$CU..$a$b": "scrypt", "$6$s$h": "sha512",
		"$5$s$h": "sha256", "$1$s$h": "md5", "$2a$10$x": "bcrypt", "$2b$10$x": "bcrypt", "$2y$10$x": "bcrypt",
		"abJnggxhB/yWI": "des", "_J9..CCCCXBrJUJV154M": "bsdicrypt", "$argon2id$v=19$x": "$argon2id$",
		"*": "", "!": "", "x": "", "LK": "", "NP": "", "abJnggxhB/yW!": "", "$": "", "$$": "",
	} {
		if got := hashAlgorithm(h); got != want {
			t.Errorf("hashAlgorithm(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestParseHostname(t *testing.T) {
	for file, want := range map[string]string{"hostname/debian": "web1", "hostname/rhel": "db1.example.com", "hostname/malformed": "ok"} {
		w := &warnings{}
		if got := parseHostname(file, readTestdata(t, file), w); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
		if wantWarn := file == "hostname/malformed"; (len(w.list) > 0) != wantWarn {
			t.Errorf("%s: warnings %v", file, w.list)
		}
	}
}

func TestIsLoginShell(t *testing.T) {
	for shell, want := range map[string]bool{
		"/bin/bash": true, "/usr/bin/zsh": true, "": true, "/bin/sh": true,
		"/usr/sbin/nologin": false, "/sbin/nologin": false, "/bin/false": false, "/usr/bin/false": false,
		"/bin/sync": false, "/sbin/shutdown": false, "/opt/custom/nologin": false,
	} {
		if got := isLoginShell(shell); got != want {
			t.Errorf("isLoginShell(%q) = %v", shell, got)
		}
	}
}

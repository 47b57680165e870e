package discovery

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/spiffeid"
)

// seedFrom adds every file of testdata/dir as a seed and fails when there
// is none, so that a moved fixture cannot silently empty the corpus.
func seedFrom(f *testing.F, dir string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil {
		f.Fatal(err)
	}
	n := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // a directory
		}
		f.Add(data)
		n++
	}
	if n == 0 {
		f.Fatalf("no seeds in testdata/%s", dir)
	}
}

// checkWarnings asserts that every warning names the file and a line of
// the input (or 0), and is valid text.
func checkWarnings(t *testing.T, file string, data []byte, w *warnings) {
	t.Helper()
	maxLine := strings.Count(string(data), "\n") + 1
	for _, x := range w.list {
		if x.File != file || x.Line < 0 || x.Line > maxLine || x.Message == "" {
			t.Fatalf("bad warning %+v (input has %d lines)", x, maxLine)
		}
	}
}

func FuzzParsePasswd(f *testing.F) {
	seedFrom(f, "passwd")
	f.Fuzz(func(t *testing.T, data []byte) {
		w := &warnings{}
		seen := map[string]bool{}
		for _, e := range parsePasswd("/etc/passwd", data, w) {
			if !validName(e.Name) || seen[e.Name] || e.UID < 0 || e.UID > maxID || e.GID < 0 || e.GID > maxID {
				t.Fatalf("bad entry %+v", e)
			}
			seen[e.Name] = true
		}
		checkWarnings(t, "/etc/passwd", data, w)
	})
}

func FuzzParseShadow(f *testing.F) {
	seedFrom(f, "shadow")
	fp, _ := NewFingerprinter([]byte("fuzz-fingerprint-key"))
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		w := &warnings{}
		for _, e := range parseShadow("/etc/shadow", data, w) {
			p, c := decodePassword(e, "/etc/shadow", now, fp)
			switch p.Status {
			case scan.PasswordUsable, scan.PasswordEmpty:
				if c == nil {
					t.Fatalf("%s: status %s without a credential", e.Name, p.Status)
				}
			case scan.PasswordLocked, scan.PasswordNone:
				if c != nil {
					t.Fatalf("%s: status %s with a credential", e.Name, p.Status)
				}
			default:
				t.Fatalf("%s: status %q", e.Name, p.Status)
			}
			if c != nil && len(e.hash) >= 4 && (strings.Contains(c.Fingerprint, e.hash) || strings.Contains(c.Location, e.hash)) {
				t.Fatalf("hash of %s leaked into its credential", e.Name)
			}
			// The hash may also occur by chance in other fields, which
			// warnings may quote: only a hash found nowhere else counts.
			// Quoting in warnings escapes bytes, so compare quoted text.
			rest := strings.Replace(string(data), e.Name+":"+e.hash, e.Name+":", 1)
			chance := strings.Contains(rest, e.hash) || strings.Contains(strconv.Quote(rest), e.hash)
			for _, x := range w.list {
				if len(e.hash) >= 4 && !chance && strings.Contains(x.Message, e.hash) {
					t.Fatalf("hash of %s leaked into warning %q", e.Name, x.Message)
				}
			}
		}
		checkWarnings(t, "/etc/shadow", data, w)
	})
}

func FuzzParseGroup(f *testing.F) {
	seedFrom(f, "group")
	f.Fuzz(func(t *testing.T, data []byte) {
		w := &warnings{}
		for _, g := range parseGroup("/etc/group", data, w) {
			if !validName(g.Name) || g.GID < 0 || g.GID > maxID {
				t.Fatalf("bad group %+v", g)
			}
			for _, m := range g.Members {
				if !validName(m) {
					t.Fatalf("bad member %q", m)
				}
			}
		}
		checkWarnings(t, "/etc/group", data, w)
	})
}

func FuzzParseLoginDefs(f *testing.F) {
	seedFrom(f, "login.defs")
	f.Fuzz(func(t *testing.T, data []byte) {
		w := &warnings{}
		r := parseLoginDefs("/etc/login.defs", data, w)
		if r.UIDMin > r.UIDMax || r.SysUIDMin > r.SysUIDMax || r.UIDMin < 0 || r.SysUIDMin < 0 {
			t.Fatalf("inconsistent ranges %+v", r)
		}
		checkWarnings(t, "/etc/login.defs", data, w)
	})
}

func FuzzParseOSRelease(f *testing.F) {
	seedFrom(f, "os-release")
	f.Fuzz(func(t *testing.T, data []byte) {
		w := &warnings{}
		for k := range parseOSRelease("/etc/os-release", data, w) {
			if !validEnvName(k) {
				t.Fatalf("bad key %q", k)
			}
		}
		checkWarnings(t, "/etc/os-release", data, w)
	})
}

func FuzzParseSudoers(f *testing.F) {
	seedFrom(f, "sudoers")
	users := []sudoUser{
		{Name: "root", UID: 0, Groups: map[string]int{"root": 0}},
		{Name: "alice", UID: 1000, Groups: map[string]int{"sudo": 27, "alice": 1000}},
		{Name: "deploy", UID: 1001, Groups: map[string]int{"deploy": 1001}},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w := &warnings{}
		p := newSudoPolicy()
		var includes []string
		p.parse("/etc/sudoers", data, w, func(line int, target string, dir bool) { includes = append(includes, target) })
		for _, u := range users {
			for _, host := range []string{"", "web1"} {
				for _, r := range p.rulesFor(u, host) {
					if len(r.Commands) == 0 || len(r.RunAs) == 0 || !strings.HasPrefix(r.Source, "/etc/sudoers:") {
						t.Fatalf("bad rule %+v", r)
					}
					// A rule that elevates says so, naming its source;
					// one that asks for another's password never does.
					ok, why := elevates(r, u.Name)
					if ok != (why != "") || ok && !strings.HasPrefix(why, "sudo rule "+r.Source+" ") || ok && !r.NoPassword && r.PasswordOf != "" {
						t.Fatalf("elevates(%+v) = %v, %q", r, ok, why)
					}
				}
			}
		}
		for _, inc := range includes {
			if inc == "" || !utf8.ValidString(inc) && utf8.Valid(data) {
				t.Fatalf("bad include %q", inc)
			}
		}
		checkWarnings(t, "/etc/sudoers", data, w)
	})
}

func FuzzParseHostname(f *testing.F) {
	seedFrom(f, "hostname")
	f.Fuzz(func(t *testing.T, data []byte) {
		w := &warnings{}
		name := parseHostname("/etc/hostname", data, w)
		if name != "" && spiffeid.ValidateHost(name) != nil {
			t.Fatalf("bad hostname %q: %v", name, spiffeid.ValidateHost(name))
		}
		checkWarnings(t, "/etc/hostname", data, w)
	})
}

// FuzzParsePrincipals: the principals of an AuthorizedPrincipalsFile are
// non-empty, bounded, without whitespace, distinct and at most
// maxPrincipals; warnings name the file and a line of it.
func FuzzParsePrincipals(f *testing.F) {
	seedFrom(f, "hosts/cert-bastion/etc/ssh/roster/principals")
	f.Add([]byte("# c\nfrom=\"10.0.0.0/8\",no-pty deploy\n\"x y\" z\nci\nci\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		w := &warnings{}
		ps := parsePrincipals("/etc/ssh/p/u", data, w)
		if len(ps) > maxPrincipals {
			t.Fatalf("%d principals", len(ps))
		}
		seen := map[string]bool{}
		for _, p := range ps {
			if p == "" || len(p) > maxPrincipalLen || strings.ContainsAny(p, " \t\n") || seen[p] {
				t.Fatalf("bad or repeated principal %q", p)
			}
			seen[p] = true
		}
		checkWarnings(t, "/etc/ssh/p/u", data, w)
	})
}

// FuzzParseCAKeys: every CA key recorded has a type and an ssh-keygen
// style fingerprint, each once, at most maxCAKeys, at a line of the file.
func FuzzParseCAKeys(f *testing.F) {
	seedFrom(f, "hosts/cert-bastion/etc/ssh/roster")
	f.Fuzz(func(t *testing.T, data []byte) {
		w := &warnings{}
		ks := parseCAKeys("/etc/ssh/ca.pub", data, w)
		if len(ks) > maxCAKeys {
			t.Fatalf("%d keys", len(ks))
		}
		seen := map[string]bool{}
		for _, k := range ks {
			if k.Type == "" || !strings.HasPrefix(k.Fingerprint, "SHA256:") || seen[k.Fingerprint] || !strings.HasPrefix(k.Location, "/etc/ssh/ca.pub:") {
				t.Fatalf("bad key %+v", k)
			}
			seen[k.Fingerprint] = true
		}
		checkWarnings(t, "/etc/ssh/ca.pub", data, w)
	})
}

// fuzzLineSecrets checks a lineSecretParser: secrets are non-empty with a
// line of the input, problems name a line of the input.
func fuzzLineSecrets(f *testing.F, parse lineSecretParser, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		maxLine := strings.Count(string(data), "\n") + 1
		secrets, problems := parse(data)
		for _, s := range secrets {
			if s.value == "" || s.name == "" || s.line < 1 || s.line > maxLine {
				t.Fatalf("bad secret %+v (input has %d lines)", s, maxLine)
			}
		}
		for _, p := range problems {
			if p.line < 0 || p.line > maxLine || p.msg == "" {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}

func FuzzParseCrontabEnv(f *testing.F) {
	fuzzLineSecrets(f, parseCrontabEnv, "PGPASSWORD=x\n\"A_TOKEN\" = 'y'\n0 * * * * root /bin/true\n", "B_SECRET=\"open\n")
}

func FuzzParseEnvironment(f *testing.F) {
	fuzzLineSecrets(f, parseEnvironment, "PATH=/bin\nexport API_KEY=\"k\"\nX=postgres://u:p@h/d\n", "A=\\\nB\n")
}

func FuzzParseRedisConf(f *testing.F) {
	fuzzLineSecrets(f, parseRedisConf, "requirepass secret\nmasterauth \"a b\"\nmasterauth \"open\n")
}

func FuzzParsePgService(f *testing.F) {
	fuzzLineSecrets(f, parsePgService, "[svc]\nhost=db\npassword=pw\n[bad\n")
}

func FuzzParseCompose(f *testing.F) {
	fuzzLineSecrets(f, parseCompose, "services:\n  a:\n    environment:\n      A_TOKEN: x\n      - B_SECRET=y\n", "x: &a [*a]\n")
}

func FuzzParseProperties(f *testing.F) {
	fuzzLineSecrets(f, parseProperties, "db.password=pw\na.secret: s\nb.pass v\\\n  c.password=n\n")
}

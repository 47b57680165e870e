package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/hostile"
	"github.com/rosterhq/roster/internal/textout"
)

func validReport() *Report {
	age := 40
	return &Report{
		SchemaVersion: SchemaVersion,
		Scanner:       Scanner{Name: "roster", Version: "test"},
		Host:          Host{Hostname: "web-01", MachineID: "0123456789abcdef0123456789abcdef", ScannedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Root: "/", Live: true},
		Accounts: []Account{
			{Name: "billing", UID: 1001, Kind: KindService, KindEvidence: []string{"systemd unit"}, Password: Password{Status: "usable", Algorithm: "yescrypt", AgeDays: &age},
				Credentials: []Credential{
					{Type: CredPassword, Location: "/etc/shadow:12", Fingerprint: "hmac-sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
					{Type: CredSSHAuthorizedKey, Location: "/home/billing/.ssh/authorized_keys:1", Fingerprint: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", Algorithm: "ssh-ed25519"},
					{Type: CredEmptyPassword, Location: "/etc/shadow:13"},
				},
				UsedBy:   []Usage{{Type: UsageSystemd, Name: "billing.service"}},
				Exposure: Exposure{Listening: []Socket{{Proto: "tcp", Address: "0.0.0.0", Port: 8080}}}},
			{Name: "nobody", UID: 65534, Kind: KindSystem, Password: Password{Status: "none"}},
		},
	}
}

func encode(t testing.TB, r *Report) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecode(t *testing.T) {
	ok := encode(t, validReport())
	edit := func(f func(r *Report)) []byte {
		r := validReport()
		f(r)
		return encode(t, r)
	}
	for _, tc := range []struct {
		desc     string
		in       []byte
		max      int64
		field    string // "" with reason: document-level error
		reason   string
		tooLarge bool
	}{
		{desc: "valid", in: ok},
		{desc: "unknown fields are ignored", in: bytes.Replace(ok, []byte(`"scanner":`), []byte(`"future_field":{"x":1},"scanner":`), 1)},
		{desc: "too large", in: ok, max: 100, reason: "larger than 100 bytes", tooLarge: true},
		{desc: "unknown version", in: edit(func(r *Report) { r.SchemaVersion = 2 }), field: "schema_version", reason: "unsupported version 2"},
		{desc: "no version", in: []byte(`{"host":{}}`), field: "schema_version", reason: "missing"},
		{desc: "not JSON", in: []byte("{\n\"schema_version\": 1,\n oops}"), reason: "malformed JSON at line 3"},
		{desc: "truncated", in: ok[:len(ok)/2], reason: ""},
		{desc: "trailing data", in: append(append([]byte{}, ok...), []byte(`{}`)...), reason: "unexpected data after the report"},
		{desc: "wrong type", in: bytes.Replace(ok, []byte(`"uid":1001`), []byte(`"uid":"1001"`), 1), field: "accounts.uid", reason: "expected int"},
		{desc: "unknown credential type", in: edit(func(r *Report) { r.Accounts[0].Credentials[1].Type = "x" }), field: "accounts[0].credentials[1].type", reason: `unknown credential type "x"`},
		{desc: "raw secret instead of a fingerprint", in: edit(func(r *Report) { r.Accounts[0].Credentials[0].Fingerprint = "hunter2" }), field: "accounts[0].credentials[0].fingerprint", reason: "not a fingerprint"},
		{desc: "missing fingerprint", in: edit(func(r *Report) { r.Accounts[0].Credentials[0].Fingerprint = "" }), field: "accounts[0].credentials[0].fingerprint", reason: "missing"},
		{desc: "no hostname", in: edit(func(r *Report) { r.Host.Hostname = "" }), field: "host.hostname", reason: "missing"},
		{desc: "hostname with a NUL", in: edit(func(r *Report) { r.Host.Hostname = "a\x00b" }), field: "host.hostname", reason: "U+0000 (control character) not allowed"},
		{desc: "hostname with a path", in: edit(func(r *Report) { r.Host.Hostname = "../etc" }), field: "host.hostname", reason: `spiffeid: host name "../etc"`},
		{desc: "account name with a slash", in: edit(func(r *Report) { r.Accounts[1].Name = "a/b" }), field: "accounts[1].name", reason: `spiffeid: account name "a/b": '/' not allowed at byte 1`},
		{desc: "account name ..", in: edit(func(r *Report) { r.Accounts[1].Name = ".." }), field: "accounts[1].name", reason: "may not start with '.'"},
		{desc: "account name with a bidi override", in: edit(func(r *Report) { r.Accounts[0].Name = "bill\u202eing" }), field: "accounts[0].name", reason: "U+202E (bidi control)"},
		{desc: "account name with a zero-width space", in: edit(func(r *Report) { r.Accounts[0].Name = "ro\u200bot" }), field: "accounts[0].name", reason: "U+200B (zero-width character)"},
		{desc: "account name NAME@ENV", in: edit(func(r *Report) { r.Accounts[0].Name = "billing@prod" }), field: "accounts[0].name", reason: "'@' not allowed"},
		{desc: "no account name", in: edit(func(r *Report) { r.Accounts[0].Name = "" }), field: "accounts[0].name", reason: "missing"},
		{desc: "huge scanner version", in: edit(func(r *Report) { r.Scanner.Version = strings.Repeat("v", 1<<20) }), max: 4 << 20, field: "scanner.version", reason: "longer than 256 bytes (1048576)"},
		{desc: "escape sequence in a warning", in: edit(func(r *Report) { r.Warnings = []Warning{{File: "/etc/passwd", Message: "x\x1b[2J"}} }), field: "warnings[0].message", reason: "U+001B (control character) at byte 1 not allowed"},
		{desc: "bidi override in a path", in: edit(func(r *Report) { r.Accounts[0].Credentials[0].Location = "/home/a/\u202etxt.exe" }), field: "accounts[0].credentials[0].location", reason: "U+202E (invisible format character"},
		{desc: "newline in a command", in: edit(func(r *Report) { r.Accounts[0].UsedBy[0].Detail = "a\nroot 0 yes" }), field: "accounts[0].used_by[0].detail", reason: "U+000A (control character) at byte 1"},
		{desc: "escape sequence in gecos", in: edit(func(r *Report) { r.Accounts[0].GECOS = "Billing\x1b[2J" }), field: "accounts[0].gecos", reason: "U+001B (control character) at byte 7"},
		{desc: "long unit description", in: edit(func(r *Report) { r.Accounts[0].UsedBy[0].Description = strings.Repeat("d", 4097) }), field: "accounts[0].used_by[0].description", reason: "longer than 4096 bytes"},
		{desc: "long group name", in: edit(func(r *Report) { r.Accounts[1].Groups = []string{"ok", strings.Repeat("g", 257)} }), field: "accounts[1].groups[1]", reason: "longer than 256 bytes"},
		{desc: "shared account name", in: edit(func(r *Report) {
			r.Shared = []SharedCredential{{Fingerprint: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", Accounts: []string{"billing", "x/y"}}}
		}), field: "shared_credentials[0].accounts[1]", reason: "'/' not allowed"},
		{desc: "invalid UTF-8 decodes to U+FFFD", in: bytes.Replace(ok, []byte(`"test"`), []byte("\"t\xffst\""), 1), field: "scanner.version", reason: "U+FFFD (replacement character"},
		{desc: "no scan time", in: edit(func(r *Report) { r.Host.ScannedAt = time.Time{} }), field: "host.scanned_at", reason: "missing"},
		{desc: "duplicate account", in: edit(func(r *Report) { r.Accounts[1].Name = "billing" }), field: "accounts[1].name", reason: "duplicate account"},
		{desc: "unknown kind", in: edit(func(r *Report) { r.Accounts[1].Kind = "robot" }), field: "accounts[1].kind", reason: "unknown account kind"},
		{desc: "kind directory", in: edit(func(r *Report) {
			r.Accounts[1].Kind, r.Accounts[1].Directory = KindDirectory, &DirectoryAccount{DN: "uid=nobody,ou=services,dc=e", ObjectClass: "account"}
		})},
		{desc: "unknown usage", in: edit(func(r *Report) { r.Accounts[0].UsedBy[0].Type = "at" }), field: "accounts[0].used_by[0].type", reason: "unknown usage type"},
		{desc: "negative usage count", in: edit(func(r *Report) { r.Accounts[0].UsedBy[0].Count = -1 }), field: "accounts[0].used_by[0].count", reason: "negative"},
		{desc: "bad port", in: edit(func(r *Report) { r.Accounts[0].Exposure.Listening[0].Port = 70000 }), field: "accounts[0].exposure.listening[0].port", reason: "out of range"},
		{desc: "bad password status", in: edit(func(r *Report) { r.Accounts[0].Password.Status = "weird" }), field: "accounts[0].password.status", reason: "unknown password status"},
		{desc: "escape sequence in an SPN", in: edit(func(r *Report) {
			r.Accounts[0].Directory = &DirectoryAccount{DN: "CN=x", SPNs: []string{"HTTP/a", "x\x1b[2J"}}
		}), field: "accounts[0].directory.spns[1]", reason: "U+001B (control character)"},
		{desc: "long directory DN", in: edit(func(r *Report) { r.Accounts[0].Directory = &DirectoryAccount{DN: strings.Repeat("d", 4097)} }), field: "accounts[0].directory.dn", reason: "longer than 4096 bytes"},
		{desc: "long directory flag", in: edit(func(r *Report) {
			r.Accounts[0].Directory = &DirectoryAccount{Flags: []string{strings.Repeat("f", 257)}}
		}), field: "accounts[0].directory.flags[0]", reason: "longer than 256 bytes"},
		{desc: "bad shared fingerprint", in: edit(func(r *Report) { r.Shared = []SharedCredential{{Fingerprint: "x"}} }), field: "shared_credentials[0].fingerprint", reason: "not a fingerprint"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r, err := Decode(bytes.NewReader(tc.in), tc.max)
			if tc.field == "" && tc.reason == "" && tc.desc == "valid" || tc.desc == "unknown fields are ignored" || tc.desc == "kind directory" {
				if err != nil || r.Host.Hostname != "web-01" || len(r.Accounts) != 2 {
					t.Fatalf("Decode = %v, %v", r, err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if ve.Field != tc.field || !strings.Contains(ve.Reason, tc.reason) {
				t.Errorf("field %q reason %q, want %q containing %q", ve.Field, ve.Reason, tc.field, tc.reason)
			}
			if errors.Is(err, ErrTooLarge) != tc.tooLarge {
				t.Errorf("ErrTooLarge = %v", errors.Is(err, ErrTooLarge))
			}
			if strings.Contains(err.Error(), "hunter2") || len(err.Error()) > 400 {
				t.Errorf("error quotes the secret or a long value: %.400s", err)
			}
		})
	}
}

func TestValidateMessage(t *testing.T) {
	r := validReport()
	r.Accounts = append(r.Accounts, r.Accounts[0], r.Accounts[0], Account{Name: "x", Kind: KindService, Credentials: []Credential{{Type: "x", Fingerprint: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"}}})
	r.Accounts[2].Name, r.Accounts[3].Name = "a1", "a2"
	err := Validate(r)
	if err == nil || err.Error() != `accounts[4].credentials[0].type: unknown credential type "x"` {
		t.Errorf("Validate = %v", err)
	}
}

// FuzzDecode checks that Decode never panics, that every failure is a
// *ValidationError (or a read error), and that what it accepts survives a
// JSON round trip unchanged and still validates.
func FuzzDecode(f *testing.F) {
	seeds := [][]byte{
		encode(f, validReport()),
		encode(f, sshdReport()),
		[]byte(`{"schema_version":1,"host":{"hostname":"h","scanned_at":"2026-01-01T00:00:00Z"},"accounts":[]}`),
		[]byte(`{"schema_version":1}`),
		[]byte(`{"schema_version":2}`),
		[]byte(`[]`),
		[]byte(`{"schema_version":1,"host":{"hostname":"h","scanned_at":"2026-01-01T00:00:00Z"},"accounts":[{"name":"a","kind":"service","password":{"status":"none"},"credentials":[{"type":"password","fingerprint":"hmac-sha256:AAAAAAAAAAAAAAAAAAAA"}]}]}`),
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := Decode(bytes.NewReader(in), 1<<16)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("non-validation error %T: %v", err, err)
			}
			return
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := Decode(bytes.NewReader(b), 1<<20)
		if err != nil {
			t.Fatalf("re-encoded report refused: %v", err)
		}
		b2, _ := json.Marshal(r2)
		if !bytes.Equal(b, b2) {
			t.Fatalf("round trip changed the report:\n%s\n%s", b, b2)
		}
		if !reflect.DeepEqual(inUTC(r), inUTC(r2)) {
			t.Fatalf("round trip changed the report:\n%+v\n%+v", r, r2)
		}
	})
}

// inUTC returns r with every time in UTC, so that reports decoded from
// equal documents compare equal with reflect.DeepEqual (a decoded offset
// gets a new *time.Location each time).
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func inUTC(r *Report) *Report {
	c := *r
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := t.UTC()
		return &u
	}
	c.Host.ScannedAt = c.Host.ScannedAt.UTC()
	if d := r.Host.SSHD; d != nil {
		// Empty lists of the optional sshd section are omitted in JSON.
		d2 := *d
		d2.TrustedUserCAKeys = nilIfEmpty(d2.TrustedUserCAKeys)
		d2.HostCertificates = nilIfEmpty(d2.HostCertificates)
		d2.MatchBlocks = append([]MatchBlock(nil), d2.MatchBlocks...)
		for i := range d2.MatchBlocks {
			d2.MatchBlocks[i].Sets = nilIfEmpty(d2.MatchBlocks[i].Sets)
		}
		c.Host.SSHD = &d2
	}
	c.Accounts = append([]Account(nil), r.Accounts...)
	for i := range c.Accounts {
		a := &c.Accounts[i]
		a.Password.LastChanged, a.Password.AccountExpires = utc(a.Password.LastChanged), utc(a.Password.AccountExpires)
		a.Credentials = append([]Credential(nil), a.Credentials...)
		for j := range a.Credentials {
			a.Credentials[j].ChangedAt = utc(a.Credentials[j].ChangedAt)
		}
	}
	return &c
}

// FuzzReportRoundTrip plants fuzzed strings in the fields of a valid
// report and checks that Validate and Decode agree on it, and that a
// report that validates, encoded and decoded again, is equal to itself.
func FuzzReportRoundTrip(f *testing.F) {
	f.Add("billing", "web-01", "/home/billing", "/usr/bin/app --flag", "systemd unit billing.service runs as it", "1.2.3")
	for _, s := range hostile.InjectionStrings() {
		f.Add("billing", "web-01", "/home/"+s, s, s, s)
		f.Add(s, s, "/", "x", "y", "v")
	}
	f.Fuzz(func(t *testing.T, name, host, path, command, text, short string) {
		r := validReport()
		r.Accounts[0].Name = name
		r.Host.Hostname = host
		r.Scanner.Version = short
		r.Accounts[0].Groups = []string{short}
		r.Accounts[0].Home = path
		r.Accounts[0].Credentials[0].Location = path
		r.Accounts[0].UsedBy[0].Detail = command
		r.Accounts[0].KindEvidence = []string{text}
		r.Accounts[0].SensitiveReadReasons = []string{text}
		r.Warnings = []Warning{{File: path, Message: text}}
		verr := Validate(r)
		got, derr := Decode(bytes.NewReader(encode(t, r)), 0)
		if (verr == nil) != (derr == nil) {
			t.Fatalf("Validate says %v, Decode of its encoding says %v", verr, derr)
		}
		if verr != nil {
			var ve *ValidationError
			if !errors.As(verr, &ve) || ve.Field == "" {
				t.Fatalf("error %v names no field", verr)
			}
			return
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("decoded report differs:\n got %+v\nwant %+v", got, r)
		}
		again, err := Decode(bytes.NewReader(encode(t, got)), 0)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("second round trip: %v\n got %+v\nwant %+v", err, again, got)
		}
		// Every string of a valid report is safe to print.
		for _, s := range []string{name, host, path, command, text, short} {
			if i := textout.UnsafeAt(s); i >= 0 {
				t.Fatalf("valid report holds an unsafe character at byte %d of %q", i, s)
			}
		}
	})
}

// TestValidateInjections checks each hostile string in each kind of field:
// never a host or account name, refused in free text exactly when it holds
// an unsafe character, and always accepted once cleaned.
func TestValidateInjections(t *testing.T) {
	for _, in := range hostile.Injections() {
		t.Run(in.Name, func(t *testing.T) {
			r := validReport()
			r.Host.Hostname = in.Value
			if Validate(r) == nil {
				t.Error("accepted as hostname")
			}
			r = validReport()
			r.Accounts[0].Name = in.Value
			if Validate(r) == nil {
				t.Error("accepted as account name")
			}
			r = validReport()
			r.Accounts[0].UsedBy[0].Detail = in.Value
			r.Warnings = []Warning{{File: "/etc/x", Message: in.Value}}
			err := Validate(r)
			if unsafe := textout.UnsafeAt(in.Value) >= 0; unsafe != (err != nil) {
				t.Errorf("in free text: unsafe %v, Validate %v", unsafe, err)
			}
			clean := textout.Clean(in.Value)
			r.Accounts[0].UsedBy[0].Detail, r.Warnings[0].Message = clean, clean
			if err := Validate(r); err != nil || textout.UnsafeAt(clean) >= 0 {
				t.Errorf("cleaned %q: %v", clean, err)
			}
		})
	}
}

func TestCleanText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain /usr/bin/x --flag=1", "plain /usr/bin/x --flag=1"},
		{"x\x1b[2Jy", `x\x1b[2Jy`},
		{"a\tb\nc\rd", `a\tb\nc\rd`},
		{"a\x00\x7f", `a\x00\x7f`},
		{"user\u202egnp", `user\u202egnp`},
		{"\u2066a\u2069", `\u2066a\u2069`},
		{"ro\u200bot\ufeff", `ro\u200bot\ufeff`},
		{"a\u0085b\u009b", `a\u0085b\u009b`},
		{"a\u2028b", `a\u2028b`},
		{"a\xffb", `a\xffb`},
		{"a\ufffdb", `a\ufffdb`},
		{"tag\U000e0041", `tag\U000e0041`},
		{"café ☃ 日本", "café ☃ 日本"},
	}
	for _, tc := range cases {
		if got := textout.Clean(tc.in); got != tc.want {
			t.Errorf("textout.Clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if textout.UnsafeAt(textout.Clean(tc.in)) >= 0 {
			t.Errorf("textout.Clean(%q) is not safe", tc.in)
		}
	}
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"}, {"0123456789abc", 10, "0123456..."}, {"ééééé", 8, "éé..."}, {"\x1b\x1b", 7, `\x1b...`}, {"abcdef", 2, ".."},
	} {
		if got := textout.Fit(tc.in, tc.max); got != tc.want || len(got) > tc.max {
			t.Errorf("textout.Fit(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// BenchmarkDecode reads a report of 30 accounts, the size the inventory
// benchmark ingests.
func BenchmarkDecode(b *testing.B) {
	r := validReport()
	for len(r.Accounts) < 30 {
		a := r.Accounts[0]
		a.Name = strings.Repeat("x", len(r.Accounts)+1)
		r.Accounts = append(r.Accounts, a)
	}
	in := encode(b, r)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(in), 0); err != nil {
			b.Fatal(err)
		}
	}
}

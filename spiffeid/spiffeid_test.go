package spiffeid

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gospiffe "github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rosterhq/roster/internal/hostile"
)

// realAccounts are account names that Linux distributions, their packages
// and administrators create: every one must be accepted.
var realAccounts = []string{
	"root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
	"backup", "list", "irc", "gnats", "nobody", "_apt", "systemd-network", "systemd-resolve", "systemd-timesync",
	"systemd-coredump", "systemd-journal-remote", "messagebus", "sshd", "Debian-exim", "Debian-snmp", "tss",
	"polkitd", "sssd", "chrony", "ec2-user", "wwwrun", "postgres", "mysql", "redis", "nfsnobody", "avahi-autoipd",
	"gnome-initial-setup", "libvirt-qemu", "nm-openvpn", "first.last", "svc_backup", "a", "A1", "x86_64",
	"1password", "ws01$", "FILESERVER$", strings.Repeat("a", MaxAccountLen),
}

func TestValidateAccount(t *testing.T) {
	for _, name := range realAccounts {
		if err := ValidateAccount(name); err != nil {
			t.Errorf("ValidateAccount(%q) = %v, want nil", name, err)
		}
	}
	// Every account name in the scanner's fixtures is accepted, except
	// the malformed ones it already skips.
	files, _ := filepath.Glob("../discovery/testdata/hosts/*/etc/passwd")
	more, _ := filepath.Glob("../discovery/testdata/passwd/*")
	if len(files)+len(more) < 5 {
		t.Fatal("passwd fixtures not found")
	}
	for _, f := range append(files, more...) {
		if strings.HasSuffix(f, "malformed") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			name, _, ok := strings.Cut(l, ":")
			if !ok || name == "" || name[0] == '+' || name[0] == '-' || name[0] == '#' {
				continue
			}
			if err := ValidateAccount(name); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	}

	cases := []struct{ in, want string }{
		{"", `spiffeid: account name "": empty`},
		{"a/b", `spiffeid: account name "a/b": '/' not allowed at byte 1 (use A-Z a-z 0-9 . _ -, and '$' at the end)`},
		{`a\b`, `'\' not allowed`},
		{"..", `'.' at byte 0`},
		{"a..b", `'..' not allowed at byte 1`},
		{".hidden", `may not start with '.' at byte 0`},
		{"-rf", `may not start with '-' at byte 0`},
		{"a b", "space not allowed"},
		{"billing@prod", `'@' not allowed`},
		{"a:b", `':' not allowed`},
		{"a\x00b", "U+0000 (control character) not allowed"},
		{"a\x1b[2J", "U+001B (control character) not allowed at byte 1"},
		{"user\u202egnp", `account name "user\u202egnp": U+202E (bidi control) not allowed`},
		{"ro\u200bot", "U+200B (zero-width character) not allowed at byte 2"},
		{"\ufeffroot", "U+FEFF (zero-width character) not allowed at byte 0"},
		{"r\u043eot", "U+043E (non-ASCII) not allowed at byte 1"},
		{"a\xffb", "byte 0xff (not UTF-8) not allowed at byte 1"},
		{"$", "'$' allowed only at the end at byte 0"},
		{"a$b", "'$' allowed only at the end at byte 1"},
		{"a$$", "'$' allowed only at the end at byte 1"},
		{"1000", "all digits: it would read as a UID"},
		{strings.Repeat("a", MaxAccountLen+1), "longer than 64 bytes"},
	}
	for _, tc := range cases {
		err := ValidateAccount(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateAccount(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestValidateHost(t *testing.T) {
	for _, h := range []string{"web1", "db1.example.com", "ip-10-0-0-1.ec2.internal", "app7", "WEB-01", "host_1.lan", "a",
		strings.Repeat("a", 63) + "." + strings.Repeat("b", 63), "1.2.3.4"} {
		if err := ValidateHost(h); err != nil {
			t.Errorf("ValidateHost(%q) = %v, want nil", h, err)
		}
	}
	cases := []struct{ in, want string }{
		{"", "empty"},
		{"a/b", "'/' not allowed"},
		{`a\b`, `'\' not allowed`},
		{"a..b", "'..' not allowed at byte 1"},
		{".a", "may not start with '.' at byte 0"},
		{"a.", "may not end with '.' at byte 1"},
		{"-a", "label may not start with '-' at byte 0"},
		{"a.b-", "label may not end with '-' at byte 3"},
		{"bad host", "space not allowed"},
		{"h:22", "':' not allowed"},
		{"u@h", "'@' not allowed"},
		{"web\u202e1", "U+202E (bidi control)"},
		{"web\u200d1", "U+200D (zero-width character)"},
		{strings.Repeat("a", 64), "label longer than 63 bytes at byte 0"},
		{strings.Repeat("a.", 127), "longer than 253 bytes"},
	}
	for _, tc := range cases {
		err := ValidateHost(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "spiffeid: host name ") {
			t.Errorf("ValidateHost(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestValidateTrustDomain(t *testing.T) {
	for _, td := range []string{"roster.local", "example.org", "prod_1", "a"} {
		if err := ValidateTrustDomain(td); err != nil {
			t.Errorf("ValidateTrustDomain(%q) = %v", td, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "empty"}, {"Roster.local", "'R' not allowed"}, {"a:443", "':' not allowed"}, {"u@td", "'@' not allowed"},
		{strings.Repeat("a", 256), "longer than 255 bytes"},
	} {
		if err := ValidateTrustDomain(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateTrustDomain(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

// TestInjectionsRefused checks that no hostile string passes for a name.
func TestInjectionsRefused(t *testing.T) {
	for _, in := range hostile.Injections() {
		if ValidateAccount(in.Value) == nil {
			t.Errorf("%s: accepted as an account name", in.Name)
		}
		if ValidateHost(in.Value) == nil {
			t.Errorf("%s: accepted as a host name", in.Name)
		}
		if ValidateTrustDomain(in.Value) == nil {
			t.Errorf("%s: accepted as a trust domain", in.Name)
		}
		if _, err := Parse("spiffe://roster.local/host/web1/sa/" + in.Value); err == nil {
			t.Errorf("%s: accepted in a SPIFFE ID", in.Name)
		}
	}
}

func TestNewAndString(t *testing.T) {
	cases := []struct {
		td, host, account string
		want              string
		err               string
	}{
		{td: "roster.local", host: "db1", account: "billing", want: "spiffe://roster.local/host/db1/sa/billing"},
		{td: "roster.local", host: "db1.example.com", want: "spiffe://roster.local/host/db1.example.com"},
		{td: "roster.local", host: "web1", account: "Debian-exim", want: "spiffe://roster.local/host/web1/sa/Debian-exim"},
		{td: "roster.local", host: "web1", account: "ws01$", err: "'$' not allowed in a SPIFFE ID"},
		{td: "Roster", host: "web1", err: "trust domain"},
		{td: "roster.local", host: "web 1", err: "host name"},
		{td: "roster.local", host: "web1", account: "../x", err: "account name"},
	}
	for _, tc := range cases {
		id, err := New(tc.td, tc.host, tc.account)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("New(%q, %q, %q) = %v, %v; want error %q", tc.td, tc.host, tc.account, id, err, tc.err)
			}
			continue
		}
		if err != nil || id.String() != tc.want || id.URL().String() != tc.want || id.IsHost() != (tc.account == "") {
			t.Errorf("New(%q, %q, %q) = %v (%v), %v; want %s", tc.td, tc.host, tc.account, id, id.URL(), err, tc.want)
		}
		if h := id.HostID(); !h.IsHost() || h.Host != tc.host || h.TrustDomain != tc.td {
			t.Errorf("HostID of %v = %v", id, h)
		}
	}
}

func TestParse(t *testing.T) {
	good := map[string]ID{
		"spiffe://roster.local/host/db1":                    {TrustDomain: "roster.local", Host: "db1"},
		"spiffe://roster.local/host/db1/sa/billing":         {TrustDomain: "roster.local", Host: "db1", Account: "billing"},
		"spiffe://td/host/ip-10-0-0-1.ec2.internal/sa/_apt": {TrustDomain: "td", Host: "ip-10-0-0-1.ec2.internal", Account: "_apt"},
	}
	for s, want := range good {
		id, err := Parse(s)
		if err != nil || id != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", s, id, err, want)
		}
		u, _ := url.Parse(s)
		if id2, err := ParseURL(u); err != nil || id2 != want {
			t.Errorf("ParseURL(%q) = %+v, %v", s, id2, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"https://roster.local/host/db1", "does not start with spiffe://"},
		{"SPIFFE://roster.local/host/db1", "does not start with spiffe://"},
		{"spiffe://roster.local", "no path"},
		{"spiffe://roster.local/", "path must be"},
		{"spiffe://roster.local/host/", "host name \"\": empty"},
		{"spiffe://roster.local/host/db1/", "path must be"},
		{"spiffe://roster.local/host/db1/sa/", "account name \"\": empty"},
		{"spiffe://roster.local/host/db1/sa/a/b", "path must be"},
		{"spiffe://roster.local/host/db1/sa/..", "account name"},
		{"spiffe://roster.local/host/db1/sa/a%2Fb", "'%' not allowed"},
		{"spiffe://roster.local/host/db1/sa/a?x=1", "'?' not allowed"},
		{"spiffe://roster.local/host/db1/sa/a#f", "'#' not allowed"},
		{"spiffe://roster.local:443/host/db1", "':' not allowed"},
		{"spiffe://u@roster.local/host/db1", "'@' not allowed"},
		{"spiffe://roster.local/hosts/db1", "path must be"},
		{"spiffe://roster.local/host/db1/sa/ws01$", "'$' not allowed in a SPIFFE ID"},
		{"spiffe://roster.local/host/" + strings.Repeat("a", MaxIDLen), "longer than 2048 bytes"},
	} {
		id, err := Parse(tc.in)
		var e *Error
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "spiffeid: ") {
			t.Errorf("Parse(%q) = %+v, %v; want an *Error containing %q", tc.in, id, err, tc.want)
		}
	}
	for _, s := range []string{"spiffe://roster.local/host/db1?x", "spiffe://roster.local/host/db1#f", "spiffe://u@roster.local/host/db1"} {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseURL(u); err == nil {
			t.Errorf("ParseURL(%q) accepted", s)
		}
	}
	if _, err := ParseURL(nil); err == nil {
		t.Error("ParseURL(nil) accepted")
	}
}

func TestErrorQuotesShortly(t *testing.T) {
	long := strings.Repeat("é", 200) + "/"
	err := ValidateAccount(long)
	if err == nil || len(err.Error()) > 200 || !strings.Contains(err.Error(), `..."`) && !strings.Contains(err.Error(), `"...`) {
		t.Errorf("error for a long value: %v", err)
	}
}

// FuzzParse checks that every ID Parse accepts formats back to the same
// string, parses again to the same ID, is accepted by New and ParseURL, and
// is a valid SPIFFE ID for go-spiffe; and that every failure is an *Error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"spiffe://roster.local/host/db1", "spiffe://roster.local/host/db1/sa/billing",
		"spiffe://td/host/a.b-c_d/sa/x.y_z-1", "spiffe://roster.local/host/db1/sa/ws01$", "spiffe://x/host/../sa/..",
		"spiffe://roster.local/host/db1/sa/a%2fb", "spiffe://A/host/b", "http://x/host/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "spiffeid: ") {
				t.Fatalf("Parse(%q): error %T %v is not a spiffeid *Error", s, err, err)
			}
			return
		}
		if id.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, id.String())
		}
		again, err := Parse(id.String())
		if err != nil || again != id {
			t.Fatalf("Parse(String()) = %+v, %v; want %+v", again, err, id)
		}
		if n, err := New(id.TrustDomain, id.Host, id.Account); err != nil || n != id {
			t.Fatalf("New(%+v) = %+v, %v", id, n, err)
		}
		if u, err := ParseURL(id.URL()); err != nil || u != id {
			t.Fatalf("ParseURL(%v) = %+v, %v", id.URL(), u, err)
		}
		if _, err := gospiffe.FromString(s); err != nil {
			t.Fatalf("go-spiffe refuses %q: %v", s, err)
		}
		if err := ValidateAccount(id.Account); id.Account != "" && err != nil {
			t.Fatalf("account %q of a parsed ID: %v", id.Account, err)
		}
	})
}

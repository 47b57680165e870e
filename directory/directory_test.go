package directory

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/scan"
)

func TestParseUAC(t *testing.T) {
	for _, c := range []struct {
		in    string
		want  uint32
		flags []string
		err   bool
	}{
		{"", 0, nil, false},
		{"512", 0x200, nil, false},
		{"66048", 0x10200, []string{"DONT_EXPIRE_PASSWORD"}, false},
		{"546", 0x222, []string{"ACCOUNTDISABLE", "PASSWD_NOTREQD"}, false},
		{"524800", 0x80200, []string{"TRUSTED_FOR_DELEGATION"}, false},
		{"16777728", 0x1000200, []string{"TRUSTED_TO_AUTH_FOR_DELEGATION"}, false},
		{"-2147483648", 0x80000000, nil, false},
		{"4294967296", 0, nil, true},
		{"12a", 0, nil, true},
		{"999999999999", 0, nil, true},
	} {
		got, err := parseUAC(c.in)
		if (err != nil) != c.err || got != c.want || !slices.Equal(uacFlags(got), c.flags) {
			t.Errorf("parseUAC(%q) = %#x %v %v, want %#x %v err=%v", c.in, got, uacFlags(got), err, c.want, c.flags, c.err)
		}
	}
}

func TestParseFiletime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
		ok   bool
		err  bool
	}{
		{"", time.Time{}, false, false},
		{"0", time.Time{}, false, false},
		{"9223372036854775807", time.Time{}, false, false},
		{"116444736000000000", time.Unix(0, 0).UTC(), true, false},
		{"130000000000000000", time.Date(2012, 12, 14, 23, 6, 40, 0, time.UTC), true, false},
		{"9223372036854775806", time.Date(30828, 9, 14, 2, 48, 5, 477580600, time.UTC), true, false},
		{"-1", time.Time{}, false, true},
		{"x", time.Time{}, false, true},
	} {
		got, ok, err := parseFiletime(c.in)
		if (err != nil) != c.err || ok != c.ok || !got.Equal(c.want) {
			t.Errorf("parseFiletime(%q) = %v %v %v, want %v %v err=%v", c.in, got, ok, err, c.want, c.ok, c.err)
		}
	}
}

func TestParseGeneralizedTime(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, in := range []string{"20260102030405Z", "20260102030405.0Z"} {
		if got, err := parseGeneralizedTime(in); err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "20260102030405", "20260102030405.Z", "2026Z", "20260102030405+0100"} {
		if _, err := parseGeneralizedTime(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestDomainOf(t *testing.T) {
	for in, want := range map[string]string{
		"DC=corp,DC=example":               "corp.example",
		"OU=Svc,DC=Corp,DC=Example,DC=com": "corp.example.com",
		"ou=x":                             "",
		"not a dn":                         "",
	} {
		got, err := DomainOf(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("DomainOf(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestFilterFindsManagedAccounts(t *testing.T) {
	// A person filter misses managed service accounts (subclasses of
	// computer); the filter names them and excludes other computers.
	for _, s := range []string{"(objectClass=msDS-GroupManagedServiceAccount)", "(objectClass=msDS-ManagedServiceAccount)", "(!(objectClass=computer))", "(servicePrincipalName=*)", "(!(sAMAccountName=krbtgt))"} {
		if !strings.Contains(accountFilter, s) {
			t.Errorf("filter lacks %s", s)
		}
	}
	if strings.Contains(accountFilter, "objectCategory=person") {
		t.Errorf("a person filter misses managed service accounts")
	}
}

func TestMapEntry(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ft := func(t time.Time) string {
		return itoa((t.Unix() + filetimeToUnix) * 10_000_000)
	}
	key := []byte("0123456789abcdef")
	for _, c := range []struct {
		name       string
		e          entry
		priv       []string
		privileged bool
		managed    bool
		stale      bool
		findings   []string
		noText     string
	}{
		{"spn never expires in DA", entry{"CN=svc-sql,DC=c", map[string][]string{
			"sAMAccountName": {"svc-sql"}, "objectClass": {"top", "person", "organizationalPerson", "user"},
			"servicePrincipalName": {"MSSQLSvc/db1:1433"}, "userAccountControl": {"66048"},
			"pwdLastSet": {ft(now.Add(-400 * 24 * time.Hour))}, "lastLogonTimestamp": {ft(now.Add(-24 * time.Hour))},
			"description": {"SQL svc, password: Hunter2-Secret"}}},
			[]string{"Domain Admins"}, true, false, false,
			[]string{"never expires", "description seems to hold a password"}, "Hunter2-Secret"},
		{"stale, no password required", entry{"CN=svc-old,DC=c", map[string][]string{
			"sAMAccountName": {"svc-old"}, "objectClass": {"user"}, "userAccountControl": {"544"},
			"lastLogonTimestamp": {ft(now.Add(-100 * 24 * time.Hour))}}},
			nil, false, false, true, []string{"PASSWD_NOTREQD", "no logon in 90 days", "pwdLastSet is 0"}, ""},
		{"adminCount only", entry{"CN=svc-a,DC=c", map[string][]string{
			"sAMAccountName": {"svc-a"}, "objectClass": {"user"}, "userAccountControl": {"66048"}, "adminCount": {"1"}}},
			nil, true, false, true, nil, ""},
		{"gMSA", entry{"CN=gmsa,DC=c", map[string][]string{
			"sAMAccountName": {"gmsa$"}, "objectClass": {"top", "person", "organizationalPerson", "user", "computer", "msDS-GroupManagedServiceAccount"},
			"userAccountControl": {"4096"}, "servicePrincipalName": {"HTTP/app"}}},
			nil, false, true, true, nil, ""},
		{"bad values are warnings", entry{"CN=svc-b,DC=c", map[string][]string{
			"sAMAccountName": {"svc-b"}, "objectClass": {"user"}, "userAccountControl": {"zz"}, "pwdLastSet": {"-5"}}},
			nil, false, false, true, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, _ := mapEntry(c.e, c.priv, key, now)
			if a.Privileged != c.privileged || a.Directory.Managed != c.managed || a.Directory.Stale != c.stale || a.Kind != scan.KindDirectory {
				t.Errorf("privileged %v managed %v stale %v kind %s: %+v", a.Privileged, a.Directory.Managed, a.Directory.Stale, a.Kind, a)
			}
			if c.managed != (len(a.Credentials) == 0) {
				t.Errorf("credentials %+v", a.Credentials)
			}
			var fs string
			for _, cr := range a.Credentials {
				fs += strings.Join(cr.Findings, "; ")
			}
			for _, f := range c.findings {
				if !strings.Contains(fs, f) {
					t.Errorf("findings %q lack %q", fs, f)
				}
			}
			rep := &scan.Report{SchemaVersion: scan.SchemaVersion, Host: scan.Host{Hostname: "corp.example", ScannedAt: now}, Accounts: []scan.Account{a}}
			if err := scan.Validate(rep); err != nil {
				t.Errorf("invalid: %v", err)
			}
			if c.noText != "" && strings.Contains(strings.ToLower(sprint(a)), strings.ToLower(c.noText)) {
				t.Errorf("description's password copied: %+v", a)
			}
		})
	}
}

func TestVersionFingerprint(t *testing.T) {
	k := []byte("0123456789abcdef")
	a, b := versionFingerprint(k, "CN=x", "1"), versionFingerprint(k, "CN=x", "2")
	if a == b || !strings.HasPrefix(a, scan.FingerprintPrefix) {
		t.Errorf("%s %s", a, b)
	}
}

func FuzzDirectoryValues(f *testing.F) {
	for _, s := range []string{"0", "66048", "130000000000000000", "9223372036854775807", "-1", "20260102030405.0Z", "", "{SSHA}Fuzz-Secret", "15706", "/usr/sbin/nologin", "uid=x,ou=Services,dc=e#'01'B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, err := parseUAC(s); err == nil {
			_ = uacFlags(u)
		}
		if tm, ok, err := parseFiletime(s); err == nil && ok && tm.Before(filetimeEpoch) {
			t.Fatalf("%q: %v before 1601", s, tm)
		}
		_, _ = parseGeneralizedTime(s)
		_, _ = DomainOf(s)
		e := entry{DN: "CN=x", Attrs: map[string][]string{"sAMAccountName": {"svc"}, "userAccountControl": {s}, "pwdLastSet": {s}, "lastLogonTimestamp": {s}, "description": {s}}}
		a, _ := mapEntry(e, nil, []byte("0123456789abcdef"), time.Now())
		if a.Name != "svc" {
			t.Fatal(a.Name)
		}
		// Plain LDAP's values: a scheme is all a userPassword leaves.
		if sch := passwordScheme([]byte(s)); sch != SchemeCleartext && (len(s) < len(sch) || strings.ToUpper(s[:len(sch)]) != sch || len(sch) > 34) {
			t.Fatalf("passwordScheme(%q) = %q", s, sch)
		}
		_, _, _ = parseShadowDays(s)
		_ = normDN(stripUID(s))
		_ = serviceOU(s)
		pe := entry{DN: "uid=svc,ou=services,dc=e", Attrs: map[string][]string{"uid": {"svc"}, "objectClass": {"account", s}, "userPassword": {passwordScheme([]byte(s))},
			"pwdChangedTime": {s}, "shadowLastChange": {s}, "shadowMax": {s}, "pwdLastSuccess": {s}, "uidNumber": {s}, "loginShell": {s}, "description": {s}}}
		pa, _ := mapPlain(pe, plainMarkers(pe), nil, []byte("0123456789abcdef"), time.Now())
		if pa.Name != "svc" || strings.Contains(sprint(pa.Credentials), "Fuzz-Secret") {
			t.Fatal(pa.Name)
		}
	})
}

package directory

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/scan"
)

func TestSchemaOf(t *testing.T) {
	for _, c := range []struct {
		desc  string
		attrs map[string][]string
		want  string
	}{
		{"AD capability", map[string][]string{"supportedCapabilities": {"1.2.840.113556.1.4.1670", capActiveDirectory}}, SchemaAD},
		{"forest level only", map[string][]string{"forestFunctionality": {"7"}}, SchemaAD},
		{"attribute case from the server", map[string][]string{"supportedcapabilities": {capActiveDirectory}}, SchemaAD},
		{"OpenLDAP", map[string][]string{"objectClass": {"top", "OpenLDAProotDSE"}}, SchemaRFC2307},
		{"empty", nil, SchemaRFC2307},
	} {
		if got := schemaOf(entry{Attrs: c.attrs}); got != c.want {
			t.Errorf("%s: %s, want %s", c.desc, got, c.want)
		}
	}
}

func TestPasswordScheme(t *testing.T) {
	for in, want := range map[string]string{
		"{SSHA}abcdefgh":                    "{SSHA}",
		"{crypt}$6$salt$hash":               "{CRYPT}",
		"{PBKDF2-SHA512}10000$x$y":          "{PBKDF2-SHA512}",
		"Hunter2":                           SchemeCleartext,
		"{}x":                               SchemeCleartext,
		"{no space}x":                       SchemeCleartext,
		"{" + strings.Repeat("A", 40) + "}": SchemeCleartext,
		"":                                  SchemeCleartext,
	} {
		if got := passwordScheme([]byte(in)); got != want {
			t.Errorf("passwordScheme(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseShadowDays(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
		ok   bool
		err  bool
	}{
		{"0", time.Time{}, false, false},
		{"1", time.Unix(86400, 0).UTC(), true, false},
		{"15706", time.Date(2013, 1, 1, 0, 0, 0, 0, time.UTC), true, false},
		{"-1", time.Time{}, false, true},
		{"1234567890", time.Time{}, false, true},
		{"x", time.Time{}, false, true},
	} {
		got, ok, err := parseShadowDays(c.in)
		if (err != nil) != c.err || ok != c.ok || !got.Equal(c.want) {
			t.Errorf("parseShadowDays(%q) = %v %v %v", c.in, got, ok, err)
		}
	}
}

func TestNormDN(t *testing.T) {
	if a, b := normDN("CN=Tier0, OU=Groups,DC=Plain,DC=example"), normDN("cn=tier0,ou=groups,dc=plain,dc=example"); a != b {
		t.Errorf("%q != %q", a, b)
	}
	if got := normDN(stripUID("uid=x,dc=e#'0101'B")); got != "uid=x,dc=e" {
		t.Errorf("uniqueMember with its optional UID: %q", got)
	}
}

func TestWalkGroups(t *testing.T) {
	g := func(dn string, members []string, uids ...string) *group {
		e := entry{DN: dn, Attrs: map[string][]string{"cn": {strings.TrimPrefix(strings.Split(dn, ",")[0], "cn=")}, "member": members, "memberUid": uids}}
		return toGroup(e)
	}
	groups := []*group{
		g("cn=admins,dc=e", []string{"cn=tier0,dc=e", "uid=direct,dc=e"}),
		g("cn=tier0,dc=e", []string{"cn=ops,dc=e"}),
		g("cn=ops,dc=e", []string{"cn=tier0,dc=e", "uid=nested,dc=e"}), // a cycle: ops <-> tier0
		g("cn=sudo,dc=e", nil, "posixsvc"),
		g("cn=deep1,dc=e", []string{"cn=deep2,dc=e"}),
		g("cn=deep2,dc=e", []string{"cn=deep3,dc=e"}),
		g("cn=deep3,dc=e", []string{"uid=deepest,dc=e"}),
		g("cn=wheel,dc=e", []string{"cn=deep1,dc=e"}),
	}
	m := walkGroups(groups, []string{"Admins", "sudo", "wheel"}, 2, 100)
	for _, c := range []struct {
		dn, want string
	}{
		{"uid=direct,dc=e", "member of admins"},
		{"uid=nested,dc=e", "member of admins (through tier0, ops)"},
	} {
		if got := m.byDN[c.dn]; !slices.Equal(got, []string{c.want}) {
			t.Errorf("%s: %q, want %q", c.dn, got, c.want)
		}
	}
	if got := m.byUID["posixsvc"]; !slices.Equal(got, []string{"member of sudo (memberUid)"}) {
		t.Errorf("memberUid: %q", got)
	}
	if _, ok := m.byDN["uid=deepest,dc=e"]; ok || len(m.warn) != 1 || !strings.Contains(m.warn[0], "depth 2") {
		t.Errorf("depth limit: %q %q", m.byDN["uid=deepest,dc=e"], m.warn)
	}
	// The visit limit ends the walk with a warning.
	m = walkGroups(groups, []string{"admins"}, 16, 2)
	if _, ok := m.byDN["uid=nested,dc=e"]; ok || len(m.warn) != 1 || !strings.Contains(m.warn[0], "2 group visits") {
		t.Errorf("visit limit: %v %q", m.byDN, m.warn)
	}
}

func TestPlainMarkers(t *testing.T) {
	for _, c := range []struct {
		desc string
		e    entry
		want []string
	}{
		{"service OU", entry{"uid=app,ou=Services,dc=e", map[string][]string{"uid": {"app"}, "objectClass": {"inetOrgPerson"}, "loginShell": {"/bin/bash"}}}, []string{"under ou=Services"}},
		{"account class", entry{"uid=backup,ou=people,dc=e", map[string][]string{"uid": {"backup"}, "objectClass": {"account", "posixAccount"}, "loginShell": {"/bin/sh"}}}, []string{"objectClass account without person"}},
		{"nologin", entry{"uid=d,ou=people,dc=e", map[string][]string{"uid": {"d"}, "objectClass": {"inetOrgPerson", "posixAccount"}, "loginShell": {"/usr/sbin/nologin"}}}, []string{"loginShell /usr/sbin/nologin: no interactive login"}},
		{"name", entry{"uid=svc-x,ou=people,dc=e", map[string][]string{"uid": {"svc-x"}, "objectClass": {"inetOrgPerson"}}}, []string{"name starts with svc-"}},
		{"a person", entry{"uid=alice,ou=people,dc=e", map[string][]string{"uid": {"alice"}, "objectClass": {"inetOrgPerson", "posixAccount"}, "loginShell": {"/bin/bash"}}}, nil},
		{"a group in a service OU", entry{"cn=g,ou=services,dc=e", map[string][]string{"cn": {"g"}, "objectClass": {"groupOfNames"}}}, nil},
		{"the OU itself is no marker", entry{"ou=services,dc=e", map[string][]string{"ou": {"services"}, "objectClass": {"organizationalUnit"}}}, nil},
	} {
		if got := plainMarkers(c.e); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.desc, got, c.want)
		}
	}
}

func TestMapPlain(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	key := []byte("0123456789abcdef")
	for _, c := range []struct {
		desc     string
		attrs    map[string][]string
		priv     []string
		alg      string
		stale    bool
		findings []string
		flags    []string
	}{
		{"old hashed password, nested admin, hint", map[string][]string{"uid": {"svc-backup"}, "objectClass": {"account", "posixAccount"},
			"userPassword": {"{SSHA}"}, "pwdChangedTime": {"20160101000000Z"}, "description": {"nightly backup, pwd: Backup-Hint-77"},
			"loginShell": {"/usr/sbin/nologin"}, "uidNumber": {"1500"}},
			[]string{"member of admins (through tier0)"}, "{SSHA}", false,
			[]string{"password unchanged for", "description seems to hold a password"}, nil},
		{"clear text, never changed, stale, locked", map[string][]string{"uid": {"svc-old"}, "objectClass": {"inetOrgPerson"},
			"userPassword": {SchemeCleartext}, "pwdLastSuccess": {"20200101000000Z"}, "pwdAccountLockedTime": {"000001010000Z"}, "shadowMax": {"99999"}},
			nil, SchemeCleartext, true,
			[]string{"clear text", "no password change recorded", "no successful bind in 90 days", "locked", "never expires"}, []string{"LOCKED"}},
		{"uid 0, shadow must change", map[string][]string{"uid": {"svc-root"}, "objectClass": {"account", "posixAccount"}, "uidNumber": {"0"}, "shadowLastChange": {"0"}},
			nil, "", false, []string{"must be changed at next login"}, nil},
		{"bad values are warnings", map[string][]string{"uid": {"svc-b"}, "objectClass": {"account"}, "pwdChangedTime": {"junk"}, "uidNumber": {"x"}, "pwdLastSuccess": {"1"}},
			nil, "", false, []string{"no password change recorded"}, nil},
	} {
		t.Run(c.desc, func(t *testing.T) {
			e := entry{DN: "uid=" + c.attrs["uid"][0] + ",ou=services,dc=e", Attrs: c.attrs}
			a, _ := mapPlain(e, plainMarkers(e), c.priv, key, now)
			if a.Kind != scan.KindDirectory || a.Name != c.attrs["uid"][0] || a.Password.Algorithm != c.alg || a.Directory.Stale != c.stale ||
				!slices.Equal(a.Directory.Flags, c.flags) || a.Privileged != (len(c.priv) > 0 || slices.Equal(c.attrs["uidNumber"], []string{"0"})) {
				t.Errorf("%+v %+v", a, a.Directory)
			}
			fs := strings.Join(a.Credentials[0].Findings, "; ")
			for _, f := range c.findings {
				if !strings.Contains(fs, f) {
					t.Errorf("findings %q lack %q", fs, f)
				}
			}
			if strings.Contains(sprint(a), "Backup-Hint-77") {
				t.Errorf("the description's password copied")
			}
			rep := &scan.Report{SchemaVersion: scan.SchemaVersion, Host: scan.Host{Hostname: "e", ScannedAt: now}, Accounts: []scan.Account{a}}
			if err := scan.Validate(rep); err != nil {
				t.Errorf("invalid: %v", err)
			}
		})
	}
}

func TestCollect(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	acct := func(name string) scan.Account {
		return scan.Account{Name: name, Kind: scan.KindDirectory, Password: scan.Password{Status: scan.PasswordUnknown}}
	}
	rep := &scan.Report{SchemaVersion: scan.SchemaVersion, Host: scan.Host{Hostname: "plain.example", ScannedAt: now}}
	collect(rep, []found{
		{dn: "dc=e", warn: []string{"group walk stopped"}},
		{dn: "uid=svc-a,ou=services,dc=e", acct: acct("svc-a")},
		{dn: "uid=svc-a,ou=apps,dc=e", acct: acct("svc-a")},
		{dn: "cn=Directory Manager,dc=e", acct: acct("Directory Manager")},
		{dn: "uid=x\x1b[2J,dc=e", acct: acct("svc-b"), warn: []string{"bad \x1b value"}},
	})
	if len(rep.Accounts) != 2 || rep.Accounts[0].Name != "svc-a" || rep.Accounts[1].Name != "svc-b" {
		t.Errorf("accounts %+v", rep.Accounts)
	}
	var ws []string
	for _, w := range rep.Warnings {
		ws = append(ws, w.File+": "+w.Message)
	}
	all := strings.Join(ws, "\n")
	for _, want := range []string{"ldap:dc=e: group walk stopped", "the name svc-a is also uid=svc-a,ou=services,dc=e", `account name "Directory Manager" is not usable`} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	if len(ws) != 4 {
		t.Errorf("%d warnings:\n%s", len(ws), all)
	}
	if err := scan.Validate(rep); err != nil {
		t.Errorf("invalid: %v", err)
	}
}

func TestGroupNames(t *testing.T) {
	got := groupNames(PlainPrivilegedGroups, []string{"WHEEL", " dba-admins ", "", "dba-admins"})
	if want := []string{"admins", "wheel", "sudo", "ldapadmins", "dba-admins"}; !slices.Equal(got, want) {
		t.Errorf("%q, want %q", got, want)
	}
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	slapdSuffix   = "dc=plain,dc=example"
	slapdBindDN   = "cn=roster-scanner,ou=dsa," + slapdSuffix
	slapdBindPass = "Scanner-Bind-Pass-2026-Qw9!"
)

// slapdLDIF is the test directory: service accounts marked by their OU,
// class, shell and name; people who are not service accounts; nested
// groups with a cycle (tier0 <-> backup-ops) under admins, a posixGroup
// sudo, and a group made privileged only by --privileged-group.
// Operational attributes (pwdChangedTime, pwdLastSuccess) are planted
// because slapadd loads them as given.
func slapdLDIF(hashes map[string]string) string {
	s := slapdSuffix
	entries := []string{
		"dn: " + s + "\nobjectClass: dcObject\nobjectClass: organization\ndc: plain\no: Plain Example",
		"dn: ou=people," + s + "\nobjectClass: organizationalUnit\nou: people",
		"dn: ou=services," + s + "\nobjectClass: organizationalUnit\nou: services",
		"dn: ou=groups," + s + "\nobjectClass: organizationalUnit\nou: groups",
		"dn: ou=dsa," + s + "\nobjectClass: organizationalUnit\nou: dsa",
		"dn: " + slapdBindDN + "\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: roster-scanner\nuserPassword: " + hashes["scanner"],
		// Under ou=services; an old password, hinted in the description;
		// privileged through admins > tier0 > backup-ops.
		"dn: uid=svc-backup,ou=services," + s + "\nobjectClass: account\nobjectClass: posixAccount\nuid: svc-backup\ncn: svc-backup\n" +
			"uidNumber: 2001\ngidNumber: 2001\nhomeDirectory: /var/backups\nloginShell: /usr/sbin/nologin\nuserPassword: " + hashes["backup"] +
			"\npwdChangedTime: 20160301000000Z\ndescription: nightly backup job, password: Svc-Backup-Pass-2026",
		// Under ou=services; its password in clear text, never changed,
		// last bind in 2020.
		"dn: uid=svc-web,ou=services," + s + "\nobjectClass: inetOrgPerson\nuid: svc-web\ncn: svc-web\nsn: web\n" +
			"userPassword: Svc-Web-Clear-2026\npwdLastSuccess: 20200101000000Z",
		// In ou=people, but an account (not a person) with /bin/false; in
		// the posixGroup sudo by memberUid.
		"dn: uid=daemon-sync,ou=people," + s + "\nobjectClass: account\nobjectClass: posixAccount\nobjectClass: shadowAccount\nuid: daemon-sync\ncn: daemon-sync\n" +
			"uidNumber: 2003\ngidNumber: 2003\nhomeDirectory: /\nloginShell: /bin/false\nshadowLastChange: 15706\nshadowMax: 99999",
		// A person's classes, but no login: found by its shell alone.
		"dn: uid=indexer,ou=people," + s + "\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: indexer\ncn: indexer\nsn: indexer\n" +
			"uidNumber: 2006\ngidNumber: 2006\nhomeDirectory: /var/lib/indexer\nloginShell: /usr/sbin/nologin",
		// An application's bind entry outside any service OU.
		"dn: cn=mailer," + s + "\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: mailer\nuserPassword: " + hashes["mailer"],
		// A person's entry named like a service; privileged only with
		// --privileged-group dba-admins.
		"dn: uid=svc-report,ou=people," + s + "\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: svc-report\ncn: svc-report\nsn: report\n" +
			"uidNumber: 2005\ngidNumber: 2005\nhomeDirectory: /home/svc-report\nloginShell: /bin/bash",
		// People: not service accounts, even in admins.
		"dn: uid=alice,ou=people," + s + "\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: alice\ncn: Alice\nsn: A\n" +
			"uidNumber: 3001\ngidNumber: 3001\nhomeDirectory: /home/alice\nloginShell: /bin/bash\nuserPassword: " + hashes["alice"],
		"dn: uid=bob,ou=people," + s + "\nobjectClass: inetOrgPerson\nuid: bob\ncn: Bob\nsn: B",
		"dn: cn=admins,ou=groups," + s + "\nobjectClass: groupOfNames\ncn: admins\nmember: uid=alice,ou=people," + s + "\nmember: cn=tier0,ou=groups," + s,
		"dn: cn=tier0,ou=groups," + s + "\nobjectClass: groupOfUniqueNames\ncn: tier0\nuniqueMember: cn=backup-ops,ou=groups," + s + "#'0'B",
		"dn: cn=backup-ops,ou=groups," + s + "\nobjectClass: groupOfNames\ncn: backup-ops\nmember: uid=svc-backup,ou=services," + s + "\nmember: cn=tier0,ou=groups," + s,
		"dn: cn=sudo,ou=groups," + s + "\nobjectClass: posixGroup\ncn: sudo\ngidNumber: 27\nmemberUid: daemon-sync",
		"dn: cn=dba-admins,ou=groups," + s + "\nobjectClass: groupOfNames\ncn: dba-admins\nmember: uid=svc-report,ou=people," + s,
		"dn: cn=web-readers,ou=groups," + s + "\nobjectClass: groupOfNames\ncn: web-readers\nmember: uid=svc-web,ou=services," + s,
	}
	return strings.Join(entries, "\n\n") + "\n"
}

// slapdACL lets the scanner read password hashes (so that their schemes
// show) and everyone else read the rest.
const slapdACL = "access to attrs=userPassword by dn.exact=\"" + slapdBindDN + "\" read by anonymous auth by * none\naccess to * by * read"

// TestSlapdScan scans a real OpenLDAP slapd with the real binaries: the
// schema found from the root DSE, every planted service account with its
// marker and privilege reason (nested groups with a cycle, memberUid,
// --privileged-group), password ages and findings, LDAPS and StartTLS
// verified against --ldap-ca, and --submit: kind directory, the directory
// block in roster account show, privileged members in tier 1. No
// password, and no hash, appears in any output.
func TestSlapdScan(t *testing.T) {
	hashes := map[string]string{"scanner": sshaPassword(slapdBindPass), "backup": sshaPassword("Svc-Backup-Pass-2026"),
		"mailer": sshaPassword("Mailer-Pass-2026"), "alice": sshaPassword("Alice-Pass-2026")}
	ld := startSlapd(t, slapdSuffix, slapdLDIF(hashes), slapdACL)
	rig := newLDAPRig(t, slapdSuffix, slapdBindDN, slapdBindPass)
	s, admin, tmp, ldapArgs := rig.s, rig.admin, rig.tmp, rig.args
	var outputs []string
	secrets := []string{slapdBindPass, "Svc-Backup-Pass-2026", "Svc-Web-Clear-2026", "Mailer-Pass-2026", "Alice-Pass-2026"}
	for _, h := range hashes {
		secrets = append(secrets, strings.TrimPrefix(h, "{SSHA}"))
	}
	cli := func(args ...string) (string, string, int) {
		t.Helper()
		out, errOut, code := s.cli(admin, args...)
		outputs = append(outputs, out, errOut)
		return out, errOut, code
	}

	out, errOut, code := cli(ldapArgs(ld.ldaps, "--ldap-ca", ld.ca, "--privileged-group", "dba-admins", "--format", "json")...)
	if code != 0 {
		t.Fatalf("scan --ldap: exit %d\n%s%s", code, out, errOut)
	}
	var rep struct {
		Host     struct{ Hostname string }
		Accounts []struct {
			Name             string
			Kind             string
			KindEvidence     []string `json:"kind_evidence"`
			Privileged       bool
			PrivilegeReasons []string `json:"privilege_reasons"`
			Password         struct {
				Status    string
				Algorithm string
				AgeDays   *int `json:"age_days"`
			}
			Credentials []struct{ Findings []string }
			Directory   struct {
				DN          string
				ObjectClass string `json:"object_class"`
				Stale       bool
			}
		}
		Warnings []struct{ Message string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if rep.Host.Hostname != "plain.example" {
		t.Errorf("host %q, want plain.example", rep.Host.Hostname)
	}
	type want struct {
		marker, priv string // substrings of kind evidence and privilege reasons ("" for none)
		alg          string
		findings     []string
		stale        bool
	}
	wants := map[string]want{
		"svc-backup":     {"under ou=services", "member of admins (through tier0, backup-ops)", "{SSHA}", []string{"password unchanged for", "description seems to hold a password"}, false},
		"svc-web":        {"under ou=services", "", "cleartext", []string{"clear text", "no password change recorded", "no successful bind in 90 days"}, true},
		"daemon-sync":    {"objectClass account without person", "member of sudo (memberUid)", "", []string{"password unchanged for", "never expires"}, false},
		"mailer":         {"objectClass applicationProcess without person", "", "{SSHA}", []string{"no password change recorded"}, false},
		"svc-report":     {"name starts with svc-", "member of dba-admins", "", nil, false},
		"indexer":        {"loginShell /usr/sbin/nologin: no interactive login", "", "", []string{"userPassword not visible"}, false},
		"roster-scanner": {"under ou=dsa", "", "{SSHA}", nil, false},
	}
	got := map[string]bool{}
	for _, a := range rep.Accounts {
		got[a.Name] = true
		w, ok := wants[a.Name]
		if !ok {
			t.Errorf("%s reported, but it is not a service account: %+v", a.Name, a)
			continue
		}
		var findings string
		for _, c := range a.Credentials {
			findings += strings.Join(c.Findings, "; ")
		}
		if a.Kind != "directory" || !strings.Contains(strings.Join(a.KindEvidence, "; "), w.marker) ||
			a.Privileged != (w.priv != "") || !strings.Contains(strings.Join(a.PrivilegeReasons, "; "), w.priv) ||
			a.Password.Algorithm != w.alg || a.Directory.Stale != w.stale || !strings.HasSuffix(a.Directory.DN, slapdSuffix) {
			t.Errorf("%s: %+v", a.Name, a)
		}
		for _, f := range w.findings {
			if !strings.Contains(findings, f) {
				t.Errorf("%s: findings %q lack %q", a.Name, findings, f)
			}
		}
	}
	for name := range wants {
		if !got[name] {
			t.Errorf("%s not found in\n%s", name, out)
		}
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings: %+v", rep.Warnings)
	}

	// StartTLS on ldap://, verified; the table; --ldap-schema rfc2307 as
	// auto found it. Without --privileged-group, svc-report is not
	// privileged.
	out, errOut, code = cli(ldapArgs(ld.ldap, "--ldap-ca", ld.ca, "--ldap-schema", "rfc2307", "--format", "json")...)
	if code != 0 || !strings.Contains(out, "svc-backup") || !strings.Contains(out, `"under ou=services"`) {
		t.Fatalf("StartTLS: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "dba-admins") {
		t.Errorf("dba-admins counted without --privileged-group")
	}
	out, errOut, code = cli(ldapArgs(ld.ldaps, "--ldap-ca", ld.ca)...)
	if code != 0 || !strings.Contains(out, "svc-backup") || !strings.Contains(out, "directory") {
		t.Errorf("table: exit %d\n%s%s", code, out, errOut)
	}
	// The report written to a file.
	repFile := filepath.Join(tmp, "report.json")
	out, errOut, code = cli(ldapArgs(ld.ldaps, "--ldap-ca", ld.ca, "--format", "json", "--output", repFile)...)
	written, err := os.ReadFile(repFile)
	if code != 0 || err != nil || !strings.Contains(string(written), `"svc-backup"`) {
		t.Errorf("--output: exit %d %v\n%s%s", code, err, out, errOut)
	}
	outputs = append(outputs, string(written))
	// A CA that did not sign slapd's certificate, or none (system roots).
	wrongCA, _, _ := writeTLS(t, filepath.Join(tmp, "wrong"))
	for _, args := range [][]string{ldapArgs(ld.ldaps, "--ldap-ca", wrongCA), ldapArgs(ld.ldaps), ldapArgs(ld.ldap, "--ldap-ca", wrongCA)} {
		out, errOut, code = cli(args...)
		if code == 0 || !strings.Contains(errOut, "certificate") {
			t.Errorf("%v: exit %d, want a certificate refusal\n%s%s", args, code, out, errOut)
		}
	}
	// A wrong bind password: refused, not quoted.
	bad := filepath.Join(tmp, "bad.pw")
	_ = os.WriteFile(bad, []byte("Wrong-Slapd-Pass-1!\n"), 0o600)
	out, errOut, code = cli("scan", "--ldap", ld.ldaps, "--ldap-ca", ld.ca, "--base", slapdSuffix, "--bind-dn", slapdBindDN, "--bind-password-file", bad)
	if code == 0 || strings.Contains(out+errOut, "Wrong-Slapd-Pass") || !strings.Contains(errOut, "bind") {
		t.Errorf("wrong password: exit %d\n%s%s", code, out, errOut)
	}

	// --submit: kind directory, the directory block, tier 1 for the
	// privileged members.
	out, errOut, code = cli(ldapArgs(ld.ldaps, "--ldap-ca", ld.ca, "--privileged-group", "dba-admins", "--submit")...)
	if code != 0 {
		t.Fatalf("submit: exit %d\n%s%s", code, out, errOut)
	}
	list := s.mustCLI(admin, "accounts", "list", "--host", "plain.example", "--format", "json")
	outputs = append(outputs, list)
	var accts []struct {
		Name      string
		Tier      int
		Directory bool
	}
	if err := json.Unmarshal([]byte(list), &accts); err != nil {
		t.Fatalf("accounts list: %v\n%s", err, list)
	}
	tiers := map[string]int{}
	for _, a := range accts {
		tiers[a.Name] = a.Tier
		if !a.Directory {
			t.Errorf("%s: not of kind directory in the list", a.Name)
		}
	}
	for name, w := range wants {
		if tier := tiers[name]; (w.priv != "") != (tier == 1) {
			t.Errorf("%s: tier %d (privileged: %v)\n%s", name, tier, w.priv != "", list)
		}
	}
	show := s.mustCLI(admin, "accounts", "show", "svc-backup")
	outputs = append(outputs, show)
	for _, want := range []string{"kind:     directory (found by scans)", "directory entry on plain.example", "uid=svc-backup,ou=services," + slapdSuffix,
		"class:", "account", "password:", "{SSHA}", "tier:     1"} {
		if !strings.Contains(show, want) {
			t.Errorf("account show lacks %q:\n%s", want, show)
		}
	}
	showJSON := s.mustCLI(admin, "accounts", "show", "svc-web", "--format", "json")
	outputs = append(outputs, showJSON)
	var acct struct {
		Directory        bool
		DirectoryEntries []struct {
			Domain, DN     string
			Stale          bool
			PasswordScheme string `json:"password_scheme"`
		} `json:"directory_entries"`
	}
	if err := json.Unmarshal([]byte(showJSON), &acct); err != nil || !acct.Directory || len(acct.DirectoryEntries) != 1 ||
		acct.DirectoryEntries[0].Domain != "plain.example" || !acct.DirectoryEntries[0].Stale || acct.DirectoryEntries[0].PasswordScheme != "cleartext" {
		t.Errorf("account show --format json: %v %+v\n%s", err, acct, showJSON)
	}
	// An operator's kind wins; auto returns the account to directory.
	s.mustCLI(admin, "account", "kind", "svc-web", "service")
	if show := s.mustCLI(admin, "accounts", "show", "svc-web"); !strings.Contains(show, "kind:     service (set by an operator)") {
		t.Errorf("after kind service:\n%s", show)
	}
	s.mustCLI(admin, "account", "kind", "svc-web", "auto")
	if show := s.mustCLI(admin, "accounts", "show", "svc-web"); !strings.Contains(show, "kind:     directory (found by scans)") {
		t.Errorf("after kind auto:\n%s", show)
	}

	outputs = append(outputs, s.out.String()) // the server's log
	for _, o := range outputs {
		for _, secret := range secrets {
			if strings.Contains(o, secret) {
				t.Fatalf("a password or hash (%.6s...) appears in an output:\n%s", secret, o)
			}
		}
	}
}

package directory

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/scan"
)

// ServiceOUs are the organizational unit names (case-insensitive) whose
// account entries are service accounts in plain LDAP, wherever they sit
// under the base.
var ServiceOUs = []string{"services", "service accounts", "serviceaccounts", "service-accounts", "svc",
	"applications", "apps", "robots", "dsa", "system"}

// accountClasses are the object classes of entries that can bind or own
// files: what plain LDAP calls an account.
const accountClasses = "(objectClass=posixAccount)(objectClass=account)(objectClass=inetOrgPerson)" +
	"(objectClass=person)(objectClass=applicationProcess)(objectClass=simpleSecurityObject)"

// plainFilter selects, anywhere under the base, the accounts marked as
// services by their class or shell or name ([plainMarkers] says which).
// RFC 2307 gives loginShell no substring matching rule (OpenLDAP's
// nis.schema neither), so the usual no-login shells are named one by one;
// the substring terms serve directories that have the rule.
const plainFilter = "(&(|" + accountClasses + ")(|" +
	"(&(objectClass=account)(!(objectClass=person)))" +
	"(&(objectClass=applicationProcess)(!(objectClass=person)))" +
	"(&(objectClass=simpleSecurityObject)(!(objectClass=person)))" +
	"(loginShell=/usr/sbin/nologin)(loginShell=/sbin/nologin)(loginShell=/usr/bin/nologin)(loginShell=/bin/nologin)" +
	"(loginShell=/bin/false)(loginShell=/usr/bin/false)(loginShell=*/nologin)(loginShell=*/false)" +
	"(uid=svc-*)(uid=svc_*)(cn=svc-*)(cn=svc_*)))"

// plainAttributes are those requested for every plain LDAP account; the
// operational ones (ppolicy's pwd*, structuralObjectClass) only come when
// named.
var plainAttributes = []string{"uid", "cn", "objectClass", "structuralObjectClass", "description", "loginShell",
	"uidNumber", "gidNumber", "homeDirectory", "userPassword", "pwdChangedTime", "shadowLastChange", "shadowMax",
	"pwdLastSuccess", "authTimestamp", "pwdAccountLockedTime", "pwdReset"}

// scanPlain finds plain LDAP's service accounts: one search of
// [plainFilter], one for the service OUs and one per OU found, then the
// groups, walked from the privileged ones ([walkGroups]).
func (c *conn) scanPlain() ([]found, error) {
	entries, err := c.search(c.o.Base, plainFilter, plainAttributes)
	if err != nil {
		return nil, err
	}
	var ouf strings.Builder
	for _, ou := range ServiceOUs {
		ouf.WriteString("(ou=" + ldap.EscapeFilter(ou) + ")")
	}
	ous, err := c.search(c.o.Base, "(&(objectClass=organizationalUnit)(|"+ouf.String()+"))", []string{"ou"})
	if err != nil {
		return nil, err
	}
	const maxOUs = 1000
	if len(ous) > maxOUs {
		return nil, fmt.Errorf("search %s: %d service OUs, more than %d", c.o.Base, len(ous), maxOUs)
	}
	for _, ou := range ous {
		es, err := c.search(ou.DN, "(|"+accountClasses+")", plainAttributes)
		if err != nil {
			return nil, err
		}
		entries = append(entries, es...)
		if len(entries) > 2*c.o.MaxEntries {
			return nil, fmt.Errorf("search %s: more than %d account entries in all", c.o.Base, 2*c.o.MaxEntries)
		}
	}
	ge, err := c.search(c.o.Base, groupFilter, groupAttributes)
	if err != nil {
		return nil, err
	}
	groups := make([]*group, len(ge))
	for i, e := range ge {
		groups[i] = toGroup(e)
	}
	m := walkGroups(groups, groupNames(PlainPrivilegedGroups, c.o.PrivilegedGroups), c.o.MaxGroupDepth, c.o.MaxGroupVisits)
	var out []found
	done := map[string]bool{}
	for _, w := range m.warn {
		out = append(out, found{dn: c.o.Base, warn: []string{w}})
	}
	for _, e := range entries {
		k := normDN(e.DN)
		if done[k] {
			continue // found by its marker and under a service OU
		}
		done[k] = true
		markers := plainMarkers(e)
		if len(markers) == 0 {
			continue
		}
		priv := append(slices.Clone(m.byDN[k]), m.byUID[e.first("uid")]...)
		a, warns := mapPlain(e, markers, priv, c.o.FingerprintKey, c.o.Now)
		out = append(out, found{dn: e.DN, acct: a, warn: warns})
	}
	return out, nil
}

// plainMarkers says why a plain LDAP entry is a service account; none
// for an entry that is not one (a person elsewhere than in a service OU,
// with a login shell and an ordinary name).
func plainMarkers(e entry) []string {
	var out []string
	classes := e.all("objectClass")
	has := func(c string) bool {
		return slices.ContainsFunc(classes, func(x string) bool { return strings.EqualFold(x, c) })
	}
	if ou := serviceOU(e.DN); ou != "" {
		out = append(out, "under ou="+ou)
	}
	person := has("person") || has("inetOrgPerson") || has("organizationalPerson")
	for _, c := range []string{"account", "applicationProcess", "simpleSecurityObject"} {
		if has(c) && !person {
			out = append(out, "objectClass "+c+" without person")
			break
		}
	}
	if sh := e.first("loginShell"); sh != "" && !loginShell(sh) {
		out = append(out, "loginShell "+sh+": no interactive login")
	}
	name := plainName(e)
	for _, p := range []string{"svc-", "svc_"} {
		if strings.HasPrefix(strings.ToLower(name), p) {
			out = append(out, "name starts with "+p)
		}
	}
	if len(out) > 0 && !slices.ContainsFunc([]string{"posixAccount", "account", "inetOrgPerson", "person", "applicationProcess", "simpleSecurityObject"}, has) {
		return nil // an OU's other entries: groups, devices, ...
	}
	return out
}

// serviceOU is the first service OU (as the DN spells it) above the entry.
func serviceOU(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil {
		return ""
	}
	for _, r := range d.RDNs[min(1, len(d.RDNs)):] {
		for _, a := range r.Attributes {
			if strings.EqualFold(a.Type, "ou") && slices.ContainsFunc(ServiceOUs, func(o string) bool { return strings.EqualFold(o, a.Value) }) {
				return a.Value
			}
		}
	}
	return ""
}

// loginShell reports whether a shell lets its user log in.
func loginShell(sh string) bool {
	base := sh[strings.LastIndexByte(sh, '/')+1:]
	return base != "nologin" && base != "false" && base != "true" && base != ""
}

// plainName is an entry's account name: uid, else cn.
func plainName(e entry) string {
	if u := e.first("uid"); u != "" {
		return u
	}
	return e.first("cn")
}

// structuralClass is the entry's structural class: structuralObjectClass
// when the server returns it, else the first class that is not top.
func structuralClass(e entry) string {
	if s := e.first("structuralObjectClass"); s != "" {
		return s
	}
	for _, c := range e.all("objectClass") {
		if !strings.EqualFold(c, "top") {
			return c
		}
	}
	return ""
}

// mapPlain turns one plain LDAP entry into a report account; markers say
// why it is a service account, privileged why it is privileged (the
// group walk's reasons). Errors in single attributes become warnings.
func mapPlain(e entry, markers, privileged []string, key []byte, now time.Time) (scan.Account, []string) {
	var warn []string
	name := plainName(e)
	d := &scan.DirectoryAccount{DN: textout.Fit(e.DN, scan.MaxPath), ObjectClass: textout.Fit(structuralClass(e), scan.MaxShort)}
	a := scan.Account{
		Name:       name,
		Kind:       scan.KindDirectory,
		Directory:  d,
		Shell:      textout.Fit(e.first("loginShell"), scan.MaxPath),
		Home:       textout.Fit(e.first("homeDirectory"), scan.MaxPath),
		LoginShell: e.first("loginShell") != "" && loginShell(e.first("loginShell")),
		Password:   scan.Password{Status: scan.PasswordUnknown},
	}
	for _, m := range markers {
		a.KindEvidence = append(a.KindEvidence, textout.Fit(m, scan.MaxText))
	}
	for _, p := range privileged {
		a.PrivilegeReasons = append(a.PrivilegeReasons, textout.Fit(p, scan.MaxText))
	}
	if v := e.first("uidNumber"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil || n < 0:
			warn = append(warn, name+": uidNumber is not a non-negative number")
		case n == 0:
			a.PrivilegeReasons = append(a.PrivilegeReasons, "uidNumber 0: root on every host that takes accounts from this directory")
		default:
			a.UID = n
		}
	}
	if v := e.first("gidNumber"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			a.GID = n
		}
	}
	a.Privileged = len(a.PrivilegeReasons) > 0
	if t := e.first("pwdAccountLockedTime"); t != "" {
		d.Flags = append(d.Flags, "LOCKED")
	}
	if strings.EqualFold(e.first("pwdReset"), "TRUE") {
		d.Flags = append(d.Flags, "PASSWORD_RESET")
	}
	for _, attr := range []string{"pwdLastSuccess", "authTimestamp"} {
		v := e.first(attr)
		if v == "" {
			continue
		}
		t, err := parseGeneralizedTime(v)
		if err != nil {
			warn = append(warn, name+": "+attr+" "+err.Error())
			continue
		}
		d.LastLogon = &t
		d.Stale = now.Sub(t) > StaleAfter
		break
	}

	cred := scan.Credential{Type: scan.CredPassword, Location: textout.Fit("ldap:"+e.DN, scan.MaxPath)}
	if schemes := e.all("userPassword"); len(schemes) > 0 {
		a.Password.Status = scan.PasswordUsable
		a.Password.Algorithm = textout.Fit(schemes[0], scan.MaxShort)
		if schemes[0] == SchemeCleartext {
			cred.Findings = append(cred.Findings, "userPassword is stored in clear text (value not copied)")
		}
	}
	if a.Password.Status == scan.PasswordUnknown {
		cred.Findings = append(cred.Findings, "userPassword not visible to the bind DN: no password, or one its access rules hide")
	}
	changed, changedRaw, mustChange := time.Time{}, "", false
	if v := e.first("pwdChangedTime"); v != "" {
		t, err := parseGeneralizedTime(v)
		if err != nil {
			warn = append(warn, name+": pwdChangedTime "+err.Error())
		} else {
			changed, changedRaw = t, v
		}
	}
	if v := e.first("shadowLastChange"); changed.IsZero() && v != "" {
		t, ok, err := parseShadowDays(v)
		switch {
		case err != nil:
			warn = append(warn, name+": shadowLastChange "+err.Error())
		case !ok:
			mustChange = true
			cred.Findings = append(cred.Findings, "shadowLastChange is 0: the password must be changed at next login")
		default:
			changed, changedRaw = t, v
		}
	}
	cred.Fingerprint = versionFingerprint(key, e.DN, changedRaw)
	if !changed.IsZero() {
		age := int(now.Sub(changed).Hours() / 24)
		cred.ChangedAt, cred.AgeDays = &changed, &age
		a.Password.LastChanged, a.Password.AgeDays = &changed, &age
		if age > OldPasswordDays {
			cred.Findings = append(cred.Findings, fmt.Sprintf("password unchanged for %d days", age))
		}
	} else if !mustChange {
		cred.Findings = append(cred.Findings, "no password change recorded (no pwdChangedTime or shadowLastChange): never changed since it was set, or the directory does not record it")
	}
	if v := e.first("shadowMax"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 99999 {
			a.Password.NeverExpires = true
			cred.Findings = append(cred.Findings, "password never expires (shadowMax "+v+")")
		}
	}
	if slices.Contains(d.Flags, "LOCKED") {
		cred.Findings = append(cred.Findings, "account locked by the password policy (pwdAccountLockedTime)")
	}
	if d.Stale {
		cred.Findings = append(cred.Findings, "no successful bind in 90 days (pwdLastSuccess or authTimestamp)")
	}
	a.Credentials = withHint(cred, e.first("description"))
	return a, warn
}

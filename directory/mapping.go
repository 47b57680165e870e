package directory

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/scan"
)

// OldPasswordDays is the password age past which a finding says so.
const OldPasswordDays = 365

// StaleAfter is how long without a recorded logon makes an account stale.
// lastLogonTimestamp is replicated only about weekly (14 days minus a random
// 5 by default), so the figure may lag the last logon by up to two weeks.
const StaleAfter = 90 * 24 * time.Hour

// PrivilegedGroups are the groups whose (recursive) members are tier 1.
var PrivilegedGroups = []string{
	"Domain Admins", "Enterprise Admins", "Schema Admins", "Administrators",
	"Account Operators", "Backup Operators", "Server Operators", "DnsAdmins",
}

// attributes are those requested for every account.
var attributes = []string{
	"sAMAccountName", "objectClass", "servicePrincipalName", "userAccountControl",
	"pwdLastSet", "lastLogonTimestamp", "adminCount", "description",
}

// accountFilter selects service-account candidates: users (not computers)
// with an SPN or a telling userAccountControl flag, and managed service
// accounts, which are subclasses of computer and so missed by a person
// filter. krbtgt is the domain's own key, not a service account.
const accountFilter = "(&(objectClass=user)" +
	"(|(servicePrincipalName=*)" +
	"(userAccountControl:1.2.840.113556.1.4.803:=65536)" +
	"(userAccountControl:1.2.840.113556.1.4.803:=32)" +
	"(userAccountControl:1.2.840.113556.1.4.803:=524288)" +
	"(userAccountControl:1.2.840.113556.1.4.803:=16777216)" +
	"(objectClass=msDS-GroupManagedServiceAccount)(objectClass=msDS-ManagedServiceAccount))" +
	"(|(!(objectClass=computer))(objectClass=msDS-GroupManagedServiceAccount)(objectClass=msDS-ManagedServiceAccount))" +
	"(!(sAMAccountName=krbtgt)))"

// entry is one directory object's attributes, as [mapEntry] reads them.
type entry struct {
	DN    string
	Attrs map[string][]string
}

// all is the values of attribute name (its case as the server spells it
// may differ).
func (e entry) all(name string) []string {
	if v, ok := e.Attrs[name]; ok {
		return v
	}
	for k, v := range e.Attrs {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func (e entry) first(name string) string {
	if v := e.all(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// passwordHint matches a description that seems to hold a password.
var passwordHint = regexp.MustCompile(`(?i)(pass(word|wd)?|pwd|pw|kennwort|mot de passe)\s*[:=]|\b(pass(word|wd)?|pwd)\s+(is\s+)?\S{4,}`)

// mapEntry turns one entry into a report account; privileged lists the
// privileged groups the entry belongs to (recursively). Errors in single
// attributes become findings (warnings), never a failed scan.
func mapEntry(e entry, privileged []string, key []byte, now time.Time) (scan.Account, []string) {
	var warn []string
	name := e.first("sAMAccountName")
	classes := e.all("objectClass")
	d := &scan.DirectoryAccount{DN: textout.Fit(e.DN, scan.MaxPath)}
	for _, spn := range e.all("servicePrincipalName") {
		d.SPNs = append(d.SPNs, textout.Fit(spn, scan.MaxShort))
	}
	if len(classes) > 0 {
		d.ObjectClass = textout.Fit(classes[len(classes)-1], scan.MaxShort)
	}
	d.Managed = slices.Contains(classes, "msDS-GroupManagedServiceAccount") || slices.Contains(classes, "msDS-ManagedServiceAccount")
	uac, err := parseUAC(e.first("userAccountControl"))
	if err != nil {
		warn = append(warn, name+": "+err.Error())
	}
	d.Flags = uacFlags(uac)
	d.AdminCount = e.first("adminCount") == "1"
	last, ok, err := parseFiletime(e.first("lastLogonTimestamp"))
	if err != nil {
		warn = append(warn, name+": lastLogonTimestamp "+err.Error())
	}
	if ok {
		d.LastLogon = &last
	}
	d.Stale = !ok || now.Sub(last) > StaleAfter

	a := scan.Account{
		Name:      name,
		Kind:      scan.KindDirectory,
		Directory: d,
		Password:  scan.Password{Status: scan.PasswordUnknown},
	}
	if len(d.SPNs) > 0 {
		a.KindEvidence = append(a.KindEvidence, "has a servicePrincipalName")
	}
	if d.Managed {
		a.KindEvidence = append(a.KindEvidence, "managed service account ("+d.ObjectClass+"): the domain rotates its password")
	}
	for _, g := range privileged {
		a.PrivilegeReasons = append(a.PrivilegeReasons, textout.Fit("member of "+g+" (recursive)", scan.MaxText))
	}
	if d.AdminCount && len(privileged) == 0 {
		a.PrivilegeReasons = append(a.PrivilegeReasons, "adminCount=1 (protected by AdminSDHolder, now or once)")
	}
	if slices.Contains(d.Flags, "TRUSTED_FOR_DELEGATION") {
		a.PrivilegeReasons = append(a.PrivilegeReasons, "trusted for unconstrained delegation")
	}
	a.Privileged = len(a.PrivilegeReasons) > 0
	if len(a.KindEvidence) == 0 {
		a.KindEvidence = append(a.KindEvidence, "userAccountControl "+strings.Join(d.Flags, ", "))
	}
	if d.Managed {
		a.Password.Status = scan.PasswordNone
		return a, warn
	}

	// A static password: its fingerprint names its version (DN and
	// pwdLastSet), never its content.
	set, setOK, err := parseFiletime(e.first("pwdLastSet"))
	if err != nil {
		warn = append(warn, name+": pwdLastSet "+err.Error())
	}
	cred := scan.Credential{
		Type:        scan.CredPassword,
		Location:    textout.Fit("ldap:"+e.DN, scan.MaxPath),
		Fingerprint: versionFingerprint(key, e.DN, e.first("pwdLastSet")),
	}
	a.Password.Status = scan.PasswordUsable
	if setOK {
		age := int(now.Sub(set).Hours() / 24)
		cred.ChangedAt, cred.AgeDays = &set, &age
		a.Password.LastChanged, a.Password.AgeDays = &set, &age
		if age > OldPasswordDays {
			cred.Findings = append(cred.Findings, fmt.Sprintf("password unchanged for %d days (pwdLastSet)", age))
		}
	} else {
		cred.Findings = append(cred.Findings, "pwdLastSet is 0: the password must be changed at next logon, or was never set")
	}
	if uac&uacDontExpirePassword != 0 {
		a.Password.NeverExpires = true
		cred.Findings = append(cred.Findings, "password never expires (DONT_EXPIRE_PASSWORD)")
	}
	if uac&uacPasswdNotReqd != 0 {
		cred.Findings = append(cred.Findings, "no password required (PASSWD_NOTREQD): the account may have an empty password")
	}
	if uac&uacTrustedToAuthForDelegaton != 0 {
		cred.Findings = append(cred.Findings, "may impersonate users to its services (TRUSTED_TO_AUTH_FOR_DELEGATION)")
	}
	if d.Stale {
		cred.Findings = append(cred.Findings, "no logon in 90 days (lastLogonTimestamp, replicated about weekly)")
	}
	a.Credentials = withHint(cred, e.first("description"))
	return a, warn
}

// withHint is the account's credentials: cred, with a finding when the
// entry's description seems to hold a password (never copied).
func withHint(cred scan.Credential, description string) []scan.Credential {
	if passwordHint.MatchString(description) {
		cred.Findings = append(cred.Findings, "the description seems to hold a password (description not copied)")
	}
	return []scan.Credential{cred}
}

// versionFingerprint keys the DN and pwdLastSet in the report's fingerprint
// form, so the inventory sees a new credential when the password changes.
func versionFingerprint(key []byte, dn, pwdLastSet string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("directory-password\x00" + dn + "\x00" + pwdLastSet))
	return scan.FingerprintPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

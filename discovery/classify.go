package discovery

import (
	"cmp"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/rosterhq/roster/scan"
)

// rootEquivalentGroups give root to their members: sudo/wheel/admin are
// the usual sudo groups, docker and lxd start privileged containers, disk
// writes raw block devices.
var rootEquivalentGroups = map[string]bool{"sudo": true, "wheel": true, "admin": true, "docker": true, "lxd": true, "disk": true}

// readOnlyGroups read what only root should, without giving root: adm the
// system logs, shadow the password hashes, systemd-journal the whole
// journal. Membership makes an account SensitiveRead, not Privileged.
var readOnlyGroups = map[string]string{
	"adm":             "reads the system logs",
	"shadow":          "reads password hashes",
	"systemd-journal": "reads the system journal",
}

// fileUID returns the owner of a file, or -1 when the platform does not say.
func fileUID(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// privilege sets Privileged and SensitiveRead with their reasons:
//
//   - privileged (root-equivalent): UID 0, a root-equivalent group, a sudo
//     rule that runs commands as another user or with a group that is not
//     one of the read-only groups, and units that run the account with a
//     root-equivalent group (added while units were applied);
//   - sensitive read: a read-only group (adm, shadow, systemd-journal), a
//     sudo rule that only adds read-only groups, and units that run the
//     account with one (added while units were applied).
//
// Root gains nothing from groups or sudo: its only reason is UID 0.
func (s *scanner) privilege(a *account) {
	var priv, read []string
	if a.UID == 0 {
		if a.Name == "root" {
			priv = append(priv, "UID 0")
		} else {
			priv = append(priv, "UID 0: a second root account besides root")
		}
	}
	for _, g := range sortedKeys(a.groups) {
		switch {
		case rootEquivalentGroups[g]:
			priv = append(priv, "member of group "+g+" (root-equivalent)")
		case readOnlyGroups[g] != "" && a.UID != 0:
			read = append(read, "member of group "+g+" ("+readOnlyGroups[g]+")")
		}
	}
	for _, rule := range a.Sudo {
		if a.UID == 0 {
			break // root gains nothing from sudo
		}
		if ok, why := elevates(rule, a.Name); ok {
			if readOnlySudo(rule, a.Name) {
				read = append(read, why)
			} else {
				priv = append(priv, why)
			}
		}
	}
	a.PrivilegeReasons = append(priv, a.PrivilegeReasons...)
	a.Privileged = len(a.PrivilegeReasons) > 0
	a.SensitiveReadReasons = append(read, a.SensitiveReadReasons...)
	a.SensitiveRead = len(a.SensitiveReadReasons) > 0
}

// readOnlySudo reports whether a rule only lets account run commands as
// itself with read-only groups (sudo -g adm less /var/log/syslog).
func readOnlySudo(rule scan.SudoRule, account string) bool {
	for _, r := range rule.RunAs {
		if r != account && !strings.HasPrefix(r, "!") {
			return false
		}
	}
	if len(rule.RunAsGroup) == 0 {
		return false
	}
	for _, g := range rule.RunAsGroup {
		if readOnlyGroups[g] == "" {
			return false
		}
	}
	return true
}

// exposure decides whether the account can log in over SSH:
//
//   - there must be an sshd configuration, a login shell, and an account
//     that has not expired;
//   - root must not be refused by PermitRootLogin ("no"; with
//     "prohibit-password" only keys count, with "forced-commands-only" only
//     keys with command=);
//   - then any of: an authorized key, a usable password with
//     PasswordAuthentication, an AuthorizedKeysCommand or TrustedUserCAKeys
//     (keys or certificates the files cannot show) makes it reachable.
//
// Listening sockets were added from /proc.
func (s *scanner) exposure(a *account) {
	c := s.sshd
	if !c.Found || !a.LoginShell || a.Password.AccountExpired || a.Dynamic {
		return
	}
	keysOK, passOK := true, c.PasswordAuthentication
	forcedOnly := false
	if a.UID == 0 {
		switch strings.ToLower(c.PermitRootLogin) {
		case "no":
			return
		case "prohibit-password", "without-password":
			passOK = false
		case "forced-commands-only":
			passOK, forcedOnly = false, true
		}
	}
	var reasons []string
	if keysOK {
		n, files := 0, map[string]bool{}
		for _, cr := range a.Credentials {
			if cr.Type != scan.CredSSHAuthorizedKey {
				continue
			}
			if forcedOnly && !hasOption(cr.Options, "command") || slices.Contains(cr.Findings, "expired") {
				continue
			}
			n++
			file, _, _ := strings.Cut(cr.Location, ":")
			files[file] = true
		}
		if n > 0 {
			reasons = append(reasons, strconv.Itoa(n)+" authorized key(s) in "+strings.Join(sortedKeys(files), ", "))
		}
		if c.AuthorizedKeysCommand != "" && !forcedOnly {
			reasons = append(reasons, "AuthorizedKeysCommand "+c.AuthorizedKeysCommand+" may authorize keys")
		}
		if c.TrustedUserCAKeys != "" && !forcedOnly {
			reasons = append(reasons, "certificates signed by TrustedUserCAKeys "+c.TrustedUserCAKeys+" are accepted")
		}
	}
	if passOK && a.Password.Status == scan.PasswordUsable {
		reasons = append(reasons, "password login (PasswordAuthentication yes)")
	}
	a.Exposure.SSH = len(reasons) > 0
	a.Exposure.SSHReasons = reasons
}

func hasOption(opts []string, name string) bool {
	for _, o := range opts {
		k, _, _ := strings.Cut(o, "=")
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// classify concludes the account's kind, with evidence:
//
//   - service: something on the machine runs as it (a systemd unit, a cron
//     entry, a listening socket; systemd dynamic users), or it holds a
//     credential that machines use (secret_env, secret_file,
//     ssh_private_key), or only SSH keys can log in to it (authorized keys
//     and no usable password; the same for SSH certificates: a principals
//     file under a trusted user CA and no usable password), or it is
//     outside the UID range for people and still has a process, a usable or
//     empty password, an authorized key or an SSH certificate login;
//   - human: a login shell and a UID in UID_MIN..UID_MAX, and none of the
//     machine use above (its processes, keys and password are a person's);
//   - system: everything else: an OS account nothing uses, with no
//     credential.
func (s *scanner) classify(a *account) {
	var machine, creds []string
	machine = append(machine, a.machine...)
	procs := 0
	for _, u := range a.UsedBy {
		if u.Type == scan.UsageProcess {
			procs++
		}
	}
	counts := map[string]int{}
	for _, c := range a.Credentials {
		counts[c.Type]++
	}
	for _, t := range []string{scan.CredSecretEnv, scan.CredSecretFile, scan.CredSSHPrivateKey} {
		if counts[t] > 0 {
			machine = append(machine, "holds "+strconv.Itoa(counts[t])+" "+t+" credential(s)")
		}
	}
	for _, t := range []string{scan.CredPassword, scan.CredEmptyPassword, scan.CredSSHAuthorizedKey} {
		if counts[t] > 0 {
			creds = append(creds, "holds "+strconv.Itoa(counts[t])+" "+t+" credential(s)")
		}
	}
	certLogin := a.SSHCertLogin != nil
	if certLogin {
		creds = append(creds, "logs in with SSH certificates: "+a.SSHCertLogin.PrincipalsFile+" lists "+strconv.Itoa(len(a.SSHCertLogin.Principals))+" principal(s)")
	}
	human := a.LoginShell && !a.Dynamic && s.ranges.human(a.UID)
	noPassword := a.Password.Status != scan.PasswordUsable && a.Password.Status != scan.PasswordEmpty
	// A FIDO security key (sk-…) needs a person's touch at every login:
	// evidence of a person. An account nothing else uses that logs in
	// only with such keys is a person's, whatever its UID.
	fido := fidoKeys(a.Credentials)
	var person []string
	if fido > 0 {
		person = append(person, "logs in with "+strconv.Itoa(fido)+" FIDO security key(s) (sk-…): needs a person's touch")
	}
	if fido > 0 && fido == counts[scan.CredSSHAuthorizedKey] && noPassword && len(machine) == 0 && a.LoginShell && !a.Dynamic {
		human = true
	}
	// A person logs in with a password at least for sudo and the console;
	// an account in the people's range that only SSH keys can log in to is
	// how deploy users and CI logins look (FIDO keys excepted: see above).
	if human && counts[scan.CredSSHAuthorizedKey] > fido && noPassword {
		machine = append(machine, "key-only login: "+strconv.Itoa(counts[scan.CredSSHAuthorizedKey])+" authorized key(s) and no usable password")
	}
	// The same for SSH certificates: a service account that moved from
	// authorized_keys to certificates stays a service account.
	if human && certLogin && counts[scan.CredSSHAuthorizedKey] == 0 && noPassword {
		machine = append(machine, "certificate-only login: a principals file and no usable password")
	}
	rangeNote := "UID " + strconv.Itoa(a.UID) + " in UID_MIN..UID_MAX (" + strconv.Itoa(s.ranges.UIDMin) + ".." + strconv.Itoa(s.ranges.UIDMax) + ", " + s.ranges.Source + ")"
	switch {
	case len(machine) > 0:
		a.Kind = scan.KindService
		a.KindEvidence = append(machine, person...)
		if human {
			a.KindEvidence = append(a.KindEvidence, "login shell and "+rangeNote+", but machines use it")
		}
	case human:
		a.Kind = scan.KindHuman
		a.KindEvidence = []string{"login shell " + cmp.Or(a.Shell, "/bin/sh")}
		if s.ranges.human(a.UID) {
			a.KindEvidence = append(a.KindEvidence, rangeNote)
		}
		a.KindEvidence = append(a.KindEvidence, person...)
		a.KindEvidence = append(a.KindEvidence, "no unit, cron entry, listener or machine credential uses it")
		a.KindEvidence = append(a.KindEvidence, creds...)
		if procs > 0 {
			a.KindEvidence = append(a.KindEvidence, strconv.Itoa(procs)+" process(es) running")
		}
	case len(creds) > 0 || procs > 0:
		a.Kind = scan.KindService
		if !a.LoginShell {
			creds = append(creds, "no login shell ("+a.Shell+"): not a person's account")
		} else {
			creds = append(creds, "UID "+strconv.Itoa(a.UID)+" outside UID_MIN..UID_MAX ("+strconv.Itoa(s.ranges.UIDMin)+".."+strconv.Itoa(s.ranges.UIDMax)+"): not a person's account")
		}
		a.KindEvidence = creds
		if procs > 0 {
			a.KindEvidence = append(a.KindEvidence, strconv.Itoa(procs)+" process(es) running")
		}
	default:
		a.Kind = scan.KindSystem
		ev := []string{}
		if s.ranges.system(a.UID) {
			ev = append(ev, "UID "+strconv.Itoa(a.UID)+" in SYS_UID_MIN..SYS_UID_MAX ("+strconv.Itoa(s.ranges.SysUIDMin)+".."+strconv.Itoa(s.ranges.SysUIDMax)+")")
		}
		if !a.LoginShell {
			ev = append(ev, "no login shell ("+a.Shell+")")
		}
		a.KindEvidence = append(ev, "nothing runs as it", "no credential")
	}
}

// fidoKeys counts the authorized keys among creds that are FIDO keys.
func fidoKeys(creds []scan.Credential) int {
	n := 0
	for _, c := range creds {
		if c.Type == scan.CredSSHAuthorizedKey && scan.IsFIDOKey(c.Algorithm) {
			n++
		}
	}
	return n
}

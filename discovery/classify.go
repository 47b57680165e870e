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

// readOnlyGroups read what only root should: adm the system logs, shadow
// the password hashes, systemd-journal the whole journal.
var readOnlyGroups = map[string]string{
	"adm":             "read-only privilege: reads system logs",
	"shadow":          "read-only privilege: reads password hashes",
	"systemd-journal": "read-only privilege: reads the system journal",
}

// groupPrivilege says what membership of group g grants, or "".
func groupPrivilege(g string) string {
	if rootEquivalentGroups[g] {
		return "root-equivalent"
	}
	return readOnlyGroups[g]
}

// fileUID returns the owner of a file, or -1 when the platform does not say.
func fileUID(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// privilege sets Privileged and its reasons: UID 0, privileged groups
// (root-equivalent or read-only), sudo rules that run commands as another
// user or group, and units that run the account with a privileged group
// (added while units were applied).
func (s *scanner) privilege(a *account) {
	var reasons []string
	if a.UID == 0 {
		if a.Name == "root" {
			reasons = append(reasons, "UID 0")
		} else {
			reasons = append(reasons, "UID 0: a second root account besides root")
		}
	}
	for _, g := range sortedKeys(a.groups) {
		if why := groupPrivilege(g); why != "" {
			reasons = append(reasons, "member of group "+g+" ("+why+")")
		}
	}
	for _, rule := range a.Sudo {
		if a.UID == 0 {
			break // root gains nothing from sudo
		}
		if ok, why := elevates(rule, a.Name); ok {
			reasons = append(reasons, why)
		}
	}
	a.PrivilegeReasons = append(reasons, a.PrivilegeReasons...)
	a.Privileged = len(a.PrivilegeReasons) > 0
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
//     and no usable password), or it is outside the UID range for people and
//     still has a process, a usable or empty password or an authorized key;
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
	human := a.LoginShell && !a.Dynamic && s.ranges.human(a.UID)
	// A person logs in with a password at least for sudo and the console;
	// an account in the people's range that only SSH keys can log in to is
	// how deploy users and CI logins look.
	if human && counts[scan.CredSSHAuthorizedKey] > 0 && a.Password.Status != scan.PasswordUsable && a.Password.Status != scan.PasswordEmpty {
		machine = append(machine, "key-only login: "+strconv.Itoa(counts[scan.CredSSHAuthorizedKey])+" authorized key(s) and no usable password")
	}
	rangeNote := "UID " + strconv.Itoa(a.UID) + " in UID_MIN..UID_MAX (" + strconv.Itoa(s.ranges.UIDMin) + ".." + strconv.Itoa(s.ranges.UIDMax) + ", " + s.ranges.Source + ")"
	switch {
	case len(machine) > 0:
		a.Kind = scan.KindService
		a.KindEvidence = machine
		if human {
			a.KindEvidence = append(a.KindEvidence, "login shell and "+rangeNote+", but machines use it")
		}
	case human:
		a.Kind = scan.KindHuman
		a.KindEvidence = []string{"login shell " + cmp.Or(a.Shell, "/bin/sh"), rangeNote, "no unit, cron entry, listener or machine credential uses it"}
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

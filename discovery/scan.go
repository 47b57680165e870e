package discovery

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/spiffeid"
)

// Options configures [Scan].
type Options struct {
	// Root is the directory holding the host's filesystem; "" means "/".
	Root string
	// ProcDir is where live process and socket state is read from:
	//   - ""  : "/proc" when Root is "/", otherwise no live state (the
	//           processes of the machine running the scan are not those
	//           of a mounted image);
	//   - "-" : never read live state;
	//   - any other path: read it as the scanned host's /proc.
	ProcDir string
	// FingerprintKey keys the HMAC fingerprints of secrets; at least 16
	// bytes. Keep it stable so fingerprints compare across scans and hosts.
	FingerprintKey []byte
	// Now returns the scan time; nil means time.Now.
	Now func() time.Time
	// MaxFileBytes caps how much of one file is read; 0 means
	// DefaultMaxFileBytes.
	MaxFileBytes int64
	// Version is the scanner version recorded in the report.
	Version string
	// FS, when set, is the host's filesystem (a remote host over SFTP):
	// Root is then ignored and the whole of FS is scanned, ProcDir names
	// a directory of FS ("" means "/proc", scanned when it can be listed
	// and otherwise skipped with a warning; "-" means none), and RootName
	// is recorded as the report's host.root.
	FS       FS
	RootName string
}

// ScannerName is recorded in every report's scanner.name.
const ScannerName = "roster"

// Scan reads the host under opts.Root and returns its report. It fails
// only when the scan cannot start (bad root, bad key, no /etc/passwd) or
// ctx ends; everything unreadable or malformed on the way is a warning in
// the report.
func Scan(ctx context.Context, opts Options) (*scan.Report, error) {
	rootDir := opts.Root
	if rootDir == "" {
		rootDir = "/"
	}
	var r *Root
	var err error
	if opts.FS != nil {
		r = NewRootFS(opts.FS)
	} else if r, err = NewRoot(rootDir); err != nil {
		return nil, err
	}
	r.MaxFileBytes = opts.MaxFileBytes
	fp, err := NewFingerprinter(opts.FingerprintKey)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	procDir := opts.ProcDir
	switch {
	case opts.FS != nil:
		if procDir == "-" {
			procDir = ""
		} else {
			procDir = path.Clean("/" + cmp.Or(procDir, "/proc"))
		}
	case procDir == "-":
		procDir = ""
	case procDir == "" && r.Dir() == "/":
		procDir = "/proc"
	case procDir != "":
		if procDir, err = filepath.Abs(procDir); err != nil {
			return nil, fmt.Errorf("proc directory: %w", err)
		}
	}

	s := &scanner{r: r, fp: fp, now: now().UTC(), w: &warnings{}, byName: map[string]*account{}, byUID: map[int]*account{}, unnamed: map[string]bool{}}
	if opts.FS != nil && procDir != "" {
		// A chrooted SFTP account sees no /proc: scan without live state.
		if fi, err := opts.FS.Lstat(procDir); err != nil || !fi.IsDir() {
			s.w.add(procDir, 0, "no live processes or sockets: %s is not readable over this connection", procDir)
			procDir = ""
		}
	}
	if err := s.run(ctx, procDir); err != nil {
		return nil, err
	}
	rep := &scan.Report{
		SchemaVersion: scan.SchemaVersion,
		Scanner:       scan.Scanner{Name: ScannerName, Version: cmp.Or(opts.Version, "dev")},
		Host:          s.host,
		Accounts:      make([]scan.Account, 0, len(s.accounts)),
		Warnings:      s.w.list,
	}
	rep.Host.Root = r.Dir()
	if opts.FS != nil {
		rep.Host.Root = opts.RootName
	}
	rep.Host.Live = s.live
	rep.Host.ScannedAt = s.now
	for _, a := range s.accounts {
		rep.Accounts = append(rep.Accounts, a.Account)
	}
	rep.Shared = markShared(rep.Accounts)
	finish(rep)
	return rep, nil
}

// account is an account while the scan builds it.
type account struct {
	scan.Account
	groups  map[string]int // every group: primary and supplementary
	machine []string       // evidence of machine use, for the kind
	// homeOK is true when Home is a directory in the root.
	homeOK bool
	// pwInPasswd is true when the passwd field is not "x", so it and
	// not shadow holds the password.
	pwInPasswd bool
}

type scanner struct {
	r    *Root
	fp   *Fingerprinter
	now  time.Time
	w    *warnings
	host scan.Host

	ranges   uidRanges
	accounts []*account
	byName   map[string]*account
	byUID    map[int]*account // first account of a UID, as getpwuid(3)
	groups   []groupEntry
	sshd     sshdConfig
	// unnamed are passwd names that break the account name rule: their
	// accounts are not reported.
	unnamed map[string]bool
	// live: the host's proc directory was listed.
	live bool
}

func (s *scanner) run(ctx context.Context, procDir string) error {
	s.host = readHost(s.r, s.w)
	if s.host.Hostname == "" && procDir != "" {
		if b, err := procRead(s.r.fsys, filepath.Join(procDir, "sys/kernel/hostname")); err == nil {
			if h := strings.TrimSpace(string(b)); spiffeid.ValidateHost(h) == nil {
				s.host.Hostname = h
			}
		}
	}
	s.ranges = defaultUIDRanges
	if data, _, _ := readOptional(s.r, s.w, "/etc/login.defs", "unreadable"); data != nil {
		s.ranges = parseLoginDefs("/etc/login.defs", data, s.w)
	}
	if err := s.readAccounts(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.readPasswords()
	s.applySudo(readSudoers(s.r, s.host.Hostname, s.w))
	if err := ctx.Err(); err != nil {
		return err
	}
	s.applyUnits(readUnits(s.r, s.fp, s.w))
	jobs, cronSecrets := readCron(s.r, s.fp, s.w)
	s.applyCron(jobs)
	if err := ctx.Err(); err != nil {
		return err
	}
	s.sshd = readSSHDConfig(s.r, s.w)
	s.host.SSHD = s.sshd.sshdReport(s.r, s.w)
	s.readHomes(ctx)
	system := append(readSystemSecrets(s.r, s.fp, s.w), readConfigSecrets(s.r, s.fp, s.w)...)
	for _, oc := range append(system, cronSecrets...) {
		if a := s.byUID[oc.UID]; a != nil {
			a.Credentials = append(a.Credentials, oc.Cred)
		} else {
			s.w.add(oc.Cred.Location, 0, "credential file is owned by uid %d, which has no account", oc.UID)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if procDir != "" {
		procs, ls, live := readProcFS(s.r.fsys, procDir, s.w)
		s.applyProc(procs, ls)
		s.live = live
	}
	for _, a := range s.accounts {
		s.privilege(a)
		s.exposure(a)
		s.classify(a)
	}
	return nil
}

// readAccounts reads passwd and group and links accounts to groups.
func (s *scanner) readAccounts() error {
	data, err := s.r.ReadFile("/etc/passwd")
	if err != nil {
		return fmt.Errorf("read accounts: %w", err)
	}
	for _, e := range parsePasswd("/etc/passwd", data, s.w) {
		// An account the inventory cannot name is not reported, and the
		// warning says which UID it has: a second root hidden behind a
		// zero-width character is still seen.
		if err := spiffeid.ValidateAccount(e.Name); err != nil {
			s.w.add("/etc/passwd", e.Line, "account with UID %d not reported: %v", e.UID, err)
			s.unnamed[e.Name] = true
			continue
		}
		a := &account{
			Account: scan.Account{
				Name: e.Name, UID: e.UID, GID: e.GID, Home: e.Home, Shell: e.Shell, GECOS: redactCommand(e.GECOS),
				LoginShell: isLoginShell(e.Shell), Password: scan.Password{Status: scan.PasswordUnknown},
			},
			groups: map[string]int{},
		}
		if e.hash != "x" {
			// As in pam_unix, only "x" defers to shadow: any other passwd
			// field is the hash itself, decoded like a shadow field.
			pw, cred := decodePassword(shadowEntry{Name: e.Name, hash: e.hash, LastChange: -1, Max: -1, Expire: -1, Line: e.Line}, "/etc/passwd", s.now, s.fp)
			a.Password, a.pwInPasswd = pw, true
			if cred != nil && cred.Type == scan.CredPassword {
				cred.Findings = append(cred.Findings, "hash in world-readable /etc/passwd")
			}
			if cred != nil {
				a.Credentials = append(a.Credentials, *cred)
			}
		}
		s.accounts = append(s.accounts, a)
		s.byName[e.Name] = a
		if _, ok := s.byUID[e.UID]; !ok {
			s.byUID[e.UID] = a
		}
	}
	if data, _, _ := readOptional(s.r, s.w, "/etc/group", "unreadable"); data != nil {
		s.groups = parseGroup("/etc/group", data, s.w)
	}
	byGID := map[int]string{}
	for _, g := range s.groups {
		if _, ok := byGID[g.GID]; !ok {
			byGID[g.GID] = g.Name
		}
		for _, m := range g.Members {
			if a := s.byName[m]; a != nil {
				a.groups[g.Name] = g.GID
				if !slices.Contains(a.Groups, g.Name) {
					a.Groups = append(a.Groups, g.Name)
				}
			}
		}
	}
	for _, a := range s.accounts {
		if name, ok := byGID[a.GID]; ok {
			a.PrimaryGroup = name
			a.groups[name] = a.GID
			a.Groups = slices.DeleteFunc(a.Groups, func(g string) bool { return g == name })
		}
		slices.Sort(a.Groups)
	}
	return nil
}

// readPasswords applies /etc/shadow to the accounts.
func (s *scanner) readPasswords() {
	const file = "/etc/shadow"
	data, _, err := readOptional(s.r, s.w, file, "unreadable, password status unknown")
	if err != nil {
		return
	}
	for _, e := range parseShadow(file, data, s.w) {
		a := s.byName[e.Name]
		if a == nil {
			if !s.unnamed[e.Name] {
				s.w.add(file, e.Line, "entry for %s, which is not in /etc/passwd", e.Name)
			}
			continue
		}
		if a.pwInPasswd {
			continue // the passwd field decides
		}
		pw, cred := decodePassword(e, file, s.now, s.fp)
		a.Password = pw
		if cred != nil {
			a.Credentials = append(a.Credentials, *cred)
		}
	}
}

func (s *scanner) applySudo(p *sudoPolicy) {
	for _, a := range s.accounts {
		a.Sudo = p.rulesFor(sudoUser{Name: a.Name, UID: a.UID, Groups: a.groups}, s.host.Hostname)
	}
}

// lookup finds the account a unit or crontab names: by name, else by
// numeric uid.
func (s *scanner) lookup(user string) *account {
	if a := s.byName[user]; a != nil {
		return a
	}
	if uid, ok := parseID(user); ok {
		return s.byUID[uid]
	}
	return nil
}

func (s *scanner) applyUnits(units []unit) {
	for _, u := range units {
		if u.Uninstantiated {
			s.applyTemplate(u)
			continue
		}
		a := s.unitAccount(u)
		if a == nil {
			continue
		}
		a.UsedBy = append(a.UsedBy, scan.Usage{
			Type: scan.UsageSystemd, Name: u.Name, Detail: strings.Join(u.ExecStart, "; "),
			Enabled: u.Enabled, Source: u.Source, Description: u.Description,
		})
		a.machine = append(a.machine, "systemd unit "+u.Name+" runs as it")
		for _, lc := range u.LoadCredentials {
			id, _, _ := strings.Cut(lc, ":")
			a.machine = append(a.machine, "unit "+u.Name+" loads credential "+id)
		}
		a.Credentials = append(a.Credentials, u.Secrets...)
		if a.UID == 0 {
			continue // root gains nothing from a group
		}
		for _, g := range append([]string{u.Group}, u.SupplementaryGroups...) {
			switch {
			case rootEquivalentGroups[g]:
				a.PrivilegeReasons = append(a.PrivilegeReasons, "unit "+u.Name+" runs it with group "+g+" (root-equivalent)")
			case readOnlyGroups[g] != "":
				a.SensitiveReadReasons = append(a.SensitiveReadReasons, "unit "+u.Name+" runs it with group "+g+" ("+readOnlyGroups[g]+")")
			}
		}
	}
}

// applyTemplate applies a template unit that nothing instantiates
// ("name@.service" with no instance enabled, wanted or configured): it
// runs nothing, so it is no use of its account and grants it nothing.
// Secret variables in its files are still static credentials on disk and
// go to the account it names, if that exists; a dynamic user does not
// exist until an instance runs.
func (s *scanner) applyTemplate(u unit) {
	if len(u.Secrets) == 0 {
		return
	}
	var a *account
	switch {
	case u.DynamicUser:
	case u.User == "":
		a = s.byUID[0]
	default:
		a = s.lookup(u.User)
	}
	if a == nil {
		s.w.add(u.Source, 0, "template unit %s (no instance) holds %d secret variable(s) and names no existing account", u.Name, len(u.Secrets))
		return
	}
	a.Credentials = append(a.Credentials, u.Secrets...)
}

// unitAccount maps a unit to the account it runs as: User= by name or
// uid, no User= means root, DynamicUser= without a static account of that
// name means an account allocated at run time, which is added.
func (s *scanner) unitAccount(u unit) *account {
	if u.DynamicUser {
		name := u.User
		if name == "" {
			name = strings.TrimSuffix(u.Name, path.Ext(u.Name))
			if i := strings.IndexByte(name, '@'); i >= 0 {
				name = name[:i]
			}
		}
		if a := s.byName[name]; a != nil {
			return a
		}
		if err := spiffeid.ValidateAccount(name); err != nil {
			s.w.add(u.Source, 0, "unit %s: dynamic user not reported: %v", u.Name, err)
			return nil
		}
		a := &account{
			Account: scan.Account{Name: name, UID: -1, GID: -1, Dynamic: true, Password: scan.Password{Status: scan.PasswordNone}},
			groups:  map[string]int{},
		}
		a.machine = append(a.machine, "allocated at run time by systemd (DynamicUser=yes)")
		s.accounts = append(s.accounts, a)
		s.byName[name] = a
		return a
	}
	if u.User == "" {
		if a := s.byUID[0]; a != nil {
			return a
		}
		s.w.add(u.Source, 0, "unit %s runs as root, but the root has no UID 0 account", u.Name)
		return nil
	}
	a := s.lookup(u.User)
	if a == nil {
		s.w.add(u.Source, 0, "unit %s runs as %s, which has no account", u.Name, clip(u.User))
	}
	return a
}

func (s *scanner) applyCron(jobs []cronJob) {
	for _, j := range jobs {
		file, _, _ := strings.Cut(j.Source, ":")
		a := s.lookup(j.User)
		if a == nil {
			s.w.add(file, 0, "cron entry %s runs as %s, which has no account", j.Source, clip(j.User))
			continue
		}
		a.UsedBy = append(a.UsedBy, scan.Usage{Type: scan.UsageCron, Name: j.Source, Detail: j.Command, Schedule: j.Schedule, Source: file})
		a.machine = append(a.machine, "cron entry "+j.Source+" runs as it")
	}
}

func (s *scanner) applyProc(procs []process, ls []listener) {
	for _, p := range procs {
		if a := s.byUID[p.UID]; a != nil {
			a.UsedBy = append(a.UsedBy, scan.Usage{Type: scan.UsageProcess, Name: p.Comm, Detail: p.Cmdline, PID: p.PID})
		}
	}
	for _, l := range ls {
		if a := s.byUID[l.UID]; a != nil {
			a.Exposure.Listening = append(a.Exposure.Listening, l.Socket)
			a.machine = append(a.machine, fmt.Sprintf("listens on %s %s:%d", l.Proto, l.Address, l.Port))
		}
	}
}

// readHomes reads the SSH keys and credential files of every account. A
// home directory shared by several accounts is read once, for the first
// of them that owns it (or the first, if none does): on RHEL operator's
// home is /root, and root's keys are not operator's.
func (s *scanner) readHomes(ctx context.Context) {
	type homeInfo struct {
		ok    bool
		uid   int // owner of the directory
		owner *account
	}
	homes := map[string]*homeInfo{}
	parents := map[string]map[string]bool{} // directory listings, to skip absent homes without a lookup
	exists := func(p string) bool {
		dir, base := path.Split(p)
		names, ok := parents[dir]
		if !ok {
			if ents, err := s.r.ReadDir(dir); err == nil {
				names = make(map[string]bool, len(ents))
				for _, e := range ents {
					names[e.Name()] = true
				}
			}
			parents[dir] = names // nil when unreadable: every lookup says no
		}
		return names[base]
	}
	for _, a := range s.accounts {
		if a.Dynamic || a.Home == "" || !path.IsAbs(a.Home) {
			continue
		}
		home := path.Clean(a.Home)
		h := homes[home]
		if h == nil {
			h = &homeInfo{uid: -1}
			if home == "/" || exists(home) {
				if fi, err := s.r.Stat(home); err == nil && fi.IsDir() {
					h.ok, h.uid = true, fileUID(fi)
				}
			}
			homes[home] = h
		}
		if h.ok && (h.owner == nil || h.owner.UID != h.uid && a.UID == h.uid) {
			h.owner = a
		}
		a.homeOK = h.ok
	}
	for i, a := range s.accounts {
		if i%256 == 0 && ctx.Err() != nil {
			return
		}
		if a.Dynamic {
			continue
		}
		home := path.Clean(a.Home)
		h := homes[home]
		for _, p := range s.sshd.authorizedKeysPaths(a.Name, a.Home, a.UID) {
			if a.Home != "" && strings.HasPrefix(p, home+"/") && (h == nil || !h.ok || h.owner != a) {
				continue // no home, or another account's: RHEL's operator shares /root
			}
			a.Credentials = append(a.Credentials, readAuthorizedKeys(s.r, p, s.w)...)
		}
		// The principals file, on the same terms as authorized_keys.
		if p := s.sshd.principalsPath(a.Name, a.Home, a.UID); p != "" && s.host.SSHD != nil && len(s.host.SSHD.TrustedUserCAKeys) > 0 &&
			!(a.Home != "" && strings.HasPrefix(p, home+"/") && (h == nil || !h.ok || h.owner != a)) {
			if at := s.sshd.matchOverrides(a.Name); at != "" {
				file, line := splitLoc(at)
				s.w.add(file, line, "Match block sets the certificate settings of %s: its certificate login is not recorded", a.Name)
			} else {
				a.SSHCertLogin = certLogin(s.host.SSHD, p, readPrincipals(s.r, p, s.w))
			}
		}
		if h != nil && h.ok && h.owner == a {
			a.Credentials = append(a.Credentials, readPrivateKeys(s.r, a.Home, s.w)...)
			a.Credentials = append(a.Credentials, readSecretFiles(s.r, a.Home, s.fp, s.w)...)
		}
	}
}

// markShared lists every secret held by more than one credential and adds
// the "shared" finding to each of them. Keyed fingerprints (passwords,
// secret files and variables) are compared across types: the same token
// in a unit and in a .pgpass is one secret. SSH fingerprints are compared
// within a type: one private key in two places, or one public key
// authorized for two accounts, is shared, but a private key whose public
// half is authorized elsewhere is a trust relation, not a shared secret.
// Empty passwords all have the same fingerprint by construction and are
// left out.
func markShared(accts []scan.Account) []scan.SharedCredential {
	type ref struct{ a, c int }
	groups := map[string][]ref{}
	for i := range accts {
		for j, c := range accts[i].Credentials {
			if c.Fingerprint == "" || c.Type == scan.CredEmptyPassword {
				continue
			}
			key := c.Fingerprint
			if c.Type == scan.CredSSHPrivateKey || c.Type == scan.CredSSHAuthorizedKey {
				key = c.Type + " " + c.Fingerprint
			}
			groups[key] = append(groups[key], ref{i, j})
		}
	}
	out := []scan.SharedCredential{}
	for _, refs := range groups {
		if len(refs) < 2 {
			continue
		}
		first := accts[refs[0].a].Credentials[refs[0].c]
		sc := scan.SharedCredential{Fingerprint: first.Fingerprint}
		var types []string
		for _, r := range refs {
			c := &accts[r.a].Credentials[r.c]
			if !slices.Contains(c.Findings, "shared") {
				c.Findings = append(c.Findings, "shared")
			}
			if !slices.Contains(sc.Accounts, accts[r.a].Name) {
				sc.Accounts = append(sc.Accounts, accts[r.a].Name)
			}
			if !slices.Contains(types, c.Type) {
				types = append(types, c.Type)
			}
			sc.Locations = append(sc.Locations, c.Location)
		}
		slices.Sort(types)
		sc.Type = strings.Join(types, ",")
		slices.Sort(sc.Accounts)
		slices.Sort(sc.Locations)
		out = append(out, sc)
	}
	slices.SortFunc(out, func(a, b scan.SharedCredential) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
	return out
}

// finish sorts everything in the report so that equal hosts give equal
// reports, and makes empty lists encode as [] where the schema needs them.
func finish(rep *scan.Report) {
	slices.SortStableFunc(rep.Accounts, func(a, b scan.Account) int {
		// Dynamic accounts (UID -1) go last.
		ua, ub := a.UID, b.UID
		if a.Dynamic {
			ua = 1 << 40
		}
		if b.Dynamic {
			ub = 1 << 40
		}
		return cmp.Or(cmp.Compare(ua, ub), cmp.Compare(a.Name, b.Name))
	})
	for i := range rep.Accounts {
		a := &rep.Accounts[i]
		slices.SortStableFunc(a.Credentials, func(x, y scan.Credential) int {
			return cmp.Or(cmp.Compare(x.Type, y.Type), cmp.Compare(x.Location, y.Location), cmp.Compare(x.Name, y.Name), cmp.Compare(x.Fingerprint, y.Fingerprint))
		})
		slices.SortStableFunc(a.UsedBy, func(x, y scan.Usage) int {
			return cmp.Or(cmp.Compare(x.Type, y.Type), cmp.Compare(x.Name, y.Name), cmp.Compare(x.PID, y.PID))
		})
		a.UsedBy = mergeUsage(a.UsedBy)
		slices.SortStableFunc(a.Exposure.Listening, func(x, y scan.Socket) int {
			return cmp.Or(cmp.Compare(x.Proto, y.Proto), cmp.Compare(x.Port, y.Port), cmp.Compare(x.Address, y.Address), cmp.Compare(x.PID, y.PID))
		})
		a.PrivilegeReasons = compactStrings(a.PrivilegeReasons)
		a.SensitiveReadReasons = compactStrings(a.SensitiveReadReasons)
		if a.KindEvidence == nil {
			a.KindEvidence = []string{}
		}
	}
	if rep.Warnings == nil {
		rep.Warnings = []scan.Warning{}
	}
	slices.SortStableFunc(rep.Warnings, func(a, b scan.Warning) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Message, b.Message))
	})
	rep.Warnings = slices.Compact(rep.Warnings)
	cleanReport(rep)
}

// cleanReport makes every string of the report safe to print and short
// enough for the schema ([textout.Fit] with the limits of [scan.Validate]):
// what a host's files hold (file names, unit names, comments, commands)
// may be hostile. Account and host names are already valid names.
func cleanReport(rep *scan.Report) {
	fit := func(p *string, max int) { *p = textout.Fit(*p, max) }
	fits := func(ss []string, max int) {
		for i := range ss {
			fit(&ss[i], max)
		}
	}
	fit(&rep.Scanner.Name, scan.MaxShort)
	fit(&rep.Scanner.Version, scan.MaxShort)
	fit(&rep.Host.OS.ID, scan.MaxShort)
	fit(&rep.Host.OS.IDLike, scan.MaxShort)
	fit(&rep.Host.OS.VersionID, scan.MaxShort)
	fit(&rep.Host.OS.PrettyName, scan.MaxShort)
	fit(&rep.Host.Root, scan.MaxPath)
	if d := rep.Host.SSHD; d != nil {
		fit(&d.TrustedUserCAKeysFile, scan.MaxPath)
		for i := range d.TrustedUserCAKeys {
			fit(&d.TrustedUserCAKeys[i].Type, scan.MaxShort)
			fit(&d.TrustedUserCAKeys[i].Location, scan.MaxPath)
		}
		fit(&d.AuthorizedPrincipalsFile, scan.MaxPath)
		if d.RevokedKeys != nil {
			fit(&d.RevokedKeys.Path, scan.MaxPath)
		}
		fits(d.HostCertificates, scan.MaxPath)
		for i := range d.MatchBlocks {
			fit(&d.MatchBlocks[i].Location, scan.MaxPath)
			fit(&d.MatchBlocks[i].Criteria, scan.MaxText)
			fits(d.MatchBlocks[i].Sets, scan.MaxShort)
		}
	}
	for i := range rep.Accounts {
		a := &rep.Accounts[i]
		fit(&a.PrimaryGroup, scan.MaxShort)
		fits(a.Groups, scan.MaxShort)
		fit(&a.Home, scan.MaxPath)
		fit(&a.Shell, scan.MaxPath)
		fit(&a.GECOS, scan.MaxText)
		fits(a.KindEvidence, scan.MaxText)
		fits(a.PrivilegeReasons, scan.MaxText)
		fits(a.SensitiveReadReasons, scan.MaxText)
		for j := range a.Sudo {
			r := &a.Sudo[j]
			fit(&r.Source, scan.MaxPath)
			fit(&r.Via, scan.MaxShort)
			fits(r.Hosts, scan.MaxShort)
			fits(r.RunAs, scan.MaxShort)
			fits(r.RunAsGroup, scan.MaxShort)
			fits(r.Commands, scan.MaxCommand)
			fit(&r.PasswordOf, scan.MaxShort)
		}
		fit(&a.Password.Algorithm, scan.MaxShort)
		for j := range a.Credentials {
			c := &a.Credentials[j]
			fit(&c.Location, scan.MaxPath)
			fit(&c.Name, scan.MaxShort)
			fit(&c.Algorithm, scan.MaxShort)
			fits(c.Options, scan.MaxCommand)
			fit(&c.Mode, scan.MaxShort)
			fits(c.Findings, scan.MaxText)
			fit(&c.Unit, scan.MaxShort)
		}
		for j := range a.UsedBy {
			u := &a.UsedBy[j]
			fit(&u.Name, scan.MaxPath)
			fit(&u.Detail, scan.MaxCommand)
			fit(&u.Schedule, scan.MaxShort)
			fit(&u.Source, scan.MaxPath)
			fit(&u.Description, scan.MaxText)
		}
		for j := range a.Exposure.Listening {
			l := &a.Exposure.Listening[j]
			fit(&l.Address, scan.MaxShort)
			fit(&l.Process, scan.MaxShort)
		}
		fits(a.Exposure.SSHReasons, scan.MaxText)
		if l := a.SSHCertLogin; l != nil {
			fit(&l.PrincipalsFile, scan.MaxPath)
			fits(l.Principals, scan.MaxShort)
		}
	}
	for i := range rep.Shared {
		fit(&rep.Shared[i].Type, scan.MaxShort)
		fits(rep.Shared[i].Locations, scan.MaxPath)
	}
	for i := range rep.Warnings {
		fit(&rep.Warnings[i].File, scan.MaxPath)
		fit(&rep.Warnings[i].Message, scan.MaxText)
	}
}

// mergeUsage merges uses that are equal in every field but the PID (a
// pool of workers with one command line) into one entry with a Count and
// the lowest PID, keeping the order of first occurrence. us is sorted by
// PID within a type and name.
func mergeUsage(us []scan.Usage) []scan.Usage {
	if len(us) < 2 {
		return us
	}
	out := us[:0]
	index := map[scan.Usage]int{} // the use with PID and Count zeroed -> its entry in out
	for _, u := range us {
		key := u
		key.PID, key.Count = 0, 0
		if i, ok := index[key]; ok {
			out[i].Count = out[i].Uses() + u.Uses()
			continue
		}
		index[key] = len(out)
		out = append(out, u)
	}
	return out
}

// compactStrings removes repeats, keeping the first occurrence's order.
func compactStrings(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Package inventorytest helps tests use a real inventory: [Open] creates one in
// a bbolt file under t.TempDir and, when the test ends, checks every
// invariant ([inventory.Inventory.Check]: summaries, indexes, the audit
// chain and bbolt's own page check) before closing it. [NewReport] and
// [Generate] build scan reports.
package inventorytest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/scan"
)

// Open opens a fresh inventory in t.TempDir()/inventory.db. It returns the
// inventory and the file's path.
func Open(t testing.TB, opts inventory.Options) (*inventory.Inventory, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inventory.db")
	inv, err := inventory.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("open inventory: %v", err)
	}
	t.Cleanup(func() { CheckClose(t, inv) })
	return inv, path
}

// CheckClose checks inv's invariants, then closes it. Closing twice is
// harmless, so tests may close early to reopen the file.
func CheckClose(t testing.TB, inv *inventory.Inventory) {
	t.Helper()
	if err := inv.Check(context.Background()); err != nil && !errors.Is(err, inventory.ErrClosed) {
		t.Errorf("inventory invariants: %v", err)
	}
	if err := inv.Close(); err != nil {
		t.Errorf("close inventory: %v", err)
	}
}

// NewReport returns a valid report of host scanned at at.
func NewReport(host, machineID string, at time.Time, accounts ...scan.Account) *scan.Report {
	return &scan.Report{
		SchemaVersion: scan.SchemaVersion,
		Scanner:       scan.Scanner{Name: "storetest", Version: "0"},
		Host: scan.Host{Hostname: host, MachineID: machineID, ScannedAt: at, Root: "/", Live: true,
			OS: scan.OS{ID: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)"}},
		Accounts: accounts,
	}
}

// Account returns a service account with uid and the given credentials.
func Account(name string, uid int, creds ...scan.Credential) scan.Account {
	return scan.Account{Name: name, UID: uid, GID: uid, Home: "/var/lib/" + name, Shell: "/usr/sbin/nologin",
		Kind: scan.KindService, KindEvidence: []string{"uid in system range"},
		Password: scan.Password{Status: "none"}, Credentials: creds}
}

// Cred returns a credential of type typ whose fingerprint derives from
// secret, so equal secrets give equal fingerprints.
func Cred(typ, location, secret string) scan.Credential {
	return scan.Credential{Type: typ, Location: location, Fingerprint: FP(secret)}
}

// FP is the fingerprint inventorytest uses for secret.
func FP(secret string) string {
	s := sha256.Sum256([]byte(secret))
	return "hmac-sha256:" + base64.RawURLEncoding.EncodeToString(s[:])
}

// Envs are the environments Generate spreads hosts over.
var Envs = []string{"prod", "staging", "dev", "qa"}

// Generate returns the i-th of a family of realistic reports: host
// "hostNNNNN" (machine-id derived from i) with n accounts: root and a few
// privileged ones, daemons listening on sockets, deploy users with SSH keys
// shared across the hosts of an environment, applications with secrets in
// files and unit environments, and accounts without credentials. The
// host's environment is Envs[i%len(Envs)]; tag it with env= to group it.
func Generate(i, n int, at time.Time) *scan.Report {
	env := Envs[i%len(Envs)]
	host := fmt.Sprintf("host%05d", i)
	mid := fmt.Sprintf("%032x", sha256.Sum256([]byte(host)))[:32]
	accts := make([]scan.Account, 0, n)
	for j := 0; j < n; j++ {
		var a scan.Account
		switch {
		case j == 0:
			a = Account("root", 0, Cred(scan.CredPassword, "/etc/shadow:1", "root-"+host))
			a.Privileged, a.PrivilegeReasons = true, []string{"uid 0"}
			a.LoginShell, a.Shell = true, "/bin/bash" // a service account: it holds a credential
			a.Password = scan.Password{Status: "usable", Algorithm: "yescrypt"}
		case j == 1:
			a = Account("deploy", 1000, Cred(scan.CredSSHAuthorizedKey, "/home/deploy/.ssh/authorized_keys:1", "deploy-key-"+env))
			a.Sudo = []scan.SudoRule{{Source: "/etc/sudoers.d/deploy:1", Via: "user", Hosts: []string{"ALL"}, Commands: []string{"ALL"}, NoPassword: true}}
			a.Privileged, a.PrivilegeReasons = true, []string{"sudo ALL"}
			a.Exposure = scan.Exposure{SSH: true, SSHReasons: []string{"authorized key"}}
		case j == 2:
			a = Account("postgres", 110, Cred(scan.CredSecretFile, "/var/lib/postgresql/.pgpass", "pg-"+host))
			a.Exposure.Listening = []scan.Socket{{Proto: "tcp", Address: "0.0.0.0", Port: 5432, Process: "postgres"}}
			a.UsedBy = []scan.Usage{{Type: scan.UsageSystemd, Name: "postgresql.service", Enabled: true}}
		case j == 3:
			a = Account("backup", 120, Cred(scan.CredSSHPrivateKey, "/var/backups/.ssh/id_ed25519", "backup-"+host),
				Cred(scan.CredSecretEnv, "unit backup.service", "s3-"+env))
			a.UsedBy = []scan.Usage{{Type: scan.UsageCron, Name: "/etc/cron.d/backup:3", Schedule: "0 3 * * *"}}
		case j == 4:
			a = Account("nginx", 33)
			a.Exposure.Listening = []scan.Socket{{Proto: "tcp6", Address: "::", Port: 443, Process: "nginx"}}
		case j%5 == 0:
			a = Account(fmt.Sprintf("app%02d", j), 2000+j, Cred(scan.CredPassword, fmt.Sprintf("/etc/shadow:%d", j), fmt.Sprintf("app%d-%s", j, host)))
			a.Password = scan.Password{Status: "usable", Algorithm: "sha512"}
		case j%5 == 1:
			a = Account(fmt.Sprintf("svc%02d", j), 2000+j, Cred(scan.CredSecretEnv, fmt.Sprintf("unit svc%02d.service", j), fmt.Sprintf("svc%d-%s", j, host)))
		case j%5 == 2:
			a = Account(fmt.Sprintf("job%02d", j), 2000+j, Cred(scan.CredSSHAuthorizedKey, fmt.Sprintf("/home/job%02d/.ssh/authorized_keys:1", j), fmt.Sprintf("job%d-%d", j, i)))
		default:
			a = Account(fmt.Sprintf("sys%02d", j), 100+j)
			a.Kind = scan.KindSystem
		}
		accts = append(accts, a)
	}
	return NewReport(host, mid, at, accts...)
}

// DirectoryReport returns a report like roster scan --ldap makes of an
// Active Directory domain scanned at at: svc-sql (an SPN, a password that
// never expires set 400 days before, a member of Domain Admins), svc-web
// (stale: last logon in 2012) and gmsa-app$ (a group managed service
// account: no static credential).
func DirectoryReport(domain string, at time.Time) *scan.Report {
	set, logon, old := at.Add(-400*24*time.Hour), at.Add(-24*time.Hour), time.Date(2012, 12, 14, 23, 6, 40, 0, time.UTC)
	age := 400
	dn := func(cn string) string { return "CN=" + cn + ",CN=Users,DC=" + strings.ReplaceAll(domain, ".", ",DC=") }
	pw := func(name string) []scan.Credential {
		return []scan.Credential{{Type: scan.CredPassword, Location: "ldap:" + dn(name), Fingerprint: FP("dir-" + name), ChangedAt: &set, AgeDays: &age,
			Findings: []string{"password unchanged for 400 days (pwdLastSet)"}}}
	}
	r := NewReport(domain, "", at,
		scan.Account{Name: "svc-sql", Kind: scan.KindDirectory, KindEvidence: []string{"has a servicePrincipalName"},
			Privileged: true, PrivilegeReasons: []string{"member of Domain Admins (recursive)"},
			Password:    scan.Password{Status: scan.PasswordUsable, LastChanged: &set, AgeDays: &age, NeverExpires: true},
			Credentials: pw("svc-sql"),
			Directory: &scan.DirectoryAccount{DN: dn("svc-sql"), ObjectClass: "user", SPNs: []string{"MSSQLSvc/db1." + domain + ":1433"},
				Flags: []string{"DONT_EXPIRE_PASSWORD"}, LastLogon: &logon}},
		scan.Account{Name: "svc-web", Kind: scan.KindDirectory, KindEvidence: []string{"has a servicePrincipalName"},
			Password:    scan.Password{Status: scan.PasswordUsable, LastChanged: &set, AgeDays: &age},
			Credentials: pw("svc-web"),
			Directory: &scan.DirectoryAccount{DN: dn("svc-web"), ObjectClass: "user", SPNs: []string{"HTTP/web." + domain},
				Flags: []string{"TRUSTED_TO_AUTH_FOR_DELEGATION"}, LastLogon: &old, Stale: true}},
		scan.Account{Name: "gmsa-app$", Kind: scan.KindDirectory,
			KindEvidence: []string{"managed service account (msDS-GroupManagedServiceAccount): the domain rotates its password"},
			Password:     scan.Password{Status: scan.PasswordNone},
			Directory: &scan.DirectoryAccount{DN: "CN=gmsa-app,CN=Managed Service Accounts,DC=" + strings.ReplaceAll(domain, ".", ",DC="),
				ObjectClass: "msDS-GroupManagedServiceAccount", SPNs: []string{"HTTP/app." + domain}, Managed: true, Stale: true}},
	)
	r.Scanner, r.Host.Root, r.Host.OS = scan.Scanner{Name: "roster-directory", Version: "0"}, "ldaps://dc."+domain, scan.OS{}
	return r
}

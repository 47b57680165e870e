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

package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/inventory"
)

func TestGoldenSSHGrants(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	if err := SSHGrants(&b, []inventory.SSHGrant{
		{Identity: "ci-runner@default", As: "deploy", Host: "app1", CreatedAt: at, CreatedBy: "token:admin"},
		{Identity: "backup@prod", As: "backup", Env: "prod", CreatedAt: at, CreatedBy: "token:ops"},
	}, FormatTable); err != nil {
		t.Fatal(err)
	}
	golden(t, "ssh-grants.table", b.Bytes())
	b.Reset()
	if err := SSHGrants(&b, nil, ""); err != nil || !strings.Contains(b.String(), "no SSH grants") {
		t.Errorf("empty: %q %v", b.String(), err)
	}
	if err := SSHGrants(&b, nil, "csv"); err == nil {
		t.Error("csv accepted")
	}
}

// Without a known holder of the private key the steps name placeholders;
// untrusted names are cleaned.
func TestGoldenSSHMigrationUnknownClient(t *testing.T) {
	var b bytes.Buffer
	m := &inventory.SSHMigration{Account: "backup", ServiceAccount: "backup@prod", Host: "db1", Env: "prod",
		Keys: []inventory.SSHMigrationKey{
			{Location: "/var/backups/.ssh/authorized_keys:1", Algorithm: "ssh-rsa"},
			{Location: "/var/backups/.ssh/authorized_keys2:7", Algorithm: "ssh-ed25519"},
		}}
	if err := SSHMigration(&b, m, "/var/lib/roster-agent"); err != nil {
		t.Fatal(err)
	}
	golden(t, "ssh-migrate.unknown-client", b.Bytes())
	b.Reset()
	m.Keys = []inventory.SSHMigrationKey{{Location: "/home/x/.ssh/authorized_keys:1\x1b[2J"}}
	if err := SSHMigration(&b, m, "/var/lib/roster-agent"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("escape passed through")
	}
}

func TestSSHDConfig(t *testing.T) {
	var b bytes.Buffer
	if err := SSHDConfig(&b, "", nil); err != nil {
		t.Fatal(err)
	}
	want := "TrustedUserCAKeys /etc/ssh/roster/user_ca.pub\nAuthorizedPrincipalsFile /etc/ssh/roster/principals/%u\n" +
		"RevokedKeys /etc/ssh/roster/revoked.krl\nHostCertificate /etc/ssh/roster/ssh_host_ed25519_key-cert.pub\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

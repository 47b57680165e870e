package render

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with
// -update. The goldens were written from the renderers as they stood in
// the inventory package before the restructure; output must not drift.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./render -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s drifted:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// fixture builds a small inventory with a fixed clock: two hosts in two
// environments, owners, an exception, a certificate, and a shared secret.
func fixture(t *testing.T) (*inventory.Inventory, time.Time) {
	t.Helper()
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	inv, _ := inventorytest.Open(t, inventory.Options{Now: func() time.Time { return t0 }})
	ctx := audit.WithActor(context.Background(), "golden")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(inv.TagHost(ctx, "app1", []string{"env=prod"}, nil))
	root := inventorytest.Account("root", 0, inventorytest.Cred("password", "/etc/shadow:1", "r"))
	root.Privileged, root.PrivilegeReasons = true, []string{"UID 0"}
	billing := inventorytest.Account("billing", 1001, inventorytest.Cred("password", "/etc/shadow:2", "b"),
		inventorytest.Cred("secret_env", "unit billing.service", "db"))
	etl := inventorytest.Account("etl", 1004, inventorytest.Cred("secret_file", "/home/etl/.pgpass", "db"))
	if _, err := inv.Ingest(ctx, inventorytest.NewReport("app1", "m-app1", t0.Add(-time.Hour), root, billing, etl)); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Ingest(ctx, inventorytest.NewReport("web1", "m-web1", t0.Add(-time.Hour), inventorytest.Account("nginx", 33,
		inventorytest.Cred("ssh_authorized_key", "/var/www/.ssh/authorized_keys:1", "k")))); err != nil {
		t.Fatal(err)
	}
	must(inv.SetOwner(ctx, "billing", inventory.Owner{Name: "team-billing", Contact: "billing@example.com"}))
	if _, err := inv.AddException(ctx, inventory.Exception{Account: "billing", Owner: "team-billing", Reason: "kept until the agent rollout",
		Expires: t0.Add(30 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	must(inv.RecordIssued(ctx, "app1", "billing", "1234", t0.Add(-time.Minute), t0.Add(time.Hour), false))
	// An account no scan finds, and an operator's purpose.
	if _, err := inv.AddRegistered(ctx, inventory.NewAccount{Name: "mf-batch", System: "mainframe ledger", Kind: "legacy",
		Credential: "static_password", Owner: "team-ledger", Remedy: "gateway", Purpose: "nightly ledger export"}); err != nil {
		t.Fatal(err)
	}
	must(inv.SetPurpose(ctx, "billing", "charges customers nightly"))
	return inv, t0
}

func TestGoldenReports(t *testing.T) {
	inv, t0 := fixture(t)
	ctx := context.Background()
	rep, err := inv.Report(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	// roster's own operators, as the server adds them: an admin signing in
	// with a passkey, and a viewer with its token alone.
	used := t0.Add(-time.Hour)
	rep.AddOperators([]inventory.Operator{inventory.NewOperator("admin", "admin", 1, &used), inventory.NewOperator("ci", "viewer", 0, nil)})
	accts, err := inv.ListAccounts(ctx, inventory.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FormatTable, FormatCSV, FormatMarkdown} {
		var b bytes.Buffer
		if err := Report(&b, rep, f); err != nil {
			t.Fatal(err)
		}
		golden(t, "report."+f, b.Bytes())
	}
	for _, f := range []string{FormatTable, FormatCSV} {
		var b bytes.Buffer
		if err := Accounts(&b, accts, f); err != nil {
			t.Fatal(err)
		}
		golden(t, "accounts."+f, b.Bytes())
	}
	acct, err := inv.GetAccount(ctx, "billing")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Account(&b, acct, t0); err != nil {
		t.Fatal(err)
	}
	golden(t, "account.table", b.Bytes())
	hosts, err := inv.ListHosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FormatTable, FormatCSV} {
		b.Reset()
		if err := Hosts(&b, hosts, f); err != nil {
			t.Fatal(err)
		}
		golden(t, "hosts."+f, b.Bytes())
	}
	excs, err := inv.ListExceptions(ctx, inventory.ExceptionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FormatTable, FormatCSV} {
		b.Reset()
		if err := Exceptions(&b, excs, f, t0); err != nil {
			t.Fatal(err)
		}
		golden(t, "exceptions."+f, b.Bytes())
	}
	events, err := audit.List(ctx, inv, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range events { // hashes are time-independent here, but keep the file readable
		events[i].Hash, events[i].PrevHash = strings.Repeat("h", 8), strings.Repeat("p", 8)
	}
	b.Reset()
	if err := Audit(&b, events); err != nil {
		t.Fatal(err)
	}
	golden(t, "audit.table", b.Bytes())
	b.Reset()
	created := t0.Add(-48 * time.Hour)
	if err := Tokens(&b, []access.Token{{ID: "tok-0001", Name: "admin", Role: access.RoleAdmin, CreatedAt: created, CreatedBy: "system"},
		{ID: "tok-0002", Name: "ci", Role: access.RoleViewer, CreatedAt: created, RevokedAt: &t0}}); err != nil {
		t.Fatal(err)
	}
	golden(t, "tokens.table", b.Bytes())
	b.Reset()
	if err := Passkeys(&b, []access.Passkey{
		{ID: "pk-0001", TokenID: "tok-0001", TokenName: "admin", Name: "yubikey", CreatedAt: created, LastUsedAt: &used, SignCount: 12},
		{ID: "pk-0002", TokenID: "tok-0001", TokenName: "admin", Name: "laptop", CreatedAt: created, Synced: true},
		{ID: "pk-0003", TokenID: "tok-0002", TokenName: "ci", Name: "old key", CreatedAt: created, SignCount: 3, CloneWarning: true},
		{ID: "pk-0004", TokenID: "tok-0002", TokenName: "ci", Name: "lost", CreatedAt: created, RevokedAt: &t0, RevokedBy: "token:admin"}}); err != nil {
		t.Fatal(err)
	}
	golden(t, "passkeys.table", b.Bytes())
}

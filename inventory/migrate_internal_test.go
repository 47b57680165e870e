package inventory

import (
	"testing"
	"time"

	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// TestMigrationRecountLongCerts opens a v2 store whose summary counts a
// backdated 24-hour certificate as long-lived, as v2 did: the migration
// recounts it, so the account is on a short-lived certificate and the
// summaries agree with the instances.
func TestMigrationRecountLongCerts(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	inv, path := openTemp(t)
	rep := &scan.Report{SchemaVersion: scan.SchemaVersion, Scanner: scan.Scanner{Name: "test", Version: "0"},
		Host: scan.Host{Hostname: "h", ScannedAt: at, Root: "/"},
		Accounts: []scan.Account{
			{Name: "day", UID: 5, Kind: scan.KindService, Password: scan.Password{Status: scan.PasswordNone}},
			{Name: "week", UID: 6, Kind: scan.KindService, Password: scan.Password{Status: scan.PasswordNone}},
		}}
	if _, err := inv.Ingest(bg, rep); err != nil {
		t.Fatal(err)
	}
	for acct, d := range map[string]time.Duration{"day": 24 * time.Hour, "week": 7 * 24 * time.Hour} {
		if err := inv.RecordIssued(bg, "h", acct, "s-"+acct, at.Add(-time.Minute), at.Add(d), false); err != nil {
			t.Fatal(err)
		}
	}
	// Back to what v2 wrote: day@default counted as long-lived.
	if err := inv.store.Update(bg, func(tx store.Tx) error {
		var r saRecord
		if _, err := getJSON(tx, tSA, []byte("day@default"), &r); err != nil {
			return err
		}
		r.Sum.LongCert = 1
		if err := putJSON(tx, tSA, []byte(r.Key), &r); err != nil {
			return err
		}
		return tx.Put(store.MetaTable, []byte(schemaKey), store.U64(2))
	}); err != nil {
		t.Fatal(err)
	}
	if err := inv.Check(bg); err == nil {
		t.Fatal("the v2 summary agrees with v3's count: the test sets up nothing")
	}
	inv.Close()
	inv, err := Open(bg, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	if err := inv.Check(bg); err != nil {
		t.Errorf("after the migration: %v", err)
	}
	for acct, want := range map[string]Strength{"day": StrengthShortLivedCert, "week": StrengthLongLivedCert} {
		if a, err := inv.GetAccount(bg, acct); err != nil || a.Strength != want {
			t.Errorf("%s: %v, %v; want %v", acct, a.Strength, err, want)
		}
	}
}

// TestMigrationRefreshFacts opens a v4 store whose facts and summaries
// predate FIDO keys and credential locations: the migration recomputes
// them from the stored scan data, so an sk- key only account is
// hardware-bound and its level names the key.
func TestMigrationRefreshFacts(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	inv, path := openTemp(t)
	sk := scan.Credential{Type: scan.CredSSHAuthorizedKey, Location: "/home/ops/.ssh/authorized_keys:1",
		Fingerprint: "SHA256:83ny0sBD6XvpUfb31f8h4vb4GZRmF5WvKEmNe8GtLQU", Algorithm: scan.KeyAlgoSKEd25519}
	pw := scan.Credential{Type: scan.CredPassword, Location: "/etc/shadow:7", Fingerprint: "hmac-sha256:e9wl0WlO-YR4Khb2e9wl0WlO-YR4Khb2e9wl0WlO-YR"}
	rep := &scan.Report{SchemaVersion: scan.SchemaVersion, Scanner: scan.Scanner{Name: "test", Version: "0"},
		Host: scan.Host{Hostname: "h", ScannedAt: at, Root: "/"},
		Accounts: []scan.Account{
			{Name: "ops", UID: 5, Kind: scan.KindService, Password: scan.Password{Status: scan.PasswordNone}, Credentials: []scan.Credential{sk}},
			{Name: "app", UID: 6, Kind: scan.KindService, Password: scan.Password{Status: scan.PasswordNone}, Credentials: []scan.Credential{pw}},
		}}
	if _, err := inv.Ingest(bg, rep); err != nil {
		t.Fatal(err)
	}
	// Back to what v4 wrote: no HW, no Where.
	if err := inv.store.Update(bg, func(tx store.Tx) error {
		var keys [][]byte
		if err := tx.Scan(tInst, nil, func(k, _ []byte) error {
			keys = append(keys, append([]byte(nil), k...))
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			var ir instRecord
			if _, err := getInst(tx, k, &ir); err != nil {
				return err
			}
			ir.Facts.HW, ir.Facts.Where = 0, nil
			if err := putInst(tx, k, &ir); err != nil {
				return err
			}
		}
		for _, key := range []string{"ops@default", "app@default"} {
			var r saRecord
			if _, err := getJSON(tx, tSA, []byte(key), &r); err != nil {
				return err
			}
			r.Sum.HW, r.Sum.Where = 0, nil
			if err := putJSON(tx, tSA, []byte(r.Key), &r); err != nil {
				return err
			}
		}
		return tx.Put(store.MetaTable, []byte(schemaKey), store.U64(4))
	}); err != nil {
		t.Fatal(err)
	}
	if a, _ := inv.GetAccount(bg, "ops"); a.Strength != StrengthStaticSSHKey {
		t.Fatalf("the v4 store ranks ops %v: the test sets up nothing", a.Strength)
	}
	inv.Close()
	inv, err := Open(bg, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	if err := inv.Check(bg); err != nil {
		t.Errorf("after the migration: %v", err)
	}
	for _, tc := range []struct {
		acct string
		want Strength
		by   string
	}{
		{"ops", StrengthHardwareBound, "sk-ssh-ed25519@openssh.com key at /home/ops/.ssh/authorized_keys:1 on h"},
		{"app", StrengthStaticPassword, "password at /etc/shadow:7 on h"},
	} {
		if a, err := inv.GetAccount(bg, tc.acct); err != nil || a.Strength != tc.want || a.StrengthBy != tc.by {
			t.Errorf("%s: %v by %q, %v; want %v by %q", tc.acct, a.Strength, a.StrengthBy, err, tc.want, tc.by)
		}
	}
}

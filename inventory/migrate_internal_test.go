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

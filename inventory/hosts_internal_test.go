package inventory

import (
	"errors"
	"testing"
	"time"

	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// TestMigrationBindsEnrolledHosts opens a v2 store with enrolled hosts:
// each is bound to the identity named by its hostname, except a record
// whose hostname the index gives to another one.
func TestMigrationBindsEnrolledHosts(t *testing.T) {
	s, path := openBare(t)
	if err := store.Migrate(bg, s, schemaKey, migrations[:2]); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cert := &CertState{Serial: "01", IssuedAt: at, NotBefore: at, NotAfter: at.Add(time.Hour)}
	hosts := []hostRecord{
		{Host: Host{ID: "h1", Hostname: "app1", MachineID: "m1", Cert: cert}},
		{Host: Host{ID: "h2", Hostname: "app2", MachineID: "m2"}},             // never enrolled
		{Host: Host{ID: "h3", Hostname: "app1", MachineID: "m3", Cert: cert}}, // a second app1 row
	}
	if err := s.Update(bg, func(tx store.Tx) error {
		for i := range hosts {
			if err := putJSON(tx, tHosts, []byte(hosts[i].ID), &hosts[i]); err != nil {
				return err
			}
		}
		if err := tx.Put(tHostName, []byte("app1"), []byte("h1")); err != nil {
			return err
		}
		return tx.Put(tHostName, []byte("app2"), []byte("h2"))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	inv, err := Open(bg, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	err = inv.store.View(bg, func(tx store.Tx) error {
		for _, tc := range []struct {
			identity, bound string
		}{{"app1", "h1"}, {"app2", ""}} {
			h, err := boundHost(tx, tc.identity)
			if err != nil {
				return err
			}
			switch {
			case tc.bound == "" && h != nil:
				t.Errorf("%s bound to %s", tc.identity, h.ID)
			case tc.bound != "" && (h == nil || h.ID != tc.bound || h.Bound.Hostname != "app1" || h.Bound.MachineID != "m1" || !h.Bound.At.Equal(at)):
				t.Errorf("%s bound to %+v, want %s", tc.identity, h, tc.bound)
			}
		}
		var h3 hostRecord
		if _, err := getJSON(tx, tHosts, []byte("h3"), &h3); err != nil || h3.Bound != nil {
			t.Errorf("the second app1 row: %+v, %v", h3.Bound, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Check(bg); err != nil {
		t.Error(err)
	}
}

// TestFrozenHostThaws: a host frozen before receive times were stored (its
// last scan in 2099, no receive time) takes its next real report.
func TestFrozenHostThaws(t *testing.T) {
	inv, _ := openTemp(t)
	now := time.Now().UTC()
	r := &scan.Report{SchemaVersion: scan.SchemaVersion, Scanner: scan.Scanner{Name: "t", Version: "0"},
		Host: scan.Host{Hostname: "app1", MachineID: "m1", ScannedAt: now, Root: "/", Live: true, OS: scan.OS{ID: "debian"}}}
	if _, err := inv.Ingest(bg, r); err != nil {
		t.Fatal(err)
	}
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := inv.store.Update(bg, func(tx store.Tx) error {
		h, err := findHost(tx, "app1")
		if err != nil {
			return err
		}
		h.LastScan, h.Received = future, time.Time{}
		return putJSON(tx, tHosts, []byte(h.ID), h)
	}); err != nil {
		t.Fatal(err)
	}
	r.Host.ScannedAt = now.Add(time.Second)
	res, err := inv.Ingest(bg, r)
	if err != nil || res.Stale || res.Unchanged {
		t.Fatalf("report after the freeze: %+v, %v", res, err)
	}
	d, err := inv.GetHost(bg, "app1")
	if err != nil || !d.LastScan.Equal(r.Host.ScannedAt.UTC()) {
		t.Errorf("last scan %v, %v", d.LastScan, err)
	}
	if _, err := inv.GetHost(bg, "nope"); !errors.Is(err, ErrNotFound) {
		t.Error(err)
	}
}

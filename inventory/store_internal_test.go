package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
	bolt "go.etcd.io/bbolt"
)

var bg = audit.WithActor(context.Background(), "test")

func openTemp(t *testing.T) (*Inventory, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inventory.db")
	inv, err := Open(bg, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inv.Close() })
	return inv, path
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("not a database\n", 1000)), 0o600)
	short := filepath.Join(dir, "short.db")
	os.WriteFile(short, []byte("hello"), 0o600)
	foreign := filepath.Join(dir, "foreign.db")
	db, err := bolt.Open(foreign, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("x509_certs")); return err })
	db.Close()
	for _, p := range []string{garbage, short, foreign} {
		before, _ := os.ReadFile(p)
		_, err := Open(bg, p, Options{})
		if !errors.Is(err, ErrNotInventory) {
			t.Errorf("%s: err = %v, want ErrNotInventory", filepath.Base(p), err)
		}
		after, _ := os.ReadFile(p)
		if string(before) != string(after) {
			t.Errorf("%s: Open modified a foreign file", filepath.Base(p))
		}
	}
	// A second opener of a live inventory gets a clear lock error.
	inv, path := openTemp(t)
	_ = inv
	_, err = Open(bg, path, Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Errorf("second open: %v, want locked", err)
	}
}

// openBare opens a new bbolt store under the inventory's adapter, without
// migrations.
func openBare(t *testing.T) (*store.Bolt, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inventory.db")
	bs, err := store.OpenBolt(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	return bs, path
}

// TestMigrationDropSerialIndex opens a v1 store that has the serial index
// with this program: the index is emptied and nothing else is touched.
func TestMigrationDropSerialIndex(t *testing.T) {
	s, path := openBare(t)
	if err := store.Migrate(bg, s, schemaKey, migrations[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(bg, func(tx store.Tx) error {
		for i := range 3 {
			if err := tx.Put(tSerialV1, []byte(fmt.Sprint(1000+i)), store.Join("HOSTID", "app")); err != nil {
				return err
			}
		}
		return tx.Put("audit", store.U64(1), []byte("{}"))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	inv, err := Open(bg, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	inv.store.View(bg, func(tx store.Tx) error {
		if v, err := store.SchemaVersion(tx, schemaKey); err != nil || v != SchemaVersion() {
			t.Errorf("schema %d, %v; want %d", v, err, SchemaVersion())
		}
		n := 0
		tx.Scan(tSerialV1, nil, func(_, _ []byte) error { n++; return nil })
		if n != 0 {
			t.Errorf("%d serial index entries left", n)
		}
		if v, _ := tx.Get("audit", store.U64(1)); v == nil {
			t.Error("the migration removed an audit record")
		}
		return nil
	})
}

func TestViewUpdateCheckContext(t *testing.T) {
	inv, _ := openTemp(t)
	c, cancel := context.WithCancel(bg)
	cancel()
	if err := inv.store.View(c, func(store.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("View: %v", err)
	}
	if err := inv.store.Update(c, func(store.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Update: %v", err)
	}
	if _, err := inv.ListHosts(c); !errors.Is(err, context.Canceled) {
		t.Errorf("ListHosts: %v", err)
	}
	// Byte slices outlive their transaction.
	var got []byte
	inv.store.Update(bg, func(tx store.Tx) error { return tx.Put("t", []byte("k"), []byte("value")) })
	inv.store.View(bg, func(tx store.Tx) error { got, _ = tx.Get("t", []byte("k")); return nil })
	inv.store.Update(bg, func(tx store.Tx) error {
		for i := 0; i < 1000; i++ {
			tx.Put("t", []byte(fmt.Sprint(i)), make([]byte, 512))
		}
		return nil
	})
	if string(got) != "value" {
		t.Errorf("copied value changed to %q", got)
	}
}

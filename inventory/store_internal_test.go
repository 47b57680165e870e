package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/inventory/internal/boltstore"
	bolt "go.etcd.io/bbolt"
)

var bg = WithActor(context.Background(), "test")

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
func openBare(t *testing.T) (boltAdapter, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inventory.db")
	bs, err := boltstore.Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	return boltAdapter{bs}, path
}

func TestMigrations(t *testing.T) {
	s, _ := openBare(t)
	defer s.Close()
	var err error
	var ran []string
	step := func(name string) migration {
		return migration{name: name, fn: func(tx Tx) error {
			ran = append(ran, name)
			return tx.Put("t", []byte(name), []byte("x"))
		}}
	}
	version := func() int {
		var v int
		s.View(bg, func(tx Tx) error { v, err = readSchema(tx); return err })
		return v
	}
	if err := migrate(bg, s, []migration{step("v1")}); err != nil || version() != 1 {
		t.Fatalf("v1: %v, version %d", err, version())
	}
	// Reopening with two more runs only those.
	if err := migrate(bg, s, []migration{step("v1"), step("v2"), step("v3")}); err != nil || version() != 3 {
		t.Fatalf("v3: %v, version %d", err, version())
	}
	if fmt.Sprint(ran) != "[v1 v2 v3]" {
		t.Errorf("ran %v", ran)
	}
	// A failing migration leaves the version where it was.
	bad := migration{name: "v4", fn: func(tx Tx) error {
		tx.Put("t", []byte("v4"), []byte("x"))
		return errors.New("boom")
	}}
	if err := migrate(bg, s, []migration{step("v1"), step("v2"), step("v3"), bad}); err == nil || !strings.Contains(err.Error(), "migration 4 (v4)") {
		t.Errorf("failing migration: %v", err)
	}
	if version() != 3 {
		t.Errorf("version after failure %d", version())
	}
	s.View(bg, func(tx Tx) error {
		if v, _ := tx.Get("t", []byte("v4")); v != nil {
			t.Error("failed migration left a write")
		}
		return nil
	})
	// A store newer than the program is refused.
	if err := migrate(bg, s, []migration{step("v1")}); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("older program: %v", err)
	}
}

// TestMigrationDropSerialIndex opens a v1 store that has the serial index
// with this program: the index is emptied and nothing else is touched.
func TestMigrationDropSerialIndex(t *testing.T) {
	s, path := openBare(t)
	if err := migrate(bg, s, migrations[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(bg, func(tx Tx) error {
		for i := range 3 {
			if err := tx.Put(tSerialV1, []byte(fmt.Sprint(1000+i)), join("HOSTID", "app")); err != nil {
				return err
			}
		}
		return tx.Put(tAudit, u64key(1), []byte("{}"))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	inv, err := Open(bg, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	inv.store.View(bg, func(tx Tx) error {
		if v, err := readSchema(tx); err != nil || v != SchemaVersion() {
			t.Errorf("schema %d, %v; want %d", v, err, SchemaVersion())
		}
		n := 0
		tx.Scan(tSerialV1, nil, func(_, _ []byte) error { n++; return nil })
		if n != 0 {
			t.Errorf("%d serial index entries left", n)
		}
		if v, _ := tx.Get(tAudit, u64key(1)); v == nil {
			t.Error("the migration removed an audit record")
		}
		return nil
	})
}

func TestViewUpdateCheckContext(t *testing.T) {
	inv, _ := openTemp(t)
	c, cancel := context.WithCancel(bg)
	cancel()
	if err := inv.store.View(c, func(Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("View: %v", err)
	}
	if err := inv.store.Update(c, func(Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Update: %v", err)
	}
	if _, err := inv.ListHosts(c); !errors.Is(err, context.Canceled) {
		t.Errorf("ListHosts: %v", err)
	}
	// Byte slices outlive their transaction.
	var got []byte
	inv.store.Update(bg, func(tx Tx) error { return tx.Put("t", []byte("k"), []byte("value")) })
	inv.store.View(bg, func(tx Tx) error { got, _ = tx.Get("t", []byte("k")); return nil })
	inv.store.Update(bg, func(tx Tx) error {
		for i := 0; i < 1000; i++ {
			tx.Put("t", []byte(fmt.Sprint(i)), make([]byte, 512))
		}
		return nil
	})
	if string(got) != "value" {
		t.Errorf("copied value changed to %q", got)
	}
}

// TestBatchIsolation runs many group-committed requests, every third of
// which writes and then fails: the failing ones leave nothing, the others
// all commit, whatever batches they shared.
func TestBatchIsolation(t *testing.T) {
	inv, _ := openTemp(t)
	var wg sync.WaitGroup
	for i := 0; i < 300; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := inv.batchUpdate(bg, func(tx Tx) error {
				if err := tx.Put("t", []byte(fmt.Sprintf("k%03d", i)), []byte("v")); err != nil {
					return err
				}
				if i%3 == 0 {
					return fmt.Errorf("request %d fails", i)
				}
				return nil
			})
			if (err != nil) != (i%3 == 0) {
				t.Errorf("request %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	inv.store.View(bg, func(tx Tx) error {
		for i := 0; i < 300; i++ {
			v, _ := tx.Get("t", []byte(fmt.Sprintf("k%03d", i)))
			if (v != nil) == (i%3 == 0) {
				t.Errorf("k%03d present=%v", i, v != nil)
			}
		}
		return nil
	})
}

func TestAuditTamperDetected(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		tamper func(t *testing.T, s *boltstore.Store)
		seq    uint64
	}{
		{"edited detail", func(t *testing.T, s *boltstore.Store) {
			editAudit(t, s, 2, func(e *AuditEvent) { e.Detail = "nothing happened" })
		}, 2},
		{"edited and rehashed", func(t *testing.T, s *boltstore.Store) {
			editAudit(t, s, 2, func(e *AuditEvent) { e.Actor = "someone-else"; e.Hash = auditHash(e) })
		}, 3},
		{"deleted middle record", func(t *testing.T, s *boltstore.Store) { s.Raw(tAudit, u64key(2), nil) }, 2},
		{"deleted last record", func(t *testing.T, s *boltstore.Store) { s.Raw(tAudit, u64key(4), nil) }, 4},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			inv, path := openTemp(t)
			for i := 0; i < 4; i++ {
				if err := inv.AppendAudit(bg, AuditEvent{Action: "test", Detail: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := inv.VerifyAudit(bg); err != nil {
				t.Fatalf("untouched log: %v", err)
			}
			inv.Close()
			s, err := boltstore.Open(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			tc.tamper(t, s)
			s.Close()
			inv, err = Open(bg, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer inv.Close()
			_, err = inv.VerifyAudit(bg)
			var ae *AuditError
			if !errors.As(err, &ae) || !errors.Is(err, ErrAuditTampered) || ae.Seq != tc.seq {
				t.Errorf("VerifyAudit = %v, want an AuditError at %d", err, tc.seq)
			}
		})
	}
}

func editAudit(t *testing.T, s *boltstore.Store, seq uint64, edit func(*AuditEvent)) {
	t.Helper()
	var e AuditEvent
	s.View(bg, func(tx *boltstore.Tx) error {
		b, _ := tx.Get(tAudit, u64key(seq))
		return json.Unmarshal(b, &e)
	})
	edit(&e)
	b, _ := json.Marshal(e)
	if err := s.Raw(tAudit, u64key(seq), b); err != nil {
		t.Fatal(err)
	}
}

func TestAuditListAndExport(t *testing.T) {
	inv, _ := openTemp(t)
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	inv.AppendAudit(bg, AuditEvent{Time: t1, Action: "cert.issue", Account: "app", Host: "h", Serial: "01"})
	inv.AppendAudit(bg, AuditEvent{Time: t1.Add(time.Hour), Action: "cert.renew", Account: "app", Host: "h", Serial: "02"})
	inv.AppendAudit(bg, AuditEvent{Time: t1.Add(2 * time.Hour), Action: "owner.set", Account: "db@prod"})
	if err := inv.AppendAudit(bg, AuditEvent{}); err == nil {
		t.Error("record without action accepted")
	}
	for _, tc := range []struct {
		f    AuditFilter
		want int
	}{{AuditFilter{}, 3}, {AuditFilter{Account: "app"}, 2}, {AuditFilter{Account: "db"}, 1}, {AuditFilter{Since: t1.Add(30 * time.Minute)}, 2}, {AuditFilter{Limit: 1}, 1}} {
		got, err := inv.ListAudit(bg, tc.f)
		if err != nil || len(got) != tc.want {
			t.Errorf("ListAudit(%+v) = %d records, %v; want %d", tc.f, len(got), err, tc.want)
		}
	}
	all, _ := inv.ListAudit(bg, AuditFilter{})
	var buf strings.Builder
	if err := WriteAuditJSONL(&buf, all); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"actor":"test"`) || !strings.Contains(lines[1], `"prev_hash":"`+all[0].Hash) {
		t.Errorf("jsonl:\n%s", buf.String())
	}
}

// TestCloseDuringIngest closes the inventory while requests are queued:
// every call returns, either committed or with ErrClosed.
func TestCloseDuringIngest(t *testing.T) {
	inv, _ := openTemp(t)
	var wg sync.WaitGroup
	var done, closed atomic.Int32
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := inv.batchUpdate(bg, func(tx Tx) error { return tx.Put("t", []byte(fmt.Sprint(i)), []byte("v")) })
			switch {
			case err == nil:
				done.Add(1)
			case errors.Is(err, ErrClosed):
				closed.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	inv.Close()
	wg.Wait()
	if done.Load()+closed.Load() != 200 {
		t.Errorf("%d committed + %d refused != 200", done.Load(), closed.Load())
	}
}

// TestStoreContract checks the Store contract that every implementation
// (bbolt here, PostgreSQL later) must keep: ordered prefix scans, absent
// keys and tables, rollback on error, copies that outlive the transaction.
func TestStoreContract(t *testing.T) {
	inv, _ := openTemp(t)
	s := inv.store
	put := func(tx Tx, k, v string) {
		if err := tx.Put("c", []byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(bg, func(tx Tx) error {
		for _, k := range []string{"b\x00\x02", "a", "b\x00\x01", "b", "ba", "c"} {
			put(tx, k, "v:"+k)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := s.Update(bg, func(tx Tx) error {
		put(tx, "a", "changed")
		tx.Delete("c", []byte("b"))
		return boom
	}); err != boom {
		t.Errorf("Update returned %v, want fn's error unchanged", err)
	}
	scan := func(prefix string) string {
		var keys []string
		s.View(bg, func(tx Tx) error {
			return tx.Scan("c", []byte(prefix), func(k, v []byte) error {
				if string(v) != "v:"+string(k) {
					t.Errorf("value of %q = %q", k, v)
				}
				keys = append(keys, strings.ReplaceAll(string(k), "\x00", "|"))
				return nil
			})
		})
		return strings.Join(keys, " ")
	}
	for _, tc := range []struct{ prefix, want string }{
		{"", "a b b|\x01 b|\x02 ba c"},
		{"b", "b b|\x01 b|\x02 ba"},
		{"b\x00", "b|\x01 b|\x02"},
		{"z", ""},
	} {
		if got := scan(tc.prefix); got != tc.want {
			t.Errorf("Scan(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
	s.View(bg, func(tx Tx) error {
		if v, err := tx.Get("nosuchtable", []byte("a")); v != nil || err != nil {
			t.Errorf("absent table: %q, %v", v, err)
		}
		if v, err := tx.Get("c", []byte("zz")); v != nil || err != nil {
			t.Errorf("absent key: %q, %v", v, err)
		}
		n := 0
		err := tx.Scan("c", nil, func(_, _ []byte) error { n++; return errStop })
		if err != errStop || n != 1 {
			t.Errorf("stopping a scan: %v after %d", err, n)
		}
		return nil
	})
	if err := s.Update(bg, func(tx Tx) error { return tx.Delete("nosuchtable", []byte("x")) }); err != nil {
		t.Errorf("deleting from an absent table: %v", err)
	}
}

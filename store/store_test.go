package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

var bg = context.Background()

// openBolt opens a fresh bbolt store in t.TempDir(), checked and closed
// when the test ends.
func openBolt(t *testing.T) *Bolt {
	t.Helper()
	s, err := OpenBolt(filepath.Join(t.TempDir(), "test.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(bg); err != nil {
			t.Errorf("bbolt check: %v", err)
		}
		s.Close()
	})
	return s
}

func openGroup(t *testing.T) (*Group, *Bolt) {
	s := openBolt(t)
	g := NewGroup(s, GroupOptions{})
	t.Cleanup(g.Close)
	return g, s
}

func TestMigrations(t *testing.T) {
	s := openBolt(t)
	var err error
	var ran []string
	step := func(name string) Migration {
		return Migration{Name: name, Fn: func(tx Tx) error {
			ran = append(ran, name)
			return tx.Put("t", []byte(name), []byte("x"))
		}}
	}
	version := func() int {
		var v int
		s.View(bg, func(tx Tx) error { v, err = SchemaVersion(tx, "schema"); return err })
		return v
	}
	if err := Migrate(bg, s, "schema", []Migration{step("v1")}); err != nil || version() != 1 {
		t.Fatalf("v1: %v, version %d", err, version())
	}
	// Reopening with two more runs only those.
	if err := Migrate(bg, s, "schema", []Migration{step("v1"), step("v2"), step("v3")}); err != nil || version() != 3 {
		t.Fatalf("v3: %v, version %d", err, version())
	}
	if fmt.Sprint(ran) != "[v1 v2 v3]" {
		t.Errorf("ran %v", ran)
	}
	// A failing migration leaves the version where it was.
	bad := Migration{Name: "v4", Fn: func(tx Tx) error {
		tx.Put("t", []byte("v4"), []byte("x"))
		return errors.New("boom")
	}}
	if err := Migrate(bg, s, "schema", []Migration{step("v1"), step("v2"), step("v3"), bad}); err == nil || !strings.Contains(err.Error(), "migration 4 (v4)") {
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
	if err := Migrate(bg, s, "schema", []Migration{step("v1")}); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("older program: %v", err)
	}
}

// TestBatchIsolation runs many group-committed requests, every third of
// which writes and then fails: the failing ones leave nothing, the others
// all commit, whatever batches they shared.
func TestBatchIsolation(t *testing.T) {
	g, s := openGroup(t)
	var wg sync.WaitGroup
	for i := 0; i < 300; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := g.Update(bg, func(tx Tx) error {
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
	s.View(bg, func(tx Tx) error {
		for i := 0; i < 300; i++ {
			v, _ := tx.Get("t", []byte(fmt.Sprintf("k%03d", i)))
			if (v != nil) == (i%3 == 0) {
				t.Errorf("k%03d present=%v", i, v != nil)
			}
		}
		return nil
	})
}

// TestCloseDuringIngest closes the group while requests are queued:
// every call returns, either committed or with ErrClosed.
func TestCloseDuringIngest(t *testing.T) {
	g, _ := openGroup(t)
	var wg sync.WaitGroup
	var done, closed atomic.Int32
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := g.Update(bg, func(tx Tx) error { return tx.Put("t", []byte(fmt.Sprint(i)), []byte("v")) })
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
	g.Close()
	wg.Wait()
	if done.Load()+closed.Load() != 200 {
		t.Errorf("%d committed + %d refused != 200", done.Load(), closed.Load())
	}
}

// TestStoreContract checks the Store contract that every implementation
// (bbolt here, PostgreSQL later) must keep: ordered prefix scans, absent
// keys and tables, rollback on error, copies that outlive the transaction.
func TestStoreContract(t *testing.T) {
	s := openBolt(t)
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
		err := tx.Scan("c", nil, func(_, _ []byte) error { n++; return ErrStop })
		if err != ErrStop || n != 1 {
			t.Errorf("stopping a scan: %v after %d", err, n)
		}
		return nil
	})
	if err := s.Update(bg, func(tx Tx) error { return tx.Delete("nosuchtable", []byte("x")) }); err != nil {
		t.Errorf("deleting from an absent table: %v", err)
	}
}

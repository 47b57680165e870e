// Package storetest is the contract suite every [store.Store] must pass:
// ordered prefix scans, absent keys and tables, copies that outlive the
// transaction, rollback on error, durability across a reopen, concurrent
// Updates that serialize (counters end exact), migrations, and group
// commit on top. Start with [Run]; store's own tests run it against bbolt
// and PostgreSQL.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rosterhq/roster/store"
)

// Factory prepares one fresh, empty store location for t and returns a
// function opening it; each call opens the same location (for
// durability), and the suite closes what it opens.
type Factory func(t *testing.T) (open func() store.Store)

var bg = context.Background()

// Run runs the whole suite, one subtest per property.
func Run(t *testing.T, f Factory) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, func() store.Store)
	}{
		{"Contract", testContract},
		{"Copies", testCopies},
		{"Rollback", testRollback},
		{"Durability", testDurability},
		{"LongScan", testLongScan},
		{"Context", testContext},
		{"ConcurrentCounter", testConcurrentCounter},
		{"Migrations", testMigrations},
		{"GroupCounter", testGroupCounter},
		{"GroupIsolation", testGroupIsolation},
		{"GroupClose", testGroupClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open := f(t)
			tc.fn(t, open)
		})
	}
}

// opened opens the store and closes it when the test ends.
func opened(t *testing.T, open func() store.Store) store.Store {
	s := open()
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t *testing.T, tx store.Tx, table, k, v string) {
	t.Helper()
	if err := tx.Put(table, []byte(k), []byte(v)); err != nil {
		t.Fatal(err)
	}
}

func scanKeys(t *testing.T, s store.Store, table, prefix string) string {
	t.Helper()
	var keys []string
	err := s.View(bg, func(tx store.Tx) error {
		return tx.Scan(table, []byte(prefix), func(k, v []byte) error {
			if string(v) != "v:"+string(k) {
				t.Errorf("value of %q = %q", k, v)
			}
			keys = append(keys, strings.ReplaceAll(string(k), "\x00", "|"))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(keys, " ")
}

func testContract(t *testing.T, open func() store.Store) {
	s := opened(t, open)
	if err := s.Update(bg, func(tx store.Tx) error {
		for _, k := range []string{"b\x00\x02", "a", "b\x00\x01", "b", "ba", "c", "\xff\xff", "\xff\xfe\xff", "\xff"} {
			put(t, tx, "c", k, "v:"+k)
		}
		put(t, tx, "other", "b1", "v:b1") // another table does not show
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ prefix, want string }{
		{"", "a b b|\x01 b|\x02 ba c \xff \xff\xfe\xff \xff\xff"},
		{"b", "b b|\x01 b|\x02 ba"},
		{"b\x00", "b|\x01 b|\x02"},
		{"\xff", "\xff \xff\xfe\xff \xff\xff"},
		{"\xff\xfe", "\xff\xfe\xff"},
		{"\xff\xff", "\xff\xff"},
		{"z", ""},
	} {
		if got := scanKeys(t, s, "c", tc.prefix); got != tc.want {
			t.Errorf("Scan(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
	s.View(bg, func(tx store.Tx) error {
		if v, err := tx.Get("nosuchtable", []byte("a")); v != nil || err != nil {
			t.Errorf("absent table: %q, %v", v, err)
		}
		if v, err := tx.Get("c", []byte("zz")); v != nil || err != nil {
			t.Errorf("absent key: %q, %v", v, err)
		}
		if err := tx.Scan("nosuchtable", nil, func(_, _ []byte) error { return errors.New("called") }); err != nil {
			t.Errorf("scanning an absent table: %v", err)
		}
		n := 0
		err := tx.Scan("c", nil, func(_, _ []byte) error { n++; return store.ErrStop })
		if err != store.ErrStop || n != 1 {
			t.Errorf("stopping a scan: %v after %d", err, n)
		}
		return nil
	})
	if err := s.Update(bg, func(tx store.Tx) error {
		if err := tx.Delete("nosuchtable", []byte("x")); err != nil {
			return err
		}
		if err := tx.Delete("c", []byte("nosuchkey")); err != nil {
			return err
		}
		if err := tx.Delete("c", []byte("ba")); err != nil {
			return err
		}
		// An empty value is a value, not an absence.
		if err := tx.Put("c", []byte("empty"), []byte{}); err != nil {
			return err
		}
		// Writes are visible later in the same transaction.
		if v, err := tx.Get("c", []byte("ba")); v != nil || err != nil {
			return fmt.Errorf("deleted key read back %q, %v", v, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.View(bg, func(tx store.Tx) error {
		if v, err := tx.Get("c", []byte("empty")); v == nil || len(v) != 0 || err != nil {
			t.Errorf("empty value: %q (nil %v), %v", v, v == nil, err)
		}
		return nil
	})
}

func testCopies(t *testing.T, open func() store.Store) {
	s := opened(t, open)
	s.Update(bg, func(tx store.Tx) error {
		put(t, tx, "c", "k1", "v:k1")
		put(t, tx, "c", "k2", "v:k2")
		return nil
	})
	var got, keys, vals [][]byte
	s.View(bg, func(tx store.Tx) error {
		v, _ := tx.Get("c", []byte("k1"))
		got = append(got, v)
		return tx.Scan("c", nil, func(k, v []byte) error {
			keys, vals = append(keys, k), append(vals, v)
			return nil
		})
	})
	// Later writes (and a scribble on what was handed out) change nothing
	// already returned, nor what is stored.
	s.Update(bg, func(tx store.Tx) error { put(t, tx, "c", "k1", "changed"); return nil })
	if string(got[0]) != "v:k1" || len(keys) != 2 || string(keys[1]) != "k2" || string(vals[0]) != "v:k1" {
		t.Errorf("after the transaction: get %q, keys %q, values %q", got, keys, vals)
	}
	got[0][0] = 'X'
	vals[1][0] = 'X'
	s.View(bg, func(tx store.Tx) error {
		if v, _ := tx.Get("c", []byte("k2")); string(v) != "v:k2" {
			t.Errorf("a scribbled copy reached the store: %q", v)
		}
		return nil
	})
}

func testRollback(t *testing.T, open func() store.Store) {
	s := opened(t, open)
	s.Update(bg, func(tx store.Tx) error { put(t, tx, "c", "a", "v:a"); put(t, tx, "c", "b", "v:b"); return nil })
	boom := errors.New("boom")
	if err := s.Update(bg, func(tx store.Tx) error {
		put(t, tx, "c", "a", "changed")
		put(t, tx, "new", "x", "y")
		tx.Delete("c", []byte("b"))
		return boom
	}); err != boom {
		t.Errorf("Update returned %v, want fn's error unchanged", err)
	}
	if got := scanKeys(t, s, "c", ""); got != "a b" {
		t.Errorf("after a rollback: %q", got)
	}
	s.View(bg, func(tx store.Tx) error {
		if v, _ := tx.Get("new", []byte("x")); v != nil {
			t.Error("a rolled back write survived")
		}
		return nil
	})
}

func testDurability(t *testing.T, open func() store.Store) {
	s := open()
	if err := s.Update(bg, func(tx store.Tx) error { put(t, tx, "c", "kept", "v:kept"); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = opened(t, open)
	if got := scanKeys(t, s, "c", ""); got != "kept" {
		t.Errorf("after reopening: %q", got)
	}
}

// testLongScan scans more rows than any page and writes to the same
// transaction from inside the scan.
func testLongScan(t *testing.T, open func() store.Store) {
	s := opened(t, open)
	const n = 1500
	s.Update(bg, func(tx store.Tx) error {
		for i := range n {
			put(t, tx, "c", fmt.Sprintf("p%05d", i), "v")
		}
		put(t, tx, "c", "q", "v")
		return nil
	})
	count := 0
	err := s.Update(bg, func(tx store.Tx) error {
		prev := ""
		return tx.Scan("c", []byte("p"), func(k, _ []byte) error {
			if string(k) <= prev {
				return fmt.Errorf("%q after %q", k, prev)
			}
			prev = string(k)
			count++
			return tx.Put("copy", k, k)
		})
	})
	if err != nil || count != n {
		t.Fatalf("long scan: %v after %d of %d", err, count, n)
	}
	copied := 0
	s.View(bg, func(tx store.Tx) error {
		return tx.Scan("copy", nil, func(_, _ []byte) error { copied++; return nil })
	})
	if copied != n {
		t.Errorf("copied %d of %d", copied, n)
	}
}

func testContext(t *testing.T, open func() store.Store) {
	s := opened(t, open)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	ran := false
	if err := s.Update(ctx, func(store.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Update on a cancelled context: %v (ran %v)", err, ran)
	}
	if err := s.View(ctx, func(store.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("View on a cancelled context: %v (ran %v)", err, ran)
	}
}

func increment(tx store.Tx, key string) error {
	v, err := tx.Get("counter", []byte(key))
	if err != nil {
		return err
	}
	var n int
	if v != nil {
		fmt.Sscan(string(v), &n)
	}
	return tx.Put("counter", []byte(key), []byte(fmt.Sprint(n+1)))
}

func counter(t *testing.T, s store.Store, key string) string {
	var v []byte
	s.View(bg, func(tx store.Tx) error { v, _ = tx.Get("counter", []byte(key)); return nil })
	return string(v)
}

// testConcurrentCounter: read-modify-write from several goroutines, each
// through its own Update, ends exact (no lost update).
func testConcurrentCounter(t *testing.T, open func() store.Store) {
	s := opened(t, open)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if err := s.Update(bg, func(tx store.Tx) error { return increment(tx, "n") }); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := counter(t, s, "n"); got != fmt.Sprint(workers*each) {
		t.Errorf("counter = %s, want %d", got, workers*each)
	}
}

func testMigrations(t *testing.T, open func() store.Store) {
	s := opened(t, open)
	var ran []string
	step := func(name string) store.Migration {
		return store.Migration{Name: name, Fn: func(tx store.Tx) error {
			ran = append(ran, name)
			return tx.Put("t", []byte(name), []byte("x"))
		}}
	}
	version := func() int {
		var v int
		s.View(bg, func(tx store.Tx) error { var err error; v, err = store.SchemaVersion(tx, "schema"); return err })
		return v
	}
	if err := store.Migrate(bg, s, "schema", []store.Migration{step("v1")}); err != nil || version() != 1 {
		t.Fatalf("v1: %v, version %d", err, version())
	}
	if err := store.Migrate(bg, s, "schema", []store.Migration{step("v1"), step("v2"), step("v3")}); err != nil || version() != 3 {
		t.Fatalf("v3: %v, version %d", err, version())
	}
	if fmt.Sprint(ran) != "[v1 v2 v3]" {
		t.Errorf("ran %v", ran)
	}
	bad := store.Migration{Name: "v4", Fn: func(tx store.Tx) error {
		tx.Put("t", []byte("v4"), []byte("x"))
		return errors.New("boom")
	}}
	if err := store.Migrate(bg, s, "schema", []store.Migration{step("v1"), step("v2"), step("v3"), bad}); err == nil || !strings.Contains(err.Error(), "migration 4 (v4)") {
		t.Errorf("failing migration: %v", err)
	}
	if version() != 3 {
		t.Errorf("version after failure %d", version())
	}
	s.View(bg, func(tx store.Tx) error {
		if v, _ := tx.Get("t", []byte("v4")); v != nil {
			t.Error("failed migration left a write")
		}
		return nil
	})
	if err := store.Migrate(bg, s, "schema", []store.Migration{step("v1")}); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Errorf("older program: %v", err)
	}
}

func openGroup(t *testing.T, open func() store.Store) (*store.Group, store.Store) {
	s := opened(t, open)
	g := store.NewGroup(s, store.GroupOptions{})
	t.Cleanup(g.Close)
	return g, s
}

// testGroupCounter: increments through group commit from many goroutines
// end exact, and they shared commits.
func testGroupCounter(t *testing.T, open func() store.Store) {
	g, s := openGroup(t, open)
	const n = 200
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if err := g.Update(bg, func(tx store.Tx) error { return increment(tx, "g") }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := counter(t, s, "g"); got != fmt.Sprint(n) {
		t.Errorf("counter = %s, want %d", got, n)
	}
	if commits, reqs := g.Stats(); reqs != n || commits >= n {
		t.Errorf("%d requests in %d commits: want %d requests sharing commits", reqs, commits, n)
	}
}

// testGroupIsolation: every third request writes and then fails; the
// failing ones leave nothing, the others all commit.
func testGroupIsolation(t *testing.T, open func() store.Store) {
	g, s := openGroup(t, open)
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Go(func() {
			err := g.Update(bg, func(tx store.Tx) error {
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
		})
	}
	wg.Wait()
	s.View(bg, func(tx store.Tx) error {
		for i := range 300 {
			v, _ := tx.Get("t", []byte(fmt.Sprintf("k%03d", i)))
			if (v != nil) == (i%3 == 0) {
				t.Errorf("k%03d present=%v", i, v != nil)
			}
		}
		return nil
	})
}

// testGroupClose closes the group while requests are queued: every call
// returns, either committed or with ErrClosed.
func testGroupClose(t *testing.T, open func() store.Store) {
	g, _ := openGroup(t, open)
	var wg sync.WaitGroup
	var done, closed atomic.Int32
	for i := range 200 {
		wg.Go(func() {
			err := g.Update(bg, func(tx store.Tx) error { return tx.Put("t", []byte(fmt.Sprint(i)), []byte("v")) })
			switch {
			case err == nil:
				done.Add(1)
			case errors.Is(err, store.ErrClosed):
				closed.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	g.Close()
	wg.Wait()
	if done.Load()+closed.Load() != 200 {
		t.Errorf("%d committed + %d refused != 200", done.Load(), closed.Load())
	}
}

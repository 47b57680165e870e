package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/pgtest"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

func openPG(t testing.TB, url string) *store.Postgres {
	t.Helper()
	s, err := store.OpenPostgres(bg, url, store.PostgresOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPostgres runs the store contract suite against a private
// PostgreSQL server, a fresh database per subtest.
func TestPostgres(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	storetest.Run(t, func(t *testing.T) func() store.Store {
		_, url := pg.NewDatabase()
		return func() store.Store { return openPG(t, url) }
	})
}

// TestPostgresOpenTogether: four goroutines and two processes open one
// fresh database at once; the schema is created once and nobody fails.
func TestPostgresOpenTogether(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	_, url := pg.NewDatabase()
	var wg sync.WaitGroup
	migrated := make(chan int, 4)
	procs := make(chan string, 2)
	for range 2 {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestPostgresOpenHelper$")
			cmd.Env = append(os.Environ(), "ROSTER_TEST_PG_OPEN="+url)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("helper process: %v\n%s", err, out)
			}
			procs <- string(out)
		})
	}
	for range 4 {
		wg.Go(func() {
			s, err := store.OpenPostgres(bg, url, store.PostgresOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			migrated <- s.Migrated()
			s.Close()
		})
	}
	wg.Wait()
	close(migrated)
	close(procs)
	total := 0
	for n := range migrated {
		total += n
	}
	for out := range procs {
		var n int
		if i := strings.Index(out, "migrated="); i >= 0 {
			fmt.Sscan(out[i+len("migrated="):], &n)
		}
		total += n
	}
	if total != 1 {
		t.Errorf("%d migrations applied in all, want 1", total)
	}
	s := openPG(t, url)
	defer s.Close()
	if v, err := s.SchemaVersion(bg); err != nil || v != 1 {
		t.Errorf("schema version %d, %v", v, err)
	}
}

// TestPostgresOpenHelper is the second process of TestPostgresOpenTogether.
func TestPostgresOpenHelper(t *testing.T) {
	url := os.Getenv("ROSTER_TEST_PG_OPEN")
	if url == "" {
		t.Skip("helper process only")
	}
	s := openPG(t, url)
	fmt.Printf("migrated=%d\n", s.Migrated())
	s.Close()
}

// TestPostgresRefusals: a foreign database, a newer schema and a
// read-only database without a schema are refused, each with an error
// saying what was found; nothing is created in them.
func TestPostgresRefusals(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})

	foreign, furl := pg.NewDatabase()
	pg.SQLIn(foreign, "CREATE TABLE invoices (id int)")
	_, err := store.OpenPostgres(bg, furl, store.PostgresOptions{})
	if !errors.Is(err, store.ErrForeignDatabase) || !strings.Contains(err.Error(), "invoices") {
		t.Errorf("foreign database: %v", err)
	}

	newer, nurl := pg.NewDatabase()
	openPG(t, nurl).Close()
	pg.SQLIn(newer, "UPDATE roster_schema SET version = 99")
	_, err = store.OpenPostgres(bg, nurl, store.PostgresOptions{})
	if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("newer schema: %v", err)
	}

	other, ourl := pg.NewDatabase()
	pg.SQLIn(other, "CREATE TABLE roster_schema (owner text, version int); INSERT INTO roster_schema VALUES ('acme', 1)")
	_, err = store.OpenPostgres(bg, ourl, store.PostgresOptions{})
	if !errors.Is(err, store.ErrForeignDatabase) || !strings.Contains(err.Error(), `"acme"`) {
		t.Errorf("another owner: %v", err)
	}

	if _, err := store.OpenPostgres(bg, "postgres://u:hunter2@[::1", store.PostgresOptions{}); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad URL: %v", err)
	}
}

// TestPostgresReadOnly: on a database whose transactions are read-only
// (as on a standby), open creates nothing; with the schema there it opens
// read-only, reads, and refuses writes.
func TestPostgresReadOnly(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})

	empty, eurl := pg.NewDatabase()
	pg.SQL("ALTER DATABASE " + empty + " SET default_transaction_read_only = on")
	_, err := store.OpenPostgres(bg, eurl, store.PostgresOptions{})
	if err == nil || !strings.Contains(err.Error(), "read-only") || !strings.Contains(err.Error(), "nothing was created") {
		t.Errorf("read-only, no schema: %v", err)
	}
	s := openPG(t, pg.URL("postgres"))
	s.Close() // the postgres database is not read-only: check the empty one stayed empty
	// (psql as superuser: a read-only database still answers queries)
	pg.SQLIn(empty, "DO $$ BEGIN IF to_regclass('roster_schema') IS NOT NULL THEN RAISE 'created'; END IF; END $$")

	db, url := pg.NewDatabase()
	w := openPG(t, url)
	if err := w.Update(bg, func(tx store.Tx) error { return tx.Put("t", []byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	w.Close()
	pg.SQL("ALTER DATABASE " + db + " SET default_transaction_read_only = on")
	r := openPG(t, url)
	defer r.Close()
	if !r.ReadOnly() {
		t.Error("not opened read-only")
	}
	var v []byte
	if err := r.View(bg, func(tx store.Tx) error { v, err = tx.Get("t", []byte("k")); return err }); err != nil || string(v) != "v" {
		t.Errorf("read-only View: %q, %v", v, err)
	}
	if err := r.Update(bg, func(tx store.Tx) error { return nil }); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("Update on a read-only database: %v", err)
	}
}

// TestPostgresStandby: on a real streaming standby (pg_basebackup -R, in
// recovery) a database without roster's schema is refused with nothing
// created, and one with it opens read-only: it reads what the primary
// committed, follows the primary, and refuses writes.
func TestPostgresStandby(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	empty, _ := pg.NewDatabase()
	db, url := pg.NewDatabase()
	w := openPG(t, url)
	defer w.Close()
	put := func(k string) {
		t.Helper()
		if err := w.Update(bg, func(tx store.Tx) error { return tx.Put("t", []byte(k), []byte("v")) }); err != nil {
			t.Fatal(err)
		}
	}
	put("before")
	sb := pg.Standby()

	_, err := store.OpenPostgres(bg, sb.URL(empty), store.PostgresOptions{})
	if err == nil || !strings.Contains(err.Error(), "standby") || !strings.Contains(err.Error(), "nothing was created") {
		t.Errorf("standby, no schema: %v", err)
	}
	r := openPG(t, sb.URL(db))
	defer r.Close()
	if !r.ReadOnly() {
		t.Fatal("the standby's database did not open read-only")
	}
	get := func(k string) []byte {
		t.Helper()
		var v []byte
		if err := r.View(bg, func(tx store.Tx) error { v, err = tx.Get("t", []byte(k)); return err }); err != nil {
			t.Fatalf("View on the standby: %v", err)
		}
		return v
	}
	if string(get("before")) != "v" {
		t.Error("the standby lacks what the primary committed before the copy")
	}
	put("after")
	deadline := time.Now().Add(time.Minute)
	for get("after") == nil {
		if time.Now().After(deadline) {
			t.Fatal("the standby never received the primary's later commit")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := r.Update(bg, func(tx store.Tx) error { return tx.Put("t", []byte("k"), nil) }); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("Update on the standby: %v", err)
	}
}

// TestPostgresConnectionLost: the server terminates the transaction's
// backend in the middle of the first attempt; Update runs fn again on a
// new connection and commits once.
func TestPostgresConnectionLost(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	db, url := pg.NewDatabase()
	s := openPG(t, url)
	defer s.Close()
	attempts := 0
	err := s.Update(context.Background(), func(tx store.Tx) error {
		attempts++
		if err := tx.Put("t", []byte("k"), []byte(fmt.Sprint(attempts))); err != nil {
			return err
		}
		if attempts == 1 {
			pg.SQL("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db + "' AND pid <> pg_backend_pid()")
		}
		return tx.Put("t", []byte("k2"), []byte("x"))
	})
	if err != nil || attempts != 2 {
		t.Fatalf("Update: %v after %d attempts", err, attempts)
	}
	var v []byte
	s.View(bg, func(tx store.Tx) error { v, _ = tx.Get("t", []byte("k")); return nil })
	if string(v) != "2" || s.Retries() != 1 {
		t.Errorf("stored %q after %d retries", v, s.Retries())
	}
}

// TestPostgresSerializationRetried: an Update reads a counter, another
// Update increments it and commits, then the first writes its stale
// increment. PostgreSQL refuses the first (SQLSTATE 40001); it runs again
// from scratch and the counter ends at 2, not 1.
func TestPostgresSerializationRetried(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	_, url := pg.NewDatabase()
	s := openPG(t, url)
	defer s.Close()
	get := func(tx store.Tx) int {
		v, err := tx.Get("c", []byte("n"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		fmt.Sscan(string(v), &n)
		return n
	}
	attempts := 0
	err := s.Update(bg, func(tx store.Tx) error {
		attempts++
		n := get(tx)
		if attempts == 1 {
			if err := s.Update(bg, func(tx store.Tx) error { return tx.Put("c", []byte("n"), []byte(fmt.Sprint(get(tx)+1))) }); err != nil {
				t.Fatal(err)
			}
		}
		return tx.Put("c", []byte("n"), []byte(fmt.Sprint(n+1)))
	})
	if err != nil || attempts != 2 || s.Retries() != 1 {
		t.Fatalf("Update: %v after %d attempts, %d retries", err, attempts, s.Retries())
	}
	var v []byte
	s.View(bg, func(tx store.Tx) error { v, _ = tx.Get("c", []byte("n")); return nil })
	if string(v) != "2" {
		t.Errorf("counter = %s, want 2", v)
	}
}

// TestPostgresRetriesBounded: a transaction that conflicts on every
// attempt gives up after MaxTries with an error saying so.
func TestPostgresRetriesBounded(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	_, url := pg.NewDatabase()
	s, err := store.OpenPostgres(bg, url, store.PostgresOptions{MaxTries: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	attempts := 0
	err = s.Update(bg, func(tx store.Tx) error {
		attempts++
		if _, err := tx.Get("c", []byte("n")); err != nil {
			return err
		}
		if err := s.Update(bg, func(tx store.Tx) error { return tx.Put("c", []byte("n"), []byte(fmt.Sprint(attempts))) }); err != nil {
			t.Fatal(err)
		}
		return tx.Put("c", []byte("n"), []byte("stale"))
	})
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 tries") || attempts != 3 {
		t.Fatalf("Update: %v after %d attempts", err, attempts)
	}
}

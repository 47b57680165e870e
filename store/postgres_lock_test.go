package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rosterhq/roster/internal/pgtest"
)

// TestPostgresLock: a lock taken through one pool is not granted through
// another until it is released, or until the holder's session ends (a
// node that dies releases it with its connection); other names are free.
func TestPostgresLock(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	_, url := pg.NewDatabase()
	a, b := openPG(t, url), openPG(t, url)
	defer a.Close()
	defer b.Close()

	unlock, err := a.Lock(bg, "crl")
	if err != nil {
		t.Fatal(err)
	}
	if other, err := b.Lock(bg, "other"); err != nil {
		t.Errorf("another name: %v", err)
	} else {
		other()
	}
	short := func() error {
		ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
		defer cancel()
		u, err := b.Lock(ctx, "crl")
		if err == nil {
			u()
		}
		return err
	}
	if err := short(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the held lock was granted to a second node: %v", err)
	}
	unlock()
	if err := short(); err != nil {
		t.Fatalf("after unlock: %v", err)
	}

	unlock, err = a.Lock(bg, "crl")
	if err != nil {
		t.Fatal(err)
	}
	// The holder's session ends (as when its process is killed).
	conn, err := pgx.Connect(bg, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(bg)
	var ended int
	if err := conn.QueryRow(bg, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted`).Scan(&ended); err != nil || ended != 1 {
		t.Fatalf("ending the holder's session: %d, %v", ended, err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := b.Lock(bg, "crl")
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the lock of an ended session was never released")
	}
	unlock() // on a lost connection: returns it closed, does not hang
}

package store_test

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/rosterhq/roster/internal/pgtest"
	"github.com/rosterhq/roster/store"
)

// TestPostgresHotKey: two stores on one database (two nodes), each with
// many writers, all read-modify-writing one key (as every audit append
// does the chain's head). With few tries allowed, none gives up and no
// increment is lost: once a store sees a serialization failure it runs its
// writes one at a time under the database's write lock for a while.
func TestPostgresHotKey(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	_, url := pg.NewDatabase()
	const nodes, writers, each = 2, 12, 15
	stores := make([]*store.Postgres, nodes)
	for i := range stores {
		s, err := store.OpenPostgres(bg, url, store.PostgresOptions{MaxTries: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	key := []byte("head")
	var wg sync.WaitGroup
	errs := make(chan error, nodes*writers*each)
	for _, s := range stores {
		for range writers {
			wg.Go(func() {
				for range each {
					errs <- s.Update(bg, func(tx store.Tx) error {
						v, err := tx.Get("t", key)
						if err != nil {
							return err
						}
						var n uint64
						if len(v) == 8 {
							n = binary.BigEndian.Uint64(v)
						}
						return tx.Put("t", key, binary.BigEndian.AppendUint64(nil, n+1))
					})
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if failed == 0 {
				t.Errorf("a writer gave up: %v", err)
			}
			failed++
		}
	}
	var v []byte
	if err := stores[0].View(bg, func(tx store.Tx) error { var err error; v, err = tx.Get("t", key); return err }); err != nil {
		t.Fatal(err)
	}
	if got, want := binary.BigEndian.Uint64(v), uint64(nodes*writers*each-failed); got != want || failed > 0 {
		t.Errorf("counter %d after %d increments, %d failed", got, nodes*writers*each, failed)
	}
}

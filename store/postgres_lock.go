package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"
)

// Lock takes the PostgreSQL advisory lock called name for the whole
// database, waiting until ctx is done, and returns the function that
// releases it. Several roster nodes on one database use it for work only
// one of them may do at a time (the CA's CRL: ca.CA's crl.go).
//
// The lock is held by a connection of its own, taken from the pool for as
// long as the lock is held: if the process dies, or the connection is
// lost, PostgreSQL releases the lock with the session, so a killed node
// never leaves it taken. A lost connection also means the holder may no
// longer have it; the work under the lock must therefore be safe to
// repeat, and its writes checked (as StoreCRL checks CRL numbers).
// Close waits for the connection: call unlock first.
func (s *Postgres) Lock(ctx context.Context, name string) (unlock func(), err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", name, err)
	}
	key := lockKey(name)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		// The wait may have been cancelled with the lock granted a moment
		// later: this connection must not go back to the pool holding it.
		conn.Conn().Close(context.Background())
		conn.Release()
		return nil, fmt.Errorf("store: lock %s: %w", name, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			// Closing the session releases the lock too.
			conn.Conn().Close(ctx)
		}
		conn.Release()
	}, nil
}

// lockKey is the advisory lock's 64-bit key for name, in a space of
// roster's own ("roster:" names; the schema migration's key is
// pgLockKey).
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("roster:" + name))
	return int64(h.Sum64())
}

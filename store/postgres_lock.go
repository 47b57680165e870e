package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
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
	if err := lockOn(ctx, conn, key); err != nil {
		conn.Release()
		return nil, fmt.Errorf("store: lock %s: %w", name, err)
	}
	return func() {
		unlockOn(conn, key)
		conn.Release()
	}, nil
}

// lockOn takes the advisory lock key on conn's session, waiting until ctx
// is done. On failure conn is closed: the wait may have ended with the
// lock granted a moment later, and conn must not go back to the pool
// holding it.
func lockOn(ctx context.Context, conn *pgxpool.Conn, key int64) error {
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		conn.Conn().Close(context.Background())
		return err
	}
	return nil
}

// unlockOn releases the advisory lock key on conn's session, or closes
// the session, which releases it too.
func unlockOn(conn *pgxpool.Conn, key int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
		conn.Conn().Close(ctx)
	}
}

// lockKey is the advisory lock's 64-bit key for name, in a space of
// roster's own ("roster:" names; the schema migration's key is
// pgLockKey).
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("roster:" + name))
	return int64(h.Sum64())
}

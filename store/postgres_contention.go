package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Contention: every roster write that appends to the audit log reads and
// writes the chain's head, so two nodes' writes conflict almost always,
// and under SERIALIZABLE one of each colliding pair is aborted and run
// again. With two busy nodes a transaction could lose that race ten times
// in a row and give up (fleetsim: 0.7 % of writes answered 500 at 440
// renewals/s). So once a store has seen a serialization failure it runs
// its writes one at a time, for contendedFor, each under the database's
// advisory write lock, taken on the connection the transaction then runs
// on: the writes of all contended nodes follow one another instead of
// aborting one another, and their snapshots, taken after the lock is
// granted, see every earlier holder's commit. Reads never wait. When
// contention ends the store returns to running writes side by side.
//
// A serial write waits at most serialWait for its turn, then runs side by
// side after all: serial running only saves work, SERIALIZABLE keeps the
// writes correct either way, and a write that waits on another that can
// only finish after it (an Update inside another's fn) must not wait
// forever.

// contendedFor is how long a store keeps its writes serial after a
// serialization failure; serialWait how long a serial write waits for its
// turn.
const (
	contendedFor = 10 * time.Second
	serialWait   = 2 * time.Second
)

// serialWrites is a store's state of contention.
type serialWrites struct {
	until atomic.Int64  // unix nanoseconds until which writes run serially
	turn  chan struct{} // one serial writer of this process at a time waits for the lock, holding no connection
}

func (s *Postgres) contended() bool { return time.Now().UnixNano() < s.serial.until.Load() }

func (s *Postgres) contend() { s.serial.until.Store(time.Now().Add(contendedFor).UnixNano()) }

// onceSerial is once under the write lock, on the connection that holds
// it, or once side by side if the turn does not come within serialWait.
func (s *Postgres) onceSerial(ctx context.Context, opts pgx.TxOptions, fn func(Tx) error) (error, bool) {
	wait, cancel := context.WithTimeout(ctx, serialWait)
	defer cancel()
	select {
	case s.serial.turn <- struct{}{}:
		defer func() { <-s.serial.turn }()
	case <-wait.Done():
		if ctx.Err() != nil {
			return ctx.Err(), false
		}
		return s.once(ctx, s.pool, opts, fn)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err(), false
		}
		return fmt.Errorf("store: begin: %w", err), retryable(err)
	}
	defer conn.Release()
	key := lockKey("write")
	if err := lockOn(wait, conn, key); err != nil {
		if ctx.Err() != nil {
			return ctx.Err(), false
		}
		if wait.Err() != nil {
			return s.once(ctx, s.pool, opts, fn)
		}
		return fmt.Errorf("store: take the write lock: %w", err), retryable(err)
	}
	err, retry := s.once(ctx, conn, opts, fn)
	unlockOn(conn, key)
	return err, retry
}

package store

import (
	"context"
	"errors"
)

// Store is the transactional key-value seam: [OpenBolt] implements it over
// one bbolt file, and a PostgreSQL table of (table, key, value) rows can
// implement it too. Each package that keeps data owns its tables (their
// names, keys and encodings); a Store only keeps ordered bytes.
//
// Contract for implementations:
//   - View and Update check ctx before they begin and return its error.
//   - Update transactions are serializable: one commits entirely or not at
//     all, and an Update that returned nil is durable.
//   - fn's error rolls the transaction back and is returned unchanged.
//   - Byte slices handed out (Get results, Scan keys and values) are copies
//     that stay valid after the transaction ends.
type Store interface {
	View(ctx context.Context, fn func(Tx) error) error
	Update(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is one transaction of a [Store]. Tables spring into existence on their
// first Put; reading a table that does not exist finds nothing.
type Tx interface {
	// Get returns a copy of the value, or nil when the key is absent.
	Get(table string, key []byte) ([]byte, error)
	Put(table string, key, value []byte) error
	Delete(table string, key []byte) error
	// Scan calls fn for every key starting with prefix, in byte order.
	// A nil prefix scans the whole table. fn's error stops the scan and is
	// returned.
	Scan(table string, prefix []byte, fn func(key, value []byte) error) error
}

// ErrClosed is returned by a [Group] (and the packages built on one) once
// it is closed.
var ErrClosed = errors.New("store: closed")

// ErrStop, returned by a Scan callback, ends the scan early; callers treat
// it as success. It is never returned by a Store itself.
var ErrStop = errors.New("store: stop scan")

package store

// The bbolt implementation of Store: one bucket per table, keys and values
// stored as given. No bbolt type leaves this file.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrNotBolt is returned by OpenBolt for a file that is not a bbolt
// database.
var ErrNotBolt = errors.New("not a bbolt database")

// ErrLocked is returned by OpenBolt when another process holds the file.
var ErrLocked = errors.New("database is locked by another process")

const fillPercent = 0.9

// Bolt is a Store in one bbolt file.
type Bolt struct {
	db *bolt.DB
}

// OpenBolt opens or creates the bbolt file at path (mode 0600). lockTimeout
// bounds the wait for another process's lock (default 1s).
func OpenBolt(path string, lockTimeout time.Duration) (*Bolt, error) {
	if lockTimeout <= 0 {
		lockTimeout = time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: lockTimeout,
		// The freelist is rebuilt from the pages on open instead of being
		// written at every commit: less to write per transaction, no effect
		// on what a crash can lose.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch),
			errors.Is(err, berrors.ErrChecksum):
			return nil, fmt.Errorf("open %s: %w (%v)", path, ErrNotBolt, err)
		case errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
		}
		// bbolt reports a short, non-empty file as a mmap/size error.
		if fi, serr := os.Stat(path); serr == nil && fi.Mode().IsRegular() && fi.Size() > 0 && fi.Size() < 4096*2 {
			return nil, fmt.Errorf("open %s: %w (%v)", path, ErrNotBolt, err)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &Bolt{db: db}, nil
}

// Close closes the file.
func (s *Bolt) Close() error { return s.db.Close() }

// Tables lists the buckets in the file.
func (s *Bolt) Tables(ctx context.Context) ([]string, error) {
	var names []string
	err := s.View(ctx, func(t Tx) error {
		return t.(*boltTx).tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
	})
	return names, err
}

// View runs fn in a read-only transaction.
func (s *Bolt) View(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error { return fn(&boltTx{tx: tx}) })
}

// Update runs fn in a read-write transaction and commits it (two fsyncs)
// when fn returns nil.
func (s *Bolt) Update(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return fn(&boltTx{tx: tx}) })
}

// Check runs bbolt's own consistency check over the file.
func (s *Bolt) Check(ctx context.Context) error {
	return s.View(ctx, func(t Tx) error {
		var errs []error
		for err := range t.(*boltTx).tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// boltTx is one bbolt transaction.
type boltTx struct {
	tx *bolt.Tx
}

// Get returns a copy of the value under key, or nil.
func (t *boltTx) Get(table string, key []byte) ([]byte, error) {
	b := t.tx.Bucket([]byte(table))
	if b == nil {
		return nil, nil
	}
	v := b.Get(key)
	if v == nil {
		return nil, nil
	}
	return append(make([]byte, 0, len(v)), v...), nil
}

// Put stores value under key, creating the table if needed.
func (t *boltTx) Put(table string, key, value []byte) error {
	b, err := t.tx.CreateBucketIfNotExists([]byte(table))
	if err != nil {
		return fmt.Errorf("table %s: %w", table, err)
	}
	// Most inventory keys grow at the end of their range (host IDs and
	// sequence numbers increase), so pages split full rather than half full.
	b.FillPercent = fillPercent
	if err := b.Put(key, value); err != nil {
		return fmt.Errorf("table %s: put: %w", table, err)
	}
	return nil
}

// Delete removes key; an absent key or table is not an error.
func (t *boltTx) Delete(table string, key []byte) error {
	b := t.tx.Bucket([]byte(table))
	if b == nil {
		return nil
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("table %s: delete: %w", table, err)
	}
	return nil
}

// Scan calls fn with copies of every key and value under prefix.
func (t *boltTx) Scan(table string, prefix []byte, fn func(k, v []byte) error) error {
	b := t.tx.Bucket([]byte(table))
	if b == nil {
		return nil
	}
	c := b.Cursor()
	var k, v []byte
	if len(prefix) == 0 {
		k, v = c.First()
	} else {
		k, v = c.Seek(prefix)
	}
	for ; k != nil; k, v = c.Next() {
		if len(prefix) > 0 && !hasPrefix(k, prefix) {
			break
		}
		if v == nil { // nested bucket: roster uses none
			continue
		}
		kc := append(make([]byte, 0, len(k)), k...)
		vc := append(make([]byte, 0, len(v)), v...)
		if err := fn(kc, vc); err != nil {
			return err
		}
	}
	return nil
}

// Raw writes value under key (nil deletes it) in a transaction of its own,
// for tests that tamper with a file on purpose (the audit tests). It writes
// even what breaks the owner's invariants.
func (s *Bolt) Raw(table string, key, value []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(table))
		if err != nil {
			return err
		}
		if value == nil {
			return b.Delete(key)
		}
		return b.Put(key, value)
	})
}

func hasPrefix(k, p []byte) bool {
	if len(k) < len(p) {
		return false
	}
	for i := range p {
		if k[i] != p[i] {
			return false
		}
	}
	return true
}

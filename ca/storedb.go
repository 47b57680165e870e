package ca

// storeDB: smallstep's nosql interface over a roster store.Store, so the
// authority's certificate records live in roster's PostgreSQL tables.
//
// Why not smallstep's own nosql PostgreSQL driver: it creates the database
// (CREATE DATABASE) and one table per bucket (CREATE TABLE IF NOT EXISTS) at
// every start, so it fails on a read-only standby
// (smallstep/certificates#1892), needs DDL privileges at run time, has no
// schema version, and runs each write in a transaction of its own at the
// server's default isolation. Through store.Store the records share the
// inventory's versioned schema and its refusals, SERIALIZABLE transactions
// with bounded retries, and group commit (groupDB) as on bbolt.

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"

	"github.com/rosterhq/roster/store"
	"github.com/smallstep/certificates/db"
	"github.com/smallstep/nosql/database"
)

// storeTablePrefix keeps the authority's buckets apart from the tables of
// the packages sharing the database.
const storeTablePrefix = "ca."

type storeDB struct{ s store.Store }

var _ database.DB = storeDB{}

func table(bucket []byte) string { return storeTablePrefix + string(bucket) }

var bg = context.Background()

// Open and Close do nothing: the store is opened and closed by its owner.
func (d storeDB) Open(string, ...database.Option) error { return nil }
func (d storeDB) Close() error                          { return nil }

// CreateTable does nothing: tables exist once written.
func (d storeDB) CreateTable([]byte) error { return nil }

func (d storeDB) DeleteTable(bucket []byte) error {
	return d.s.Update(bg, func(tx store.Tx) error { return deleteAll(tx, bucket) })
}

func deleteAll(tx store.Tx, bucket []byte) error {
	var keys [][]byte
	if err := tx.Scan(table(bucket), nil, func(k, _ []byte) error { keys = append(keys, k); return nil }); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Delete(table(bucket), k); err != nil {
			return err
		}
	}
	return nil
}

func (d storeDB) Get(bucket, key []byte) ([]byte, error) {
	var v []byte
	err := d.s.View(bg, func(tx store.Tx) error {
		var err error
		v, err = tx.Get(table(bucket), key)
		return err
	})
	if err == nil && v == nil {
		err = fmt.Errorf("%s/%s: %w", bucket, key, database.ErrNotFound)
	}
	return v, err
}

func (d storeDB) Set(bucket, key, value []byte) error {
	return d.s.Update(bg, func(tx store.Tx) error { return tx.Put(table(bucket), key, value) })
}

func (d storeDB) Del(bucket, key []byte) error {
	return d.s.Update(bg, func(tx store.Tx) error { return tx.Delete(table(bucket), key) })
}

// CmpAndSwap writes newValue when the current value equals oldValue (nil:
// absent), returning what is stored afterwards and whether it swapped, as
// the bbolt driver does.
func (d storeDB) CmpAndSwap(bucket, key, oldValue, newValue []byte) ([]byte, bool, error) {
	var out []byte
	var swapped bool
	err := d.s.Update(bg, func(tx store.Tx) error {
		var err error
		out, swapped, err = cmpAndSwap(tx, bucket, key, oldValue, newValue)
		return err
	})
	return out, swapped, err
}

func cmpAndSwap(tx store.Tx, bucket, key, oldValue, newValue []byte) ([]byte, bool, error) {
	cur, err := tx.Get(table(bucket), key)
	if err != nil {
		return nil, false, err
	}
	if !bytes.Equal(cur, oldValue) {
		return cur, false, nil
	}
	return newValue, true, tx.Put(table(bucket), key, newValue)
}

func (d storeDB) List(bucket []byte) ([]*database.Entry, error) {
	var out []*database.Entry
	err := d.s.View(bg, func(tx store.Tx) error {
		out = out[:0]
		return tx.Scan(table(bucket), nil, func(k, v []byte) error {
			out = append(out, &database.Entry{Bucket: bucket, Key: k, Value: v})
			return nil
		})
	})
	return out, err
}

// Update applies the operations in one store transaction; it may run
// more than once (a retried serialization failure), so it resets what it
// reports each time.
func (d storeDB) Update(t *database.Tx) error {
	return d.s.Update(bg, func(tx store.Tx) error {
		for _, op := range t.Operations {
			var err error
			op.Result, op.Swapped = nil, false
			switch op.Cmd {
			case database.CreateTable:
			case database.DeleteTable:
				err = deleteAll(tx, op.Bucket)
			case database.Get:
				op.Result, err = tx.Get(table(op.Bucket), op.Key)
				if err == nil && op.Result == nil {
					err = fmt.Errorf("%s/%s: %w", op.Bucket, op.Key, database.ErrNotFound)
				}
			case database.Set:
				err = tx.Put(table(op.Bucket), op.Key, op.Value)
			case database.Delete:
				err = tx.Delete(table(op.Bucket), op.Key)
			case database.CmpAndSwap:
				op.Result, op.Swapped, err = cmpAndSwap(tx, op.Bucket, op.Key, op.CmpValue, op.Value)
			default:
				err = fmt.Errorf("%w: %s", database.ErrOpNotSupported, op.Cmd)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// openStoreGroupDB opens the PostgreSQL database at url (a pool of the
// authority's own) as the authority's database, with group commit.
func openStoreGroupDB(url string) (*groupDB, error) {
	s, err := store.OpenPostgres(bg, url, store.PostgresOptions{})
	if err != nil {
		return nil, fmt.Errorf("ca: open database: %w", err)
	}
	sdb := &db.DB{DB: storeDB{s}}
	return &groupDB{DB: sdb, group: store.NewGroup(nosqlUpdater{sdb}, store.GroupOptions{Window: commitWindow}), closeStore: s.Close, cluster: s}, nil
}

// DatabasePath is the bbolt file of the authority's records in a data
// directory (when no StoreURL is set).
func DatabasePath(dir string) string { return filepath.Join(dir, databaseFile) }

package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// A Migration moves a schema from version i to i+1, where i is its index in
// the owner's list. Owners append to their list and never edit or reorder
// it: a schema's version is the number of migrations applied to it.
type Migration struct {
	Name string
	Fn   func(Tx) error
}

// ErrSchemaTooNew is returned by Migrate for a store written by a newer
// program than this one.
var ErrSchemaTooNew = errors.New("store: written by a newer roster")

// SchemaVersion returns the version recorded under key in MetaTable (0 for
// a fresh store).
func SchemaVersion(tx Tx, key string) (int, error) {
	v, err := tx.Get(MetaTable, []byte(key))
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%s %s: corrupt version record", MetaTable, key)
	}
	return int(binary.BigEndian.Uint64(v)), nil
}

// Migrate applies the migrations of list that the schema recorded under key
// (in MetaTable) has not seen, one transaction each, in order; a crash
// between two leaves the store at a consistent version. Several processes
// may migrate one store at once: each migration is applied once.
func Migrate(ctx context.Context, s Store, key string, list []Migration) error {
	var have int
	if err := s.View(ctx, func(tx Tx) error {
		var err error
		have, err = SchemaVersion(tx, key)
		return err
	}); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if have > len(list) {
		return fmt.Errorf("%w: store is at version %d, this program knows %d", ErrSchemaTooNew, have, len(list))
	}
	for v := have; v < len(list); v++ {
		m := list[v]
		err := s.Update(ctx, func(tx Tx) error {
			cur, err := SchemaVersion(tx, key)
			if err != nil {
				return err
			}
			if cur != v { // another process migrated meanwhile
				return nil
			}
			if err := m.Fn(tx); err != nil {
				return err
			}
			return tx.Put(MetaTable, []byte(key), U64(uint64(v+1)))
		})
		if err != nil {
			return fmt.Errorf("migration %d (%s): %w", v+1, m.Name, err)
		}
	}
	return nil
}

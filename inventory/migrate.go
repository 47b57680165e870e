package inventory

import (
	"context"
	"encoding/binary"
	"fmt"
)

// A migration moves the store from schema version i to i+1, where i is its
// index in the list. Migrations run in one transaction each, in order, on
// Open; a crash between two leaves the store at a consistent version.
type migration struct {
	name string
	fn   func(Tx) error
}

// migrations is the registry. Append, never edit or reorder: the schema
// version of a store is the number of migrations applied to it.
var migrations = []migration{
	{name: "v1: initial schema", fn: func(tx Tx) error {
		// Tables are created on first write; v1 only marks the store.
		return tx.Put(tMeta, kMarker, []byte("1"))
	}},
	{name: "v2: drop the serial index", fn: func(tx Tx) error {
		// Revocation now names the identity (the CA knows it from the
		// certificate); the index cost every renewal a random-page write.
		var keys [][]byte
		if err := tx.Scan(tSerialV1, nil, func(k, _ []byte) error {
			keys = append(keys, k)
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(tSerialV1, k); err != nil {
				return err
			}
		}
		return nil
	}},
}

// SchemaVersion is the schema version this program writes.
func SchemaVersion() int { return len(migrations) }

func readSchema(tx Tx) (int, error) {
	v, err := tx.Get(tMeta, kSchema)
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("meta schema: corrupt version record")
	}
	return int(binary.BigEndian.Uint64(v)), nil
}

// migrate applies the migrations the store has not seen.
func migrate(ctx context.Context, s Store, list []migration) error {
	var have int
	if err := s.View(ctx, func(tx Tx) error {
		var err error
		have, err = readSchema(tx)
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
			cur, err := readSchema(tx)
			if err != nil {
				return err
			}
			if cur != v { // another process migrated meanwhile
				return nil
			}
			if err := m.fn(tx); err != nil {
				return err
			}
			return tx.Put(tMeta, kSchema, u64key(uint64(v+1)))
		})
		if err != nil {
			return fmt.Errorf("migration %d (%s): %w", v+1, m.name, err)
		}
	}
	return nil
}

package inventory

import (
	"github.com/rosterhq/roster/store"
)

// schemaKey is where the inventory's schema version sits in store.MetaTable.
const schemaKey = "schema"

// migrations is the inventory's registry (see store.Migrate). Append, never
// edit or reorder.
var migrations = []store.Migration{
	{Name: "v1: initial schema", Fn: func(tx store.Tx) error {
		// Tables are created on first write; v1 only marks the store.
		return tx.Put(store.MetaTable, kMarker, []byte("1"))
	}},
	{Name: "v2: drop the serial index", Fn: func(tx store.Tx) error {
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

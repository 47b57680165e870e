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
	{Name: "v3: long-lived certificates exclude the CA's backdate", Fn: recountLongCerts},
}

// recountLongCerts recomputes each service account's count of live
// long-lived certificates (summary.LongCert) with longLived: summaries
// written before v3 counted a 24-hour certificate, backdated one minute,
// as long-lived, and renewals never corrected it (a renewal rewrites the
// summary only when the counts it computes change).
func recountLongCerts(tx store.Tx) error {
	hosts := map[string]*Host{}
	if err := tx.Scan(tHosts, nil, func(k, b []byte) error {
		var h hostRecord
		if err := jsonUnmarshal(tHosts, k, b, &h); err != nil {
			return err
		}
		hosts[string(k)] = &h.Host
		return nil
	}); err != nil {
		return err
	}
	long := map[string]int{}
	if err := tx.Scan(tInst, nil, func(k, b []byte) error {
		var ir instRecord
		if err := decodeInst(k, b, &ir); err != nil {
			return err
		}
		if h := hosts[store.Split(k)[0]]; h != nil {
			long[ir.SA] += contribOf(&ir, h).LongCert
		}
		return nil
	}); err != nil {
		return err
	}
	var fix []*saRecord
	if err := tx.Scan(tSA, nil, func(k, b []byte) error {
		r := new(saRecord)
		if err := jsonUnmarshal(tSA, k, b, r); err != nil {
			return err
		}
		if r.Sum.LongCert != long[r.Key] {
			r.Sum.LongCert = long[r.Key]
			fix = append(fix, r)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, r := range fix {
		if err := putJSON(tx, tSA, []byte(r.Key), r); err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion is the schema version this program writes.
func SchemaVersion() int { return len(migrations) }

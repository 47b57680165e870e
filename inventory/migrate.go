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
	{Name: "v3: host identities bound to their host records", Fn: bindEnrolledHosts},
}

// bindEnrolledHosts binds every host that holds a host identity
// certificate to that identity, by its hostname (the name the issuer puts
// in the certificate), as RecordIssuedTx does at enrollment from v3 on.
// Of several records with one hostname, the one the hostname index points
// to is bound; the others' certificates can no longer submit scans until
// the host is enrolled again.
func bindEnrolledHosts(tx store.Tx) error {
	var hosts []*hostRecord
	if err := tx.Scan(tHosts, nil, func(k, b []byte) error {
		h := new(hostRecord)
		if err := jsonUnmarshal(tHosts, k, b, h); err != nil {
			return err
		}
		if h.Cert != nil && h.Bound == nil && h.Hostname != "" {
			hosts = append(hosts, h)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, h := range hosts {
		id, err := tx.Get(tHostName, []byte(h.Hostname))
		if err != nil {
			return err
		}
		if string(id) != h.ID {
			continue
		}
		if err := bindHost(tx, h, h.Hostname, h.Cert.IssuedAt); err != nil {
			return err
		}
		if err := putJSON(tx, tHosts, []byte(h.ID), h); err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion is the schema version this program writes.
func SchemaVersion() int { return len(migrations) }

package inventory

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/rosterhq/roster/scan"
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
	{Name: "v4: host identities bound to their host records", Fn: bindEnrolledHosts},
	{Name: "v5: facts name hardware-bound keys and where each strength level comes from", Fn: refreshFacts},
}

// recountLongCerts recomputes each service account's count of live
// long-lived certificates (summary.LongCert) with longLived: summaries
// written before v3 counted a 24-hour certificate, backdated one minute,
// as long-lived, and renewals never corrected it (a renewal rewrites the
// summary only when the counts it computes change).
func recountLongCerts(tx store.Tx) error {
	hosts, err := hostsByID(tx)
	if err != nil {
		return err
	}
	long := map[string]int{}
	if err := tx.Scan(tInst, nil, func(k, b []byte) error {
		var ir instRecord
		if err := decodeInst(k, b, &ir); err != nil {
			return err
		}
		if h := hosts[store.Split(k)[0]]; h != nil {
			long[ir.SA] += contribOf(&ir, &h.Host).LongCert
		}
		return nil
	}); err != nil {
		return err
	}
	return rewriteSAs(tx, func(r *saRecord) bool {
		if r.Sum.LongCert == long[r.Key] {
			return false
		}
		r.Sum.LongCert = long[r.Key]
		return true
	})
}

// rewriteSAs calls edit on every service account record and writes back
// those it changed (edit returns true), in key order, after the scan.
func rewriteSAs(tx store.Tx, edit func(*saRecord) bool) error {
	var fix []*saRecord
	if err := tx.Scan(tSA, nil, func(k, b []byte) error {
		r := new(saRecord)
		if err := jsonUnmarshal(tSA, k, b, r); err != nil {
			return err
		}
		if edit(r) {
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

// bindEnrolledHosts binds every host that holds a host identity
// certificate to that identity, by its hostname (the name the issuer puts
// in the certificate), as RecordIssuedTx does at enrollment from v4 on.
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

// refreshFacts recomputes every instance's facts from its stored scan data
// (v5 added facts.HW, FIDO keys, and facts.Where, the credential behind
// each strength level), then each service account's summary from its live
// instances, as check.go computes it. Ingest rewrites an instance only
// when its scan data changes, so without this an older store would rank
// sk- keys as static SSH keys until the next change.
func refreshFacts(tx store.Tx) error {
	hosts, err := hostsByID(tx)
	if err != nil {
		return err
	}
	changed := map[string]facts{} // instance key -> new facts
	sums := map[string]*summary{}
	if err := tx.Scan(tInst, nil, func(k, b []byte) error {
		var ir instRecord
		if err := decodeInst(k, b, &ir); err != nil {
			return err
		}
		if len(ir.Data) > 0 {
			var a scan.Account
			if err := json.Unmarshal(ir.Data, &a); err != nil {
				return fmt.Errorf("%s %q: corrupt scan data: %w", tInst, k, err)
			}
			f, _ := factsOf(&a)
			if f.HW != ir.Facts.HW || !maps.Equal(f.Where, ir.Facts.Where) {
				ir.Facts.HW, ir.Facts.Where = f.HW, f.Where
				changed[string(k)] = ir.Facts
			}
		}
		if h := hosts[store.Split(k)[0]]; h != nil && ir.GoneAt == nil {
			s := sums[ir.SA]
			if s == nil {
				s = &summary{}
				sums[ir.SA] = s
			}
			s.add(contribOf(&ir, &h.Host), +1)
		}
		return nil
	}); err != nil {
		return err
	}
	for k, f := range changed {
		var ir instRecord
		if ok, err := getInst(tx, []byte(k), &ir); err != nil || !ok {
			return err
		}
		ir.Facts = f
		if err := putInst(tx, []byte(k), &ir); err != nil {
			return err
		}
	}
	return rewriteSAs(tx, func(r *saRecord) bool {
		s := sums[r.Key]
		if s == nil {
			s = &summary{}
		}
		if s.HW == r.Sum.HW && maps.Equal(s.Where, r.Sum.Where) {
			return false
		}
		r.Sum.HW, r.Sum.Where = s.HW, s.Where
		return true
	})
}

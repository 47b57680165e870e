package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/rosterhq/roster/store"
)

// checkInvariants recomputes every derived table from the instances and
// compares: service account summaries, the fingerprint index and counts,
// the service account <-> instance links, host account counts.
func checkInvariants(tx store.Tx) error {
	var errs []error
	bad := func(format string, args ...any) {
		if len(errs) < 20 {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	hosts, err := hostsByID(tx)
	if err != nil {
		return err
	}
	bound := map[string]string{} // host identity -> host ID, from the records
	for _, id := range slices.Sorted(maps.Keys(hosts)) {
		if b := hosts[id].Bound; b != nil {
			if other, dup := bound[b.Name]; dup {
				bad("host identity %s: bound to hosts %s and %s", b.Name, other, id)
			}
			bound[b.Name] = id
		}
	}
	if err := tx.Scan(tHostBind, nil, func(k, v []byte) error {
		if bound[string(k)] != string(v) {
			bad("host identity %s: index says host %s, records say %q", k, v, bound[string(k)])
		}
		delete(bound, string(k))
		return nil
	}); err != nil {
		return err
	}
	for name, id := range bound {
		bad("host identity %s: bound to host %s, not in the index", name, id)
	}
	sums := map[string]*summary{}
	live := map[string]int{}
	fps := map[string]string{}
	fpn := map[string]uint64{}
	links := map[string]bool{}
	certs := map[string]string{} // instance key -> serial of its live, unrevoked certificate
	if err := tx.Scan(tInst, nil, func(k, b []byte) error {
		var ir instRecord
		if err := decodeInst(k, b, &ir); err != nil {
			return err
		}
		p := store.Split(k)
		h := hosts[p[0]]
		if h == nil {
			bad("instance %q: host missing", k)
			return nil
		}
		sa := []byte(ir.SA)
		if ir.SA == "" {
			bad("instance %q: no service account link", k)
			return nil
		}
		if !json.Valid(ir.Data) {
			bad("instance %q: no scan data", k)
		}
		links[string(store.Join(string(sa), p[0], p[1]))] = true
		s := sums[string(sa)]
		if s == nil {
			s = &summary{}
			sums[string(sa)] = s
		}
		s.add(contribOf(&ir, &h.Host), +1)
		if ir.GoneAt == nil && ir.Cert != nil && ir.Cert.RevokedAt == nil {
			certs[string(k)] = ir.Cert.Serial
		}
		if ir.GoneAt == nil {
			live[p[0]]++
			seen := map[string]bool{}
			for _, c := range ir.Creds {
				if !seen[c.FP] {
					seen[c.FP] = true
					fps[string(store.Join(fpKey(c.FP), p[0], p[1]))] = string(store.Join(c.Type, ir.SA))
					fpn[c.FP]++
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := tx.Scan(tSA, nil, func(k, b []byte) error {
		var r saRecord
		if err := jsonUnmarshal(tSA, k, b, &r); err != nil {
			return err
		}
		want := sums[string(k)]
		if want == nil {
			want = &summary{}
		}
		got := r.Sum
		if got.Live != want.Live || got.Priv != want.Priv || got.Listen != want.Listen || got.SSHExt != want.SSHExt ||
			got.Crit != want.Crit || got.Cert != want.Cert || got.Managed != want.Managed || got.LongCert != want.LongCert || got.Human != want.Human || got.System != want.System || got.Directory != want.Directory || got.HW != want.HW ||
			got.SSHCert != want.SSHCert || got.SSHManaged != want.SSHManaged ||
			!maps.Equal(got.Creds, want.Creds) {
			bad("service account %s: summary %+v, instances say %+v", k, got, *want)
		}
		delete(sums, string(k))
		return nil
	}); err != nil {
		return err
	}
	for k := range sums {
		bad("service account %s: instances point to it but it has no record", k)
	}
	if err := tx.Scan(tSAInst, nil, func(k, _ []byte) error {
		if !links[string(k)] {
			bad("sainst %q: stale link", k)
		}
		delete(links, string(k))
		return nil
	}); err != nil {
		return err
	}
	for k := range links {
		bad("sainst %q: missing link", k)
	}
	if err := tx.Scan(tFP, nil, func(k, v []byte) error {
		if t, ok := fps[string(k)]; !ok || t != string(v) {
			bad("fingerprint index entry %q: no live credential", k)
		}
		delete(fps, string(k))
		return nil
	}); err != nil {
		return err
	}
	for k := range fps {
		bad("fingerprint index lacks %q", k)
	}
	if err := tx.Scan(tFPShared, nil, func(k, v []byte) error {
		if fpn[string(v)] < 2 || fpKey(string(v)) != string(k) {
			bad("fingerprint %s: listed as shared, has %d holder(s)", v, fpn[string(v)])
		}
		delete(fpn, string(v))
		return nil
	}); err != nil {
		return err
	}
	for fp, n := range fpn {
		if n >= 2 {
			bad("fingerprint %s: %d holders but not listed as shared", fp, n)
		}
	}
	if err := tx.Scan(tCertIdx, nil, func(k, v []byte) error {
		var c CertState
		if err := jsonUnmarshal(tCertIdx, k, v, &c); err != nil {
			return err
		}
		if certs[string(k)] != c.Serial {
			bad("certificate index %q: serial %s, instance holds %q", k, c.Serial, certs[string(k)])
		}
		delete(certs, string(k))
		return nil
	}); err != nil {
		return err
	}
	for k, serial := range certs {
		bad("certificate index lacks %q (serial %s)", k, serial)
	}
	for id, h := range hosts {
		if h.Accounts != live[id] {
			bad("host %s: says %d accounts, has %d live instances", h.Hostname, h.Accounts, live[id])
		}
	}
	return errors.Join(errs...)
}

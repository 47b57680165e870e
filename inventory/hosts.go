package inventory

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// Host records and the host identities bound to them.
//
// A report finds its host record by machine-id, else by hostname (see
// resolveHost). That is fine for an operator, who may report for any host,
// but a host certificate only proves a name: the server's check that the
// report's hostname equals the certificate's would still let a host send
// another host's machine-id and rewrite that host's record. So a host
// identity is bound to one host record when it is enrolled
// ([Inventory.RecordIssuedTx] of the host identity, account ""): the
// record remembers the identity's name and its own hostname and machine-id
// at that moment, and the hostbind index maps the name to the record. A
// report sent with a host certificate may change that record and no other
// (checkSubmitter).

// resolved is the outcome of resolveHost.
type resolved struct {
	host  hostRecord
	isNew bool
	// nameIdx and midIdx hold what the hostname and machine-id indexes say
	// for the report's hostname and machine-id, when looked up.
	nameIdx, midIdx   string
	nameRead, midRead bool
}

// resolveHost finds the host report host h is about: the record holding
// its machine-id, else the one holding its hostname unless that record
// has another machine-id. Without either it returns a new record, which
// gets its ID when written.
func resolveHost(tx store.Tx, h *scan.Host) (*resolved, error) {
	res := &resolved{}
	var id []byte
	if h.MachineID != "" {
		v, err := tx.Get(tHostMID, []byte(h.MachineID))
		if err != nil {
			return nil, err
		}
		id, res.midIdx, res.midRead = v, string(v), true
	}
	if id == nil {
		byName, err := tx.Get(tHostName, []byte(h.Hostname))
		if err != nil {
			return nil, err
		}
		res.nameIdx, res.nameRead = string(byName), true
		if byName != nil {
			ok, err := getJSON(tx, tHosts, byName, &res.host)
			if err != nil {
				return nil, err
			}
			if ok && (res.host.MachineID == "" || h.MachineID == "" || res.host.MachineID == h.MachineID) {
				return res, nil
			}
			res.host = hostRecord{}
		}
	}
	if id == nil {
		res.isNew = true
		res.host = hostRecord{Host: Host{Env: DefaultEnv}}
		return res, nil
	}
	ok, err := getJSON(tx, tHosts, id, &res.host)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("host index points to missing host %s", id)
	}
	return res, nil
}

// boundHost returns the host record the host identity name is bound to,
// or nil.
func boundHost(tx store.Tx, name string) (*hostRecord, error) {
	id, err := tx.Get(tHostBind, []byte(name))
	if err != nil || id == nil {
		return nil, err
	}
	var h hostRecord
	ok, err := getJSON(tx, tHosts, id, &h)
	if err != nil {
		return nil, err
	}
	if !ok || h.Bound == nil || h.Bound.Name != name {
		return nil, nil // stale index entry: bound to nothing
	}
	return &h, nil
}

// bindHost binds host identity name to record h (the caller writes h): at
// the host identity's enrollment, the record's hostname and machine-id are
// the ones the identity may report as. A record bound to another name
// before, and another record bound to this name, lose that binding.
// bindOnCert binds the host identity named host to its host record when
// it is enrolled (always) or renewed while still unbound (a record from
// before the binding existed), in tx, before its certificate is recorded.
func bindOnCert(tx store.Tx, host string, enroll bool, now time.Time) error {
	h, err := findHost(tx, host)
	if err != nil {
		return err
	}
	if !enroll && h.Bound != nil {
		return nil
	}
	if err := bindHost(tx, h, host, now); err != nil {
		return err
	}
	return putJSON(tx, tHosts, []byte(h.ID), h)
}

func bindHost(tx store.Tx, h *hostRecord, name string, now time.Time) error {
	if h.Bound != nil && h.Bound.Name != name {
		if id, err := tx.Get(tHostBind, []byte(h.Bound.Name)); err != nil {
			return err
		} else if string(id) == h.ID {
			if err := tx.Delete(tHostBind, []byte(h.Bound.Name)); err != nil {
				return err
			}
		}
	}
	other, err := boundHost(tx, name)
	if err != nil {
		return err
	}
	if other != nil && other.ID != h.ID {
		other.Bound = nil
		if err := putJSON(tx, tHosts, []byte(other.ID), other); err != nil {
			return err
		}
	}
	h.Bound = &hostBinding{Name: name, Hostname: h.Hostname, MachineID: h.MachineID, At: now}
	return tx.Put(tHostBind, []byte(name), []byte(h.ID))
}

// groupOf is the service account key of account on host h, when it is not
// an instance yet.
func groupOf(tx store.Tx, h *Host, account string) (string, error) {
	g, err := tx.Get(tGrouping, store.Join(h.ID, account))
	if err != nil {
		return "", err
	}
	if g != nil {
		return account + "@" + string(g), nil
	}
	return account + "@" + h.Env, nil
}

// HostMismatchError is a report refused because its submitter, a host
// certificate, may not change the host record the report is about. It
// wraps ErrForbidden; the server answers 403.
type HostMismatchError struct {
	// Identity is the host name in the submitter's certificate.
	Identity string
	// Hostname and MachineID are what the report claims.
	Hostname, MachineID string
	// Reason says what does not match.
	Reason string
}

func (e *HostMismatchError) Error() string {
	return fmt.Sprintf("host certificate %s cannot submit this report (hostname %s, machine-id %q): %s",
		e.Identity, e.Hostname, e.MachineID, e.Reason)
}

// Unwrap makes errors.Is(err, ErrForbidden) true.
func (e *HostMismatchError) Unwrap() error { return ErrForbidden }

// Hint is the next step for the operator.
func (e *HostMismatchError) Hint() string {
	return fmt.Sprintf("if the host was renamed or reinstalled, re-enroll its identity (roster enroll --host %s) "+
		"or submit the scan with an operator token (roster scan --submit)", e.Hostname)
}

// checkSubmitter decides whether a report from host identity name, which
// resolved to state s, may be ingested: the identity must be bound to the
// record the report resolved to, and the report must not rename the host or
// change its machine-id (an operator moves hosts). bound is the record the
// identity is bound to (nil if none).
func checkSubmitter(name string, bound *hostRecord, s *hostState, h *scan.Host) error {
	refuse := func(format string, args ...any) error {
		return &HostMismatchError{Identity: name, Hostname: h.Hostname, MachineID: h.MachineID, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case bound == nil:
		return refuse("host identity %s is bound to no host record (it was not enrolled with this inventory)", name)
	case s.isNew:
		return refuse("the report is about a host the inventory does not know; %s is bound to host %s (machine-id %q)",
			name, bound.Hostname, bound.MachineID)
	case s.host.ID != bound.ID:
		return refuse("the report is about host %s (%s); %s is bound to host %s (%s)",
			s.host.Hostname, s.host.ID, name, bound.Hostname, bound.ID)
	case h.Hostname != bound.Bound.Hostname:
		return refuse("%s was enrolled as hostname %s; renaming a host takes an operator", name, bound.Bound.Hostname)
	case bound.Bound.MachineID != "" && h.MachineID != "" && h.MachineID != bound.Bound.MachineID:
		return refuse("%s was enrolled with machine-id %q; moving a host takes an operator", name, bound.Bound.MachineID)
	}
	return nil
}

// findHost looks a host up by hostname, machine-id or inventory ID.
func findHost(tx store.Tx, name string) (*hostRecord, error) {
	for _, t := range []string{tHostName, tHostMID} {
		id, err := tx.Get(t, []byte(name))
		if err != nil {
			return nil, err
		}
		if id != nil {
			name = string(id)
			break
		}
	}
	var h hostRecord
	ok, err := getJSON(tx, tHosts, []byte(name), &h)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("host %s: %w", name, ErrNotFound)
	}
	return &h, nil
}

// ListHosts returns every host, sorted by hostname.
func (inv *Inventory) ListHosts(ctx context.Context) ([]Host, error) {
	var out []Host
	err := inv.store.View(ctx, func(tx store.Tx) error {
		return tx.Scan(tHosts, nil, func(k, b []byte) error {
			var h hostRecord
			if err := jsonUnmarshal(tHosts, k, b, &h); err != nil {
				return err
			}
			out = append(out, h.Host)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list hosts: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hostname < out[j].Hostname })
	return out, nil
}

// GetHost returns a host (by hostname, machine-id or ID) with its instances.
func (inv *Inventory) GetHost(ctx context.Context, name string) (*HostDetail, error) {
	var d *HostDetail
	err := inv.store.View(ctx, func(tx store.Tx) error {
		h, err := findHost(tx, name)
		if err != nil {
			return err
		}
		d = &HostDetail{Host: h.Host}
		var names []string
		if err := tx.Scan(tInst, store.Prefix(h.ID), func(k, _ []byte) error {
			names = append(names, store.Split(k)[1])
			return nil
		}); err != nil {
			return err
		}
		for _, n := range names {
			in, err := loadInstance(tx, h.ID, n)
			if err != nil {
				return err
			}
			d.Instances = append(d.Instances, *in)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get host: %w", err)
	}
	return d, nil
}

// hostsByID reads every host record, keyed by host ID (for whole-store
// passes: the invariant check and migrations).
func hostsByID(tx store.Tx) (map[string]*hostRecord, error) {
	hosts := map[string]*hostRecord{}
	err := tx.Scan(tHosts, nil, func(k, b []byte) error {
		h := new(hostRecord)
		if err := jsonUnmarshal(tHosts, k, b, h); err != nil {
			return err
		}
		hosts[string(k)] = h
		return nil
	})
	return hosts, err
}

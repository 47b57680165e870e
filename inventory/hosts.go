package inventory

import (
	"fmt"

	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// Host records: a report finds its host record by machine-id, else by
// hostname (resolveHost).

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

package inventory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

// TagHost adds and removes host tags (external, critical, env=NAME, free
// tags). Tagging a host that was never scanned registers it by hostname,
// so its first scan lands in the right environment. Changing env= moves
// the host's instances to the service accounts of the new environment
// (except instances an operator split off); see [Inventory.RetagHosts]
// for what follows them.
func (inv *Inventory) TagHost(ctx context.Context, host string, add, remove []string) error {
	_, err := inv.RetagHosts(ctx, []string{host}, add, remove)
	return err
}

// TagHosts is TagHost for many hosts in one transaction (an inventory
// import, or tagging a fleet before its first scans).
func (inv *Inventory) TagHosts(ctx context.Context, hosts []string, add, remove []string) error {
	_, err := inv.RetagHosts(ctx, hosts, add, remove)
	return err
}

// RetagHosts is TagHosts, returning what the change did to service
// accounts. When env= moves every live instance of a service account
// into one other key (svc-report@default to svc-report@prod), it is the
// same service account under a new key: its owner, tags, tier override
// and exceptions (and, into a new key, its retirement and confirmation
// as a separate identity) follow it, with a history event on both keys
// and an audit record (audit.ActionAccountMove); what the key it joins
// already has is kept. When only some instances move, the accounts they
// start are new identities: those without an owner are listed in
// Regrouping.NeedOwner (and in the report's NeedOwner).
func (inv *Inventory) RetagHosts(ctx context.Context, hosts []string, add, remove []string) (Regrouping, error) {
	if err := checkTags(add, true); err != nil {
		return Regrouping{}, err
	}
	for _, host := range hosts {
		if !validName(host) || strings.ContainsAny(host, " \t\n") {
			return Regrouping{}, &InvalidError{Field: "host", Reason: fmt.Sprintf("%q is not a host name", host)}
		}
	}
	actor, now := audit.Actor(ctx), inv.now()
	var res Regrouping
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		st := newTxState(tx)
		rg := &regroup{live: map[string]map[string]int{}, existed: map[string]bool{}, hosts: map[string][]string{}}
		for _, host := range hosts {
			if err := tagHostTx(st, rg, host, add, remove, actor, now); err != nil {
				return fmt.Errorf("host %s: %w", host, err)
			}
		}
		var err error
		if res, err = rg.settle(st, actor, now); err != nil {
			return err
		}
		return st.flush()
	})
	if err != nil {
		return Regrouping{}, fmt.Errorf("tag hosts: %w", err)
	}
	return res, nil
}

func tagHostTx(st *txState, rg *regroup, host string, add, remove []string, actor string, now time.Time) error {
	tx := st.tx
	h, err := findHost(tx, host)
	if err != nil {
		if !isNotFound(err) {
			return err
		}
		n, err := store.NextSeq(tx, "host")
		if err != nil {
			return err
		}
		h = &hostRecord{Host: Host{ID: hostIDString(n), Hostname: host, Env: DefaultEnv}}
		if err := tx.Put(tHostName, []byte(host), []byte(h.ID)); err != nil {
			return err
		}
	}
	oldH := h.Host
	oldH.Tags = slices.Clone(h.Tags)
	h.Tags = editTags(h.Tags, add, remove)
	h.Env = envOf(h.Tags)
	var recs []instRecord
	if err := tx.Scan(tInst, store.Prefix(h.ID), func(k, b []byte) error {
		var ir instRecord
		if err := decodeInst(k, b, &ir); err != nil {
			return err
		}
		recs = append(recs, ir)
		return nil
	}); err != nil {
		return err
	}
	for i := range recs {
		to, err := groupOf(tx, &h.Host, recs[i].Account)
		if err != nil {
			return err
		}
		if err := rg.note(tx, h.Hostname, recs[i].SA, to, recs[i].GoneAt == nil); err != nil {
			return err
		}
		if err := moveInstance(st, &oldH, &h.Host, &recs[i], to, now, actor); err != nil {
			return err
		}
	}
	if err := putJSON(tx, tHosts, []byte(h.ID), h); err != nil {
		return err
	}
	return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionHostTag, Host: h.Hostname, Outcome: audit.OutcomeOK,
		Detail: fmt.Sprintf("tags [%s] -> [%s]", strings.Join(oldH.Tags, ","), strings.Join(h.Tags, ","))})
}

// regroup collects the instance moves of one host tag change, so that
// once every host is done it can tell an account that moved as a whole
// from one that lost only some instances.
type regroup struct {
	live    map[string]map[string]int // from -> to -> live instances moved
	existed map[string]bool           // to -> had instances before the change moved any in
	hosts   map[string][]string       // from -> hosts whose instances moved
}

// note records that an instance on host moves from one service account
// to another; it runs before the move.
func (rg *regroup) note(tx store.Tx, host, from, to string, live bool) error {
	if from == to {
		return nil
	}
	if _, ok := rg.existed[to]; !ok {
		has, err := hasInstances(tx, to)
		if err != nil {
			return err
		}
		rg.existed[to] = has
	}
	if rg.live[from] == nil {
		rg.live[from] = map[string]int{}
	}
	if live {
		rg.live[from][to]++
	}
	if !slices.Contains(rg.hosts[from], host) {
		rg.hosts[from] = append(rg.hosts[from], host)
	}
	return nil
}

// settle carries the operator's state of every account that moved as a
// whole, and lists the new accounts of partial moves that need an owner.
func (rg *regroup) settle(st *txState, actor string, now time.Time) (Regrouping, error) {
	var res Regrouping
	whole := map[string]string{} // from -> to, for accounts that moved as a whole
	for _, from := range slices.Sorted(maps.Keys(rg.live)) {
		fr, err := st.sa(from)
		if err != nil {
			return res, err
		}
		targets := slices.Sorted(maps.Keys(rg.live[from]))
		if len(targets) == 0 {
			continue // only instances already gone moved
		}
		if fr.Sum.Live == 0 && len(targets) == 1 {
			whole[from] = targets[0]
			continue
		}
		for _, to := range targets {
			tr, err := st.sa(to)
			if err != nil {
				return res, err
			}
			if tr.Owner == nil && !rg.existed[to] {
				n := OwnerNeeded{Account: to, Sibling: from}
				if fr.Owner != nil {
					n.SiblingOwner = fr.Owner.Name
				}
				res.NeedOwner = append(res.NeedOwner, n)
			}
		}
	}
	if len(whole) == 0 {
		return res, nil
	}
	excs := map[string][]Exception{} // from -> its exceptions, open or closed
	if err := st.tx.Scan(tExc, nil, func(k, b []byte) error {
		var e Exception
		if err := jsonUnmarshal(tExc, k, b, &e); err != nil {
			return err
		}
		if _, ok := whole[e.Account]; ok {
			excs[e.Account] = append(excs[e.Account], e)
		}
		return nil
	}); err != nil {
		return res, err
	}
	for _, from := range slices.Sorted(maps.Keys(whole)) {
		fr, err := st.sa(from)
		if err != nil {
			return res, err
		}
		to := whole[from]
		m, err := moveAccount(st, fr, to, rg.existed[to], excs[from], rg.hosts[from], actor, now)
		if err != nil {
			return res, err
		}
		res.Moved = append(res.Moved, m)
	}
	return res, nil
}

// moveAccount makes service account to the continuation of fr, all of
// whose live instances moved there: fr's owner, tags, tier override and
// exceptions (excs) follow (into a new key also its retirement and
// separate confirmation), except what to has its own of. fr is left
// without them.
func moveAccount(st *txState, fr *saRecord, to string, existed bool, excs []Exception, hosts []string, actor string, now time.Time) (AccountMove, error) {
	m := AccountMove{From: fr.Key, To: to}
	tr, err := st.sa(to)
	if err != nil {
		return m, err
	}
	var carried, notCarried []string
	if o := fr.Owner; o != nil {
		switch {
		case tr.Owner == nil:
			tr.Owner = o
			carried = append(carried, "owner "+OwnerText(*o))
		case *tr.Owner != *o:
			notCarried = append(notCarried, fmt.Sprintf("owner %s (%s has %s)", OwnerText(*o), to, OwnerText(*tr.Owner)))
		}
		fr.Owner = nil
	}
	if len(fr.Tags) > 0 {
		var add []string
		for _, t := range fr.Tags {
			if k, _, ok := strings.Cut(t, "="); ok && slices.ContainsFunc(tr.Tags, func(x string) bool { return strings.HasPrefix(x, k+"=") }) {
				if !slices.Contains(tr.Tags, t) {
					notCarried = append(notCarried, fmt.Sprintf("tag %s (%s has its own %s=)", t, to, k))
				}
				continue
			}
			add = append(add, t)
		}
		if len(add) > 0 {
			tr.Tags = editTags(tr.Tags, add, nil)
			carried = append(carried, "tags ["+strings.Join(add, ",")+"]")
		}
		fr.Tags = nil
	}
	if fr.TierOverride != 0 {
		switch {
		case tr.TierOverride == 0:
			tr.TierOverride, tr.TierReason = fr.TierOverride, fr.TierReason
			carried = append(carried, fmt.Sprintf("tier override %d", fr.TierOverride))
		case tr.TierOverride != fr.TierOverride:
			notCarried = append(notCarried, fmt.Sprintf("tier override %d (%s has %d)", fr.TierOverride, to, tr.TierOverride))
		}
		fr.TierOverride, fr.TierReason = 0, ""
	}
	if fr.KindOverride != "" {
		switch {
		case tr.KindOverride == "":
			tr.KindOverride = fr.KindOverride
			carried = append(carried, "kind override "+fr.KindOverride)
		case tr.KindOverride != fr.KindOverride:
			notCarried = append(notCarried, fmt.Sprintf("kind override %s (%s has %s)", fr.KindOverride, to, tr.KindOverride))
		}
		fr.KindOverride = ""
	}
	switch {
	case fr.Retired && !existed:
		tr.Retired = true
		carried = append(carried, "retirement")
	case fr.Retired && !tr.Retired:
		notCarried = append(notCarried, fmt.Sprintf("retirement (%s is in use)", to))
	}
	if fr.Separate && !existed {
		tr.Separate = true
	}
	fr.Retired, fr.Separate = false, false
	for _, e := range excs {
		e.Account = to
		if err := putJSON(st.tx, tExc, []byte(e.ID), e); err != nil {
			return m, err
		}
	}
	if len(excs) > 0 {
		carried = append(carried, fmt.Sprintf("%d exception(s)", len(excs)))
	}
	m.Carried, m.NotCarried = strings.Join(carried, ", "), strings.Join(notCarried, ", ")
	what := m.Carried
	if what == "" {
		what = "nothing to carry"
	}
	if m.NotCarried != "" {
		what += "; not carried: " + m.NotCarried
	}
	for _, e := range []Event{
		{Time: now, Account: fr.Key, Kind: EventRegrouped, Actor: actor, Detail: fmt.Sprintf("service account moved to %s: %s", to, what)},
		{Time: now, Account: to, Kind: EventRegrouped, Actor: actor, Detail: fmt.Sprintf("service account moved from %s: %s", fr.Key, what)},
	} {
		if err := st.event(e); err != nil {
			return m, err
		}
	}
	host := ""
	if len(hosts) == 1 {
		host = hosts[0]
	}
	return m, audit.Append(st.tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionAccountMove, Host: host, Account: to,
		Outcome: audit.OutcomeOK, Detail: fmt.Sprintf("moved from %s with the env= tag of %s: %s", fr.Key, strings.Join(hosts, ", "), what)})
}

// hasInstances reports whether service account key has any instance,
// live or gone.
func hasInstances(tx store.Tx, key string) (bool, error) {
	found := false
	err := tx.Scan(tSAInst, store.Prefix(key), func(_, _ []byte) error {
		found = true
		return store.ErrStop
	})
	if err != nil && err != store.ErrStop {
		return false, err
	}
	return found, nil
}

package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// Service account names. An account is addressed as NAME when the name
// exists in one environment (or group) only, else as NAME@ENV; a name that
// matches several groups is an error wrapping ErrAmbiguous that lists them.

// ListAccounts returns the service accounts matching f, sorted by tier and
// then key. Accounts with no live instance are left out unless retired and
// f.Retired is set.
func (inv *Inventory) ListAccounts(ctx context.Context, f Filter) ([]AccountSummary, error) {
	var out []AccountSummary
	err := inv.store.View(ctx, func(tx store.Tx) error {
		recs, err := allSA(tx)
		if err != nil {
			return err
		}
		v, err := loadView(tx, inv.now(), recs, true)
		if err != nil {
			return err
		}
		var onHost map[string]bool
		if f.Host != "" {
			h, err := findHost(tx, f.Host)
			if err != nil {
				return err
			}
			onHost = map[string]bool{}
			if err := tx.Scan(tInst, store.Prefix(h.ID), func(k, b []byte) error {
				var ir instRecord
				if err := decodeInst(k, b, &ir); err != nil || ir.GoneAt != nil {
					return err
				}
				onHost[ir.SA] = true
				return nil
			}); err != nil {
				return err
			}
		}
		for _, r := range recs {
			if r.Sum.Live == 0 && !(r.Retired && f.Retired) {
				continue
			}
			if r.Retired && !f.Retired {
				continue
			}
			s := v.summarize(r)
			switch {
			case s.Human && !f.Humans,
				s.System && !f.System,
				f.Tier != 0 && s.Tier != f.Tier,
				f.NoOwner && s.Owner != nil,
				f.Static && s.Static == 0,
				f.Env != "" && s.Env != f.Env,
				onHost != nil && !onHost[s.Key]:
				continue
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Tier != out[j].Tier {
			return out[i].Tier < out[j].Tier
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

func allSA(tx store.Tx) ([]*saRecord, error) {
	var recs []*saRecord
	err := tx.Scan(tSA, nil, func(k, b []byte) error {
		r := new(saRecord)
		if err := jsonUnmarshal(tSA, k, b, r); err != nil {
			return err
		}
		recs = append(recs, r)
		return nil
	})
	return recs, err
}

// GetAccount returns one service account with its instances (gone ones
// included), exceptions and shared fingerprints.
func (inv *Inventory) GetAccount(ctx context.Context, name string) (*Account, error) {
	var a *Account
	err := inv.store.View(ctx, func(tx store.Tx) error {
		r, err := resolveAccount(tx, name)
		if err != nil {
			return err
		}
		v, err := loadView(tx, inv.now(), []*saRecord{r}, false)
		if err != nil {
			return err
		}
		a = &Account{AccountSummary: v.summarize(r), Exceptions: v.exceptions[r.Key]}
		sharedFP := map[string]bool{}
		err = tx.Scan(tSAInst, store.Prefix(r.Key), func(k, _ []byte) error {
			p := store.Split(k)
			in, err := loadInstance(tx, p[1], p[2])
			if err != nil {
				return err
			}
			a.Instances = append(a.Instances, *in)
			if in.GoneAt == nil {
				for _, c := range in.Data.Credentials {
					if sh, err := isShared(tx, c.Fingerprint); err != nil {
						return err
					} else if sh {
						sharedFP[c.Fingerprint] = true
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for fp := range sharedFP {
			a.SharedFingerprints = append(a.SharedFingerprints, fp)
		}
		sort.Strings(a.SharedFingerprints)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get account: %w", err)
	}
	return a, nil
}

func loadInstance(tx store.Tx, hostID, account string) (*Instance, error) {
	k := store.Join(hostID, account)
	var ir instRecord
	ok, err := getInst(tx, k, &ir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("instance %s/%s: %w", hostID, account, ErrNotFound)
	}
	var h hostRecord
	if _, err := getJSON(tx, tHosts, []byte(hostID), &h); err != nil {
		return nil, err
	}
	in := &Instance{Host: h.Hostname, HostID: hostID, Account: account, ServiceAccount: ir.SA,
		FirstSeen: ir.FirstSeen, LastSeen: ir.LastSeen, GoneAt: ir.GoneAt, Cert: ir.Cert}
	if ir.GoneAt == nil && h.LastScan.After(in.LastSeen) {
		in.LastSeen = h.LastScan
	}
	if err := json.Unmarshal(ir.Data, &in.Data); err != nil {
		return nil, fmt.Errorf("instance %s/%s: corrupt scan data: %w", hostID, account, err)
	}
	return in, nil
}

// AccountHistory returns a service account's events, oldest first. The
// first appearance of each instance is derived from its first_seen (ingest
// does not store it as a record); everything else is stored as it happened.
func (inv *Inventory) AccountHistory(ctx context.Context, name string) ([]Event, error) {
	var out []Event
	err := inv.store.View(ctx, func(tx store.Tx) error {
		r, err := resolveAccount(tx, name)
		if err != nil {
			return err
		}
		hostNames := map[string]string{}
		if err := tx.Scan(tSAInst, store.Prefix(r.Key), func(k, _ []byte) error {
			p := store.Split(k)
			var ir instRecord
			if ok, err := getInst(tx, store.Join(p[1], p[2]), &ir); err != nil || !ok {
				return err
			}
			hn, ok := hostNames[p[1]]
			if !ok {
				var h hostRecord
				if _, err := getJSON(tx, tHosts, []byte(p[1]), &h); err != nil {
					return err
				}
				hn, hostNames[p[1]] = h.Hostname, h.Hostname
			}
			var a scan.Account
			if err := json.Unmarshal(ir.Data, &a); err != nil {
				return fmt.Errorf("instance %s/%s: corrupt scan data: %w", p[1], p[2], err)
			}
			out = append(out, Event{Time: ir.FirstSeen, Account: r.Key, Kind: EventAccountAppeared, Host: hn,
				Detail: fmt.Sprintf("uid %d, %s, %d static credential(s)", a.UID, a.Kind, len(a.Credentials))})
			return nil
		}); err != nil {
			return err
		}
		return tx.Scan(tHistory, store.Prefix(r.Key), func(k, b []byte) error {
			var e Event
			if err := jsonUnmarshal(tHistory, k, b, &e); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("account history: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// mutateAccount runs fn on the named service account in one transaction,
// then writes the record and an audit record of action (fn returns the
// audit detail). Every operator change goes through here.
func (inv *Inventory) mutateAccount(ctx context.Context, name, action string, fn func(st *txState, r *saRecord, now time.Time) (string, error)) error {
	actor := audit.Actor(ctx)
	now := inv.now()
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		r, err := resolveAccount(tx, name)
		if err != nil {
			return err
		}
		st := newTxState(tx)
		st.sas[r.Key] = r
		detail, err := fn(st, r, now)
		if err != nil {
			return err
		}
		if err := st.flush(); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: action, Account: r.Key, Outcome: audit.OutcomeOK, Detail: detail})
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, name, err)
	}
	return nil
}

// SetOwner sets the owner of a service account. An owner that names
// nobody is refused: a placeholder (Options.PlaceholderOwners) or the
// account's own name.
func (inv *Inventory) SetOwner(ctx context.Context, account string, o Owner) error {
	if err := inv.checkOwner(o, account); err != nil {
		return err
	}
	return inv.mutateAccount(ctx, account, audit.ActionOwnerSet, func(st *txState, r *saRecord, now time.Time) (string, error) {
		if err := ownerNotAccount(o.Name, r, "roster owner set "+r.Key+" OWNER"); err != nil {
			return "", err
		}
		return setOwnerTx(st, r, o, now, audit.Actor(ctx))
	})
}

func setOwnerTx(st *txState, r *saRecord, o Owner, now time.Time, actor string) (string, error) {
	prev := "none"
	if r.Owner != nil {
		prev = r.Owner.Name
	}
	oc := o
	r.Owner = &oc
	d := fmt.Sprintf("owner %s (was %s)", OwnerText(o), prev)
	return d, st.event(Event{Time: now, Account: r.Key, Kind: EventOwnerSet, Detail: d, Actor: actor})
}

// OwnerText is an owner as one line: NAME or NAME <CONTACT>.
func OwnerText(o Owner) string {
	if o.Contact == "" {
		return o.Name
	}
	return o.Name + " <" + o.Contact + ">"
}

// checkOwner refuses an owner that is missing, too long, holds control
// characters or is a placeholder. account names the account in the hint
// ("" for ACCOUNT); ownerNotAccount checks the rest once it is resolved.
func (inv *Inventory) checkOwner(o Owner, account string) error {
	if account == "" {
		account = "ACCOUNT"
	}
	if strings.TrimSpace(o.Name) == "" {
		return &InvalidError{Field: "owner", Reason: "missing", HintText: "name a person or team: roster owner set " + account + " OWNER [--contact C]"}
	}
	if len(o.Name) > 200 || len(o.Contact) > 200 || strings.ContainsAny(o.Name+o.Contact, "\x00\n\r") {
		return &InvalidError{Field: "owner", Reason: "too long or contains control characters"}
	}
	return inv.notPlaceholder(o.Name, "name the person or team who answers for it: roster owner set "+account+" OWNER")
}

// notPlaceholder refuses an owner name on the placeholder list.
func (inv *Inventory) notPlaceholder(name, hint string) error {
	n := strings.TrimSpace(name)
	for _, p := range inv.opts.PlaceholderOwners {
		if strings.EqualFold(n, strings.TrimSpace(p)) {
			return &InvalidError{Field: "owner", HintText: hint,
				Reason: fmt.Sprintf("%q is a placeholder, not a person or team (refused as owners: %s)", name, strings.Join(inv.opts.PlaceholderOwners, ", "))}
		}
	}
	return nil
}

// ownerNotAccount refuses an owner that is the account itself: an
// account cannot answer for itself.
func ownerNotAccount(name string, r *saRecord, hint string) error {
	n := strings.TrimSpace(name)
	if strings.EqualFold(n, r.Name) || strings.EqualFold(n, r.Key) {
		return &InvalidError{Field: "owner", HintText: hint,
			Reason: fmt.Sprintf("%q is the account's own name, not a person or team who answers for it", name)}
	}
	return nil
}

// UnsetOwner removes the owner of a service account. Certificates are
// refused for an account without an owner.
func (inv *Inventory) UnsetOwner(ctx context.Context, account string) error {
	return inv.mutateAccount(ctx, account, "owner.unset", func(st *txState, r *saRecord, now time.Time) (string, error) {
		if r.Owner == nil {
			return "", &InvalidError{Field: "owner", Reason: fmt.Sprintf("account %s has no owner", r.Key)}
		}
		d := "was " + OwnerText(*r.Owner)
		r.Owner = nil
		return d, st.event(Event{Time: now, Account: r.Key, Kind: EventOwnerUnset, Detail: d, Actor: audit.Actor(ctx)})
	})
}

// TagAccount adds and removes account tags: critical, third-party=VENDOR,
// or free tags.
func (inv *Inventory) TagAccount(ctx context.Context, account string, add, remove []string) error {
	if err := checkTags(add, false); err != nil {
		return err
	}
	return inv.mutateAccount(ctx, account, "account.tag", func(st *txState, r *saRecord, now time.Time) (string, error) {
		before := strings.Join(r.Tags, ",")
		r.Tags = editTags(r.Tags, add, remove)
		d := fmt.Sprintf("tags [%s] -> [%s]", before, strings.Join(r.Tags, ","))
		return d, st.event(Event{Time: now, Account: r.Key, Kind: EventTagged, Detail: d, Actor: audit.Actor(ctx)})
	})
}

func checkTags(tags []string, host bool) error {
	for _, t := range tags {
		if t == "" || len(t) > 128 || strings.ContainsAny(t, "\x00\n\r\t ,@") {
			return &InvalidError{Field: "tag", Reason: fmt.Sprintf("%q: tags are non-empty words without spaces, commas or @", t)}
		}
		if v, ok := strings.CutPrefix(t, TagEnvPrefix); ok && (!host || v == "") {
			if !host {
				return &InvalidError{Field: "tag", Reason: "env= is a host tag", HintText: "tag the host: roster hosts tag HOST env=NAME"}
			}
			return &InvalidError{Field: "tag", Reason: "env= needs a name"}
		}
	}
	return nil
}

func editTags(tags, add, remove []string) []string {
	out := slices.Clone(tags)
	for _, t := range remove {
		out = slices.DeleteFunc(out, func(x string) bool {
			return x == t || strings.HasSuffix(t, "=") && strings.HasPrefix(x, t)
		})
	}
	for _, t := range add {
		if i := strings.IndexByte(t, '='); i > 0 { // key=value replaces key=*
			k := t[:i+1]
			out = slices.DeleteFunc(out, func(x string) bool { return strings.HasPrefix(x, k) })
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// SetTier overrides the computed tier with a reason; tier 0 removes the
// override.
func (inv *Inventory) SetTier(ctx context.Context, account string, tier Tier, reason string) error {
	if tier < 0 || tier > TierRest {
		return &InvalidError{Field: "tier", Reason: fmt.Sprintf("%d: want 1-4, or 0 to remove the override", tier)}
	}
	if tier != 0 && strings.TrimSpace(reason) == "" {
		return &InvalidError{Field: "reason", Reason: "missing", HintText: "say why the computed tier is wrong: --reason TEXT"}
	}
	return inv.mutateAccount(ctx, account, "account.tier", func(st *txState, r *saRecord, now time.Time) (string, error) {
		before, _, _ := tierOf(r)
		r.TierOverride, r.TierReason = tier, reason
		if tier == 0 {
			r.TierReason = ""
		}
		after, why, _ := tierOf(r)
		d := fmt.Sprintf("tier %d -> %d (%s)", before, after, why)
		return d, st.event(Event{Time: now, Account: r.Key, Kind: EventTierChanged, Detail: d, Actor: audit.Actor(ctx)})
	})
}

// RetireAccount marks a service account retired (retired=false revives
// it: [Inventory.UnretireAccount]). Retired accounts get no certificates
// and are counted apart.
func (inv *Inventory) RetireAccount(ctx context.Context, account string, retired bool, reason string) error {
	if !retired {
		return inv.UnretireAccount(ctx, account, reason)
	}
	return inv.mutateAccount(ctx, account, audit.ActionAccountRetire, func(st *txState, r *saRecord, now time.Time) (string, error) {
		r.Retired = retired
		d := fmt.Sprintf("retired=%t: %s", retired, reason)
		return d, st.event(Event{Time: now, Account: r.Key, Kind: EventRetired, Detail: d, Actor: audit.Actor(ctx)})
	})
}

// UnretireAccount undoes [Inventory.RetireAccount]: the account is in
// use again and may get certificates (when it is otherwise eligible).
// reason, optional, is recorded in its history and the audit log. An
// account that is not retired is refused.
func (inv *Inventory) UnretireAccount(ctx context.Context, account, reason string) error {
	return inv.mutateAccount(ctx, account, audit.ActionAccountUnretire, func(st *txState, r *saRecord, now time.Time) (string, error) {
		if !r.Retired {
			return "", &InvalidError{Field: "account", Reason: fmt.Sprintf("account %s is not retired", r.Key),
				HintText: "name the retired account as NAME@ENV: roster accounts list --retired"}
		}
		r.Retired = false
		d := "unretired"
		if reason != "" {
			d += ": " + reason
		}
		return d, st.event(Event{Time: now, Account: r.Key, Kind: EventUnretired, Detail: d, Actor: audit.Actor(ctx)})
	})
}

// Split separates identities.
//
// With host == "", it confirms that the service account (NAME@ENV) is an
// identity of its own: neither it nor the other groups of its name are
// flagged "shared across environments" on its account (the others stay
// flagged while two or more of them are unconfirmed).
//
// With a host, it moves that host's instance of the account into the
// service account NAME@GROUP (created if needed, and itself separate, so
// the groups it leaves are no longer shared with it). A new account gets
// the owner of the one the instance left, if it has none yet.
func (inv *Inventory) Split(ctx context.Context, account, host, group string) error {
	if host == "" {
		return inv.mutateAccount(ctx, account, audit.ActionAccountSplit, func(st *txState, r *saRecord, now time.Time) (string, error) {
			r.Separate = true
			d := r.Key + " confirmed as a separate identity"
			return d, st.event(Event{Time: now, Account: r.Key, Kind: EventRegrouped, Detail: d, Actor: audit.Actor(ctx)})
		})
	}
	if !validName(group) || strings.ContainsAny(group, "@ \t\n") {
		return &InvalidError{Field: "group", Reason: fmt.Sprintf("%q is not a valid group name", group)}
	}
	actor, now := audit.Actor(ctx), inv.now()
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		h, err := findHost(tx, host)
		if err != nil {
			return err
		}
		name, _ := splitKey(account)
		if !strings.Contains(account, "@") {
			name = account
		}
		k, ir, err := findInst(tx, h, name)
		if err != nil {
			return err
		}
		if err := tx.Put(tGrouping, k, []byte(group)); err != nil {
			return err
		}
		st := newTxState(tx)
		from, to := ir.SA, name+"@"+group
		if err := moveInstance(st, &h.Host, &h.Host, ir, to, now, actor); err != nil {
			return err
		}
		fr, err := st.sa(from)
		if err != nil {
			return err
		}
		nr, err := st.sa(to)
		if err != nil {
			return err
		}
		nr.Separate = true
		detail := fmt.Sprintf("instance on %s moved to %s", h.Hostname, to)
		if nr.Owner == nil && fr.Owner != nil && to != from {
			o := *fr.Owner
			nr.Owner = &o
			d := fmt.Sprintf("owner %s carried over from %s", OwnerText(o), from)
			if err := st.event(Event{Time: now, Account: to, Kind: EventOwnerSet, Host: h.Hostname, Detail: d, Actor: actor}); err != nil {
				return err
			}
			detail += "; " + d
		}
		if err := st.flush(); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionAccountSplit, Host: h.Hostname, Account: to,
			Outcome: audit.OutcomeOK, Detail: detail})
	})
	if err != nil {
		return fmt.Errorf("split %s: %w", account, err)
	}
	return nil
}

// Merge moves every instance of service account from into service account
// into; both must have the same account name.
func (inv *Inventory) Merge(ctx context.Context, from, into string) error {
	actor, now := audit.Actor(ctx), inv.now()
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		fr, err := resolveAccount(tx, from)
		if err != nil {
			return err
		}
		ir, err := resolveAccount(tx, into)
		if err != nil {
			return err
		}
		if fr.Name != ir.Name {
			return &InvalidError{Field: "into", Reason: fmt.Sprintf("%s and %s are different accounts; only groups of one name merge", fr.Key, ir.Key)}
		}
		if fr.Key == ir.Key {
			return &InvalidError{Field: "into", Reason: "an account cannot be merged into itself"}
		}
		_, group := splitKey(ir.Key)
		st := newTxState(tx)
		var moves [][2]string
		if err := tx.Scan(tSAInst, store.Prefix(fr.Key), func(k, _ []byte) error {
			p := store.Split(k)
			moves = append(moves, [2]string{p[1], p[2]})
			return nil
		}); err != nil {
			return err
		}
		for _, m := range moves {
			var h hostRecord
			if _, err := getJSON(tx, tHosts, []byte(m[0]), &h); err != nil {
				return err
			}
			var rec instRecord
			if _, err := getInst(tx, store.Join(m[0], m[1]), &rec); err != nil {
				return err
			}
			if err := tx.Put(tGrouping, store.Join(m[0], m[1]), []byte(group)); err != nil {
				return err
			}
			if err := moveInstance(st, &h.Host, &h.Host, &rec, ir.Key, now, actor); err != nil {
				return err
			}
		}
		if err := st.flush(); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: "account.merge", Account: ir.Key,
			Outcome: audit.OutcomeOK, Detail: fmt.Sprintf("%d instance(s) of %s merged into %s", len(moves), fr.Key, ir.Key)})
	})
	if err != nil {
		return fmt.Errorf("merge %s into %s: %w", from, into, err)
	}
	return nil
}

// moveInstance takes an instance's contribution off its current service
// account (computed with host oldH) and puts it on service account to
// (computed with newH). It also serves host tag changes, where to may be
// the same account.
func moveInstance(st *txState, oldH, newH *Host, ir *instRecord, to string, now time.Time, actor string) error {
	tx := st.tx
	k := store.Join(newH.ID, ir.Account)
	from := ir.SA
	fr, err := st.sa(from)
	if err != nil {
		return err
	}
	fr.Sum.add(contribOf(ir, oldH), -1)
	tr, err := st.sa(to)
	if err != nil {
		return err
	}
	tr.Sum.add(contribOf(ir, newH), +1)
	if tr.FirstSeen.IsZero() || ir.FirstSeen.Before(tr.FirstSeen) {
		tr.FirstSeen = ir.FirstSeen
	}
	if ir.LastSeen.After(tr.LastSeen) {
		tr.LastSeen = ir.LastSeen
	}
	if from == to {
		return nil
	}
	ir.SA = to
	if err := putInst(tx, k, ir); err != nil {
		return err
	}
	if ir.GoneAt == nil {
		if err := rekeyFPIndex(tx, newH.ID, ir.Account, to, ir.Creds); err != nil {
			return err
		}
	}
	if err := tx.Delete(tSAInst, store.Join(from, newH.ID, ir.Account)); err != nil {
		return err
	}
	if err := tx.Put(tSAInst, store.Join(to, newH.ID, ir.Account), nil); err != nil {
		return err
	}
	d := fmt.Sprintf("instance on %s moved from %s to %s", newH.Hostname, from, to)
	if err := st.event(Event{Time: now, Account: from, Kind: EventRegrouped, Host: newH.Hostname, Detail: d, Actor: actor}); err != nil {
		return err
	}
	return st.event(Event{Time: now, Account: to, Kind: EventRegrouped, Host: newH.Hostname, Detail: d, Actor: actor})
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

func isNotFound(err error) bool { return err != nil && errors.Is(err, ErrNotFound) }

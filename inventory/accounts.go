package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
// then key. Accounts with no live instance are left out unless registered
// (roster account add), or retired and f.Retired is set.
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
			if !r.present() && !(r.Retired && f.Retired) {
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
			if d, ok := directoryEntry(in); ok {
				a.DirectoryEntries = append(a.DirectoryEntries, d)
			}
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
		sort.Slice(a.DirectoryEntries, func(i, j int) bool { return a.DirectoryEntries[i].Domain < a.DirectoryEntries[j].Domain })
		for fp := range sharedFP {
			a.SharedFingerprints = append(a.SharedFingerprints, fp)
		}
		sort.Strings(a.SharedFingerprints)
		var pol SSHPolicy
		if _, err := getJSON(tx, tSSHPolicy, []byte(r.Key), &pol); err != nil {
			return err
		}
		a.SSHPermit = pol.Permit
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

// TagAccount adds and removes account tags: critical, third-party=VENDOR,
// or free tags. third-party=VENDOR needs a registered vendor (vendors.go).
func (inv *Inventory) TagAccount(ctx context.Context, account string, add, remove []string) error {
	if err := checkTags(add, false); err != nil {
		return err
	}
	return inv.mutateAccount(ctx, account, "account.tag", func(st *txState, r *saRecord, now time.Time) (string, error) {
		if err := checkVendorTags(st.tx, add); err != nil {
			return "", err
		}
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

// Account kinds an operator can set (Inventory.SetKind); KindAuto removes
// the override, so the scan's kinds count again.
const (
	KindService = "service"
	KindHuman   = "human"
	KindSystem  = "system"
	KindAuto    = "auto"
)

// KindDirectory is the kind of an account every live instance of which a
// directory scan found (scan kind "directory"): a service account of a
// domain. SetKind does not take it: auto returns such an account to it.
const KindDirectory = "directory"

// Kinds lists the kinds SetKind takes.
var Kinds = []string{KindService, KindHuman, KindSystem, KindAuto}

// SetKind overrides the kinds the scans found for an account: service,
// human (a person's account: counted apart, listed only on request) or
// system (an unused OS account); auto removes the override. Later scans
// keep it.
func (inv *Inventory) SetKind(ctx context.Context, account, kind string) error {
	if err := oneOf("kind", kind, Kinds); err != nil {
		return err
	}
	return inv.mutateAccount(ctx, account, audit.ActionAccountKind, func(st *txState, r *saRecord, now time.Time) (string, error) {
		before := kindName(r)
		r.KindOverride = kind
		if kind == KindAuto {
			r.KindOverride = ""
		}
		after := kindName(r)
		by := "set by an operator"
		if r.KindOverride == "" {
			by = "from the scans"
		}
		d := fmt.Sprintf("kind %s -> %s (%s)", before, after, by)
		return d, st.event(Event{Time: now, Account: r.Key, Kind: EventKindChanged, Detail: d, Actor: audit.Actor(ctx)})
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

func isNotFound(err error) bool { return err != nil && errors.Is(err, ErrNotFound) }

package inventory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// AddException records an accepted static credential. Account is NAME or
// NAME@ENV; Owner, Reason and Expires are required; Expires must be in the
// future, at most Options.MaxExceptionDays ahead and within its tier's
// caps (exceptionCaps: the phase's MaxException, and the phase end unless
// BeyondPhase); Credential, if set, is a credential type (scan.Cred*). The
// account must have an owner (the exception's owner answers for the
// exception, not for the account) and hold a static credential of that
// type (of any type without one). A new exception while an earlier one for
// the same account and credential type is not closed extends that chain
// (Extensions, Extends). ID, Created and CreatedBy are set here. The stored
// exception is returned.
func (inv *Inventory) AddException(ctx context.Context, e Exception) (Exception, error) {
	now := inv.now()
	name := e.Account
	switch {
	case strings.TrimSpace(e.Owner) == "":
		return Exception{}, &InvalidError{Field: "owner", Reason: fmt.Sprintf("exception for %s needs --owner: an exception without an owner becomes permanent", name),
			HintText: "add --owner PERSON_OR_TEAM"}
	case e.Expires.IsZero():
		return Exception{}, &InvalidError{Field: "expires", Reason: fmt.Sprintf("exception for %s needs --expires: an exception without an end date never ends", name),
			HintText: fmt.Sprintf("add --expires DATE, at most %d days ahead", inv.opts.MaxExceptionDays)}
	case !e.Expires.After(now):
		return Exception{}, &InvalidError{Field: "expires", Reason: fmt.Sprintf("exception for %s expires %s, which is not in the future", name, e.Expires.Format(time.DateOnly))}
	case e.Expires.After(now.AddDate(0, 0, inv.opts.MaxExceptionDays)):
		return Exception{}, inv.tooFar(name, e.Expires)
	case strings.TrimSpace(e.Reason) == "":
		return Exception{}, &InvalidError{Field: "reason", Reason: fmt.Sprintf("exception for %s needs --reason: say why the static credential must stay for now", name), HintText: "add --reason TEXT"}
	case e.Credential != "" && !scan.IsCredType(e.Credential):
		return Exception{}, &InvalidError{Field: "credential", Reason: fmt.Sprintf("unknown credential type %q", e.Credential)}
	}
	const ownerHint = "--owner names the person or team who answers for the exception"
	if err := inv.notPlaceholder(e.Owner, ownerHint); err != nil {
		return Exception{}, err
	}
	var out Exception
	err := inv.mutateAccount(ctx, name, audit.ActionExceptionAdd, func(st *txState, r *saRecord, now time.Time) (string, error) {
		if err := ownerNotAccount(e.Owner, r, ownerHint); err != nil {
			return "", err
		}
		if err := exceptable(r, e.Credential); err != nil {
			return "", err
		}
		if err := exceptionCaps(st.tx, r, now, e.Expires, e.BeyondPhase, "exception for "+r.Key); err != nil {
			return "", err
		}
		prev, err := chainOf(st.tx, r.Key, e.Credential)
		if err != nil {
			return "", err
		}
		n, err := store.NextSeq(st.tx, "exception")
		if err != nil {
			return "", err
		}
		out = Exception{ID: fmt.Sprintf("exc-%d", n), Account: r.Key, Credential: e.Credential, Reason: e.Reason,
			Owner: e.Owner, Expires: e.Expires.UTC(), Created: now, CreatedBy: audit.Actor(ctx), BeyondPhase: e.BeyondPhase}
		if prev != nil {
			out.Extensions, out.Extends = prev.Extensions+1, prev.ID
		}
		if err := putJSON(st.tx, tExc, []byte(out.ID), out); err != nil {
			return "", err
		}
		what := "all static credentials"
		if out.Credential != "" {
			what = out.Credential
		}
		d := fmt.Sprintf("%s: %s until %s, owner %s: %s", out.ID, what, out.Expires.Format(time.DateOnly), out.Owner, out.Reason)
		if prev != nil {
			d += fmt.Sprintf(" (extends %s: extension %d)", prev.ID, out.Extensions)
		}
		if out.BeyondPhase {
			d += " (beyond_phase: true)"
		}
		return d, st.event(Event{Time: now, Account: r.Key, Kind: EventExceptionAdded, Detail: d, Actor: out.CreatedBy})
	})
	if err != nil {
		return Exception{}, err
	}
	return out, nil
}

// tooFar refuses an expiry beyond Options.MaxExceptionDays, the outer
// bound of every exception.
func (inv *Inventory) tooFar(name string, expires time.Time) error {
	return &InvalidError{Field: "expires", Reason: fmt.Sprintf("exception for %s expires %s, more than %d days ahead", name, expires.Format(time.DateOnly), inv.opts.MaxExceptionDays),
		HintText: "choose an earlier date and renew the exception when it runs out"}
}

// exceptionCaps refuses an exception on r ending at expires when it runs
// longer than its tier allows (the phase's MaxException, or
// DefaultMaxException without a phase) or, unless beyond, ends after the
// tier's phase end. what names the exception in the refusal.
func exceptionCaps(tx store.Tx, r *saRecord, now, expires time.Time, beyond bool, what string) error {
	t, _, _ := tierOf(r)
	p, err := getPhase(tx, t)
	if err != nil {
		return err
	}
	limit := maxExceptionIn(t, p)
	// Dates are whole days (an --expires DATE is the end of that day): the
	// cap ends with the day it falls on.
	last := now.Add(limit).Truncate(24 * time.Hour).Add(24*time.Hour - time.Second)
	if expires.After(last) {
		from := "the default for the tier"
		if p != nil {
			from = "tier " + strconv.Itoa(int(t)) + "'s phase"
		}
		return &InvalidError{Field: "expires", Reason: fmt.Sprintf("%s expires %s: exceptions in tier %d last at most %s (%s)",
			what, expires.UTC().Format(time.DateOnly), t, durationText(limit), from),
			HintText: fmt.Sprintf("choose a date on or before %s", last.Format(time.DateOnly))}
	}
	if p != nil && !p.End.IsZero() && expires.After(p.End) && !beyond {
		return &InvalidError{Field: "expires", Reason: fmt.Sprintf("%s expires %s, after tier %d's phase ends (%s)",
			what, expires.UTC().Format(time.DateOnly), t, p.End.Format(time.DateOnly)),
			HintText: fmt.Sprintf("choose a date on or before %s, or accept it past the phase end with --beyond-phase and a --reason", p.End.Format(time.DateOnly))}
	}
	return nil
}

// chainOf returns the exception a new one for account and credential type
// t extends: the most extended one not closed (open or expired); nil when
// there is none.
func chainOf(tx store.Tx, account, t string) (*Exception, error) {
	var prev *Exception
	err := tx.Scan(tExc, nil, func(k, b []byte) error {
		var e Exception
		if err := jsonUnmarshal(tExc, k, b, &e); err != nil {
			return err
		}
		if e.Account == account && e.Credential == t && e.Closed == nil &&
			(prev == nil || e.Extensions > prev.Extensions || e.Extensions == prev.Extensions && e.Created.After(prev.Created)) {
			prev = &e
		}
		return nil
	})
	return prev, err
}

// ExtendException moves exception id's end to expires, under the caps of
// a new exception (Options.MaxExceptionDays, its tier's MaxException from
// now, its phase end unless the exception was accepted beyond it), and
// counts the extension. reason, optional, goes to the history event and
// the audit record. The extended exception is returned.
func (inv *Inventory) ExtendException(ctx context.Context, id string, expires time.Time, reason string) (Exception, error) {
	actor, now := audit.Actor(ctx), inv.now()
	var out Exception
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		var e Exception
		ok, err := getJSON(tx, tExc, []byte(id), &e)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("exception %s: %w", id, ErrNotFound)
		}
		what := "exception " + id
		switch {
		case e.Closed != nil:
			return &InvalidError{Field: "id", Reason: fmt.Sprintf("exception %s was closed on %s: add a new one", id, e.Closed.Format(time.DateOnly)),
				HintText: "roster exception add " + e.Account + " --owner OWNER --reason TEXT --expires DATE"}
		case expires.IsZero():
			return &InvalidError{Field: "expires", Reason: what + " needs --expires DATE", HintText: "add --expires DATE"}
		case !expires.After(now):
			return &InvalidError{Field: "expires", Reason: fmt.Sprintf("%s: %s is not in the future", what, expires.UTC().Format(time.DateOnly))}
		case !expires.After(e.Expires):
			return &InvalidError{Field: "expires", Reason: fmt.Sprintf("%s: %s is not after its current end %s", what, expires.UTC().Format(time.DateOnly), e.Expires.Format(time.DateOnly)),
				HintText: "close it instead: roster exception close " + id + " --reason TEXT"}
		case expires.After(now.AddDate(0, 0, inv.opts.MaxExceptionDays)):
			return inv.tooFar(e.Account, expires)
		case len(reason) > maxNote || strings.ContainsFunc(reason, isControl):
			return &InvalidError{Field: "reason", Reason: fmt.Sprintf("longer than %d bytes or contains control characters", maxNote)}
		}
		var r saRecord
		if ok, err := getJSON(tx, tSA, []byte(e.Account), &r); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("exception %s: account %s: %w", id, e.Account, ErrNotFound)
		}
		if err := exceptionCaps(tx, &r, now, expires, e.BeyondPhase, what); err != nil {
			return err
		}
		old := e.Expires
		e.Expires, e.Extensions = expires.UTC(), e.Extensions+1
		if err := putJSON(tx, tExc, []byte(id), e); err != nil {
			return err
		}
		d := fmt.Sprintf("%s extended: until %s -> %s (extension %d)", id, old.Format(time.DateOnly), e.Expires.Format(time.DateOnly), e.Extensions)
		if reason != "" {
			d += ": " + reason
		}
		st := newTxState(tx)
		if err := st.event(Event{Time: now, Account: e.Account, Kind: EventExceptionExtended, Detail: d, Actor: actor}); err != nil {
			return err
		}
		if err := st.flush(); err != nil {
			return err
		}
		out = e
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionExceptionExtend, Account: e.Account, Outcome: audit.OutcomeOK,
			Reason: reason, Detail: d})
	})
	if err != nil {
		return Exception{}, fmt.Errorf("extend exception %s: %w", id, err)
	}
	return out, nil
}

// exceptable refuses an exception for r (covering credential type t, or
// all with t == "") when there is nothing to except or nobody answers for
// the account.
func exceptable(r *saRecord, t string) error {
	r = r.effective()
	held := slices.Sorted(maps.Keys(r.Sum.Creds))
	switch {
	case len(held) == 0:
		return &InvalidError{Field: "account", Reason: fmt.Sprintf("account %s holds no static credential: nothing to except", r.Key),
			HintText: "see what it holds: roster accounts show " + r.Key}
	case t != "" && r.Sum.Creds[t] == 0:
		return &InvalidError{Field: "credential", Reason: fmt.Sprintf("account %s holds no %s credential: nothing to except (it holds %s)", r.Key, t, strings.Join(held, ", ")),
			HintText: "name a type it holds with --credential, or leave --credential out to cover them all"}
	case r.Owner == nil:
		return &InvalidError{Field: "account", Reason: fmt.Sprintf("account %s has no owner: the exception's owner answers for the exception, the account needs its own", r.Key),
			HintText: "roster owner set " + r.Key + " OWNER"}
	}
	return nil
}

// ListExceptions returns exceptions, soonest expiry first. See
// ExceptionFilter.
func (inv *Inventory) ListExceptions(ctx context.Context, f ExceptionFilter) ([]Exception, error) {
	now := inv.now()
	var out []Exception
	err := inv.store.View(ctx, func(tx store.Tx) error {
		key := ""
		if f.Account != "" {
			r, err := resolveAccount(tx, f.Account)
			if err != nil {
				return err
			}
			key = r.Key
		}
		return tx.Scan(tExc, nil, func(k, b []byte) error {
			var e Exception
			if err := jsonUnmarshal(tExc, k, b, &e); err != nil {
				return err
			}
			switch {
			case key != "" && e.Account != key,
				e.Closed != nil && !f.Closed,
				f.ExpiringWithin > 0 && (e.Closed != nil || e.Expires.After(now.Add(f.ExpiringWithin))):
				return nil
			}
			out = append(out, e)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list exceptions: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Expires.Before(out[j].Expires) })
	return out, nil
}

// CloseException ends an exception before its expiry (the credential was
// removed, or the exception is withdrawn). reason, optional, is kept in
// the exception (CloseNote), its history event and the audit record.
func (inv *Inventory) CloseException(ctx context.Context, id, reason string) error {
	actor, now := audit.Actor(ctx), inv.now()
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		var e Exception
		ok, err := getJSON(tx, tExc, []byte(id), &e)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("exception %s: %w", id, ErrNotFound)
		}
		if e.Closed != nil {
			return &InvalidError{Field: "id", Reason: fmt.Sprintf("exception %s was closed on %s", id, e.Closed.Format(time.DateOnly))}
		}
		t := now
		e.Closed, e.ClosedBy, e.CloseNote = &t, actor, reason
		if err := putJSON(tx, tExc, []byte(id), e); err != nil {
			return err
		}
		st := newTxState(tx)
		d := id + " closed"
		if reason != "" {
			d += ": " + reason
		}
		if err := st.event(Event{Time: now, Account: e.Account, Kind: EventExceptionClosed, Detail: d, Actor: actor}); err != nil {
			return err
		}
		if err := st.flush(); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionExceptionClose, Account: e.Account, Outcome: audit.OutcomeOK,
			Reason: reason, Detail: d})
	})
	if err != nil {
		return fmt.Errorf("close exception %s: %w", id, err)
	}
	return nil
}

// Sweep records time-driven changes as history events: exceptions that
// expired since the last sweep ("exception expired") and certificates that
// lapsed ("status changed"). Reports do not depend on it (they compute
// expiry at their own now); the server calls it periodically so that
// history shows when things ran out. It returns the number of events.
func (inv *Inventory) Sweep(ctx context.Context) (int, error) {
	now := inv.now()
	n := 0
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		n = 0
		st := newTxState(tx)
		var expired []Exception
		if err := tx.Scan(tExc, nil, func(k, b []byte) error {
			var e Exception
			if err := jsonUnmarshal(tExc, k, b, &e); err != nil {
				return err
			}
			if e.Expired(now) {
				if seen, err := tx.Get(store.MetaTable, []byte("swept/"+e.ID)); err != nil || seen != nil {
					return err
				}
				expired = append(expired, e)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, e := range expired {
			if err := st.event(Event{Time: e.Expires, Account: e.Account, Kind: EventExceptionExpired,
				Detail: fmt.Sprintf("%s expired; the credential is a violation until the exception is renewed or closed", e.ID)}); err != nil {
				return err
			}
			if err := tx.Put(store.MetaTable, []byte("swept/"+e.ID), []byte{1}); err != nil {
				return err
			}
		}
		var lapsed []string
		if err := tx.Scan(tCertIdx, nil, func(k, b []byte) error {
			var c CertState
			if err := jsonUnmarshal(tCertIdx, k, b, &c); err != nil {
				return err
			}
			if c.RevokedAt == nil && !now.Before(c.NotAfter) {
				if seen, err := tx.Get(store.MetaTable, []byte("swept/"+c.Serial)); err != nil || seen != nil {
					return err
				}
				lapsed = append(lapsed, string(k)+"\x00"+c.Serial+"\x00"+c.NotAfter.Format(time.RFC3339))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, l := range lapsed {
			p := strings.Split(l, "\x00")
			sa, err := saOf(tx, store.Join(p[0], p[1]))
			if err != nil {
				return err
			}
			var h hostRecord
			if _, err := getJSON(tx, tHosts, []byte(p[0]), &h); err != nil {
				return err
			}
			if err := st.event(Event{Time: now, Account: string(sa), Kind: EventStatusChanged, Host: h.Hostname,
				Detail: fmt.Sprintf("lapsed: certificate %s expired %s without renewal", p[2], p[3])}); err != nil {
				return err
			}
			if err := tx.Put(store.MetaTable, []byte("swept/"+p[2]), []byte{1}); err != nil {
				return err
			}
		}
		n = st.ev
		return st.flush()
	})
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	return n, nil
}

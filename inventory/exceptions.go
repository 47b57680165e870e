package inventory

import (
	"context"
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

// AddException records an accepted static credential. Account is NAME or
// NAME@ENV; Owner, Reason and Expires are required; Expires must be in the
// future and at most Options.MaxExceptionDays ahead; Credential, if set,
// is a credential type (scan.Cred*). The account must have an owner (the
// exception's owner answers for the exception, not for the account) and
// hold a static credential of that type (of any type without one). ID,
// Created and CreatedBy are set here. The stored exception is returned.
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
		return Exception{}, &InvalidError{Field: "expires", Reason: fmt.Sprintf("exception for %s expires %s, more than %d days ahead", name, e.Expires.Format(time.DateOnly), inv.opts.MaxExceptionDays),
			HintText: "choose an earlier date and renew the exception when it runs out"}
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
		n, err := store.NextSeq(st.tx, "exception")
		if err != nil {
			return "", err
		}
		out = Exception{ID: fmt.Sprintf("exc-%d", n), Account: r.Key, Credential: e.Credential, Reason: e.Reason,
			Owner: e.Owner, Expires: e.Expires.UTC(), Created: now, CreatedBy: audit.Actor(ctx)}
		if err := putJSON(st.tx, tExc, []byte(out.ID), out); err != nil {
			return "", err
		}
		what := "all static credentials"
		if out.Credential != "" {
			what = out.Credential
		}
		d := fmt.Sprintf("%s: %s until %s, owner %s: %s", out.ID, what, out.Expires.Format(time.DateOnly), out.Owner, out.Reason)
		return d, st.event(Event{Time: now, Account: r.Key, Kind: EventExceptionAdded, Detail: d, Actor: out.CreatedBy})
	})
	if err != nil {
		return Exception{}, err
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

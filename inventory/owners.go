package inventory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

// ImportRow is one data row of an owner CSV and what became of it.
type ImportRow struct {
	Line    int    `json:"line"`
	Account string `json:"account"`
	Owner   string `json:"owner"`
	Contact string `json:"contact,omitempty"`
	// Key is the service account the row resolved to.
	Key string `json:"key,omitempty"`
	Err string `json:"error,omitempty"`
}

// ImportResult is the outcome of ImportOwners.
type ImportResult struct {
	Rows    []ImportRow `json:"rows"`
	Errors  int         `json:"errors"`
	Applied bool        `json:"applied"`
}

// ImportOwners reads a CSV with the header `account,owner,contact` (contact
// optional, columns in any order) and sets each row's owner.
//
// It is a dry run unless apply is set: every row is checked (unknown or
// ambiguous account, missing or placeholder owner, an owner that is the
// account's own name, a second row for the same account) and
// reported with its line number. Nothing is written if any row has an error,
// even with apply: fix the file and run again. With apply and no errors, all
// rows are written in one transaction.
func (inv *Inventory) ImportOwners(ctx context.Context, r io.Reader, apply bool) (*ImportResult, error) {
	rows, err := readOwnerCSV(r)
	if err != nil {
		return nil, err
	}
	res := &ImportResult{Rows: rows}
	actor, now := audit.Actor(ctx), inv.now()
	check := func(tx store.Tx) (map[string]*saRecord, error) {
		res.Errors = 0
		recs := map[string]*saRecord{}
		for i := range res.Rows {
			row := &res.Rows[i]
			if row.Err == "" {
				if err := inv.checkOwner(Owner{Name: row.Owner, Contact: row.Contact}, row.Account); err != nil {
					row.Err = err.Error()
				}
			}
			if row.Err == "" {
				sa, err := resolveAccount(tx, row.Account)
				switch {
				case errors.Is(err, ErrNotFound):
					row.Err = fmt.Sprintf("unknown account %s", row.Account)
				case errors.Is(err, ErrAmbiguous):
					row.Err = strings.TrimSuffix(err.Error(), ": "+ErrAmbiguous.Error())
				case err != nil:
					return nil, err
				case recs[sa.Key] != nil:
					row.Err = fmt.Sprintf("account %s already set by an earlier row", sa.Key)
				default:
					if err := ownerNotAccount(row.Owner, sa, ""); err != nil {
						row.Err = err.Error()
						break
					}
					row.Key = sa.Key
					recs[sa.Key] = sa
				}
			}
			if row.Err != "" {
				res.Errors++
			}
		}
		return recs, nil
	}
	if !apply {
		err = inv.store.View(ctx, func(tx store.Tx) error { _, err := check(tx); return err })
	} else {
		err = inv.store.Update(ctx, func(tx store.Tx) error {
			recs, err := check(tx)
			if err != nil || res.Errors > 0 {
				return err
			}
			st := newTxState(tx)
			for _, row := range res.Rows {
				r := recs[row.Key]
				st.sas[r.Key] = r
				d, err := setOwnerTx(st, r, Owner{Name: row.Owner, Contact: row.Contact}, now, actor)
				if err != nil {
					return err
				}
				if err := audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: "owner.set", Account: r.Key,
					Outcome: audit.OutcomeOK, Detail: d + fmt.Sprintf(" (import line %d)", row.Line)}); err != nil {
					return err
				}
			}
			if err := st.flush(); err != nil {
				return err
			}
			res.Applied = true
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("import owners: %w", err)
	}
	return res, nil
}

func readOwnerCSV(r io.Reader) ([]ImportRow, error) {
	recs, err := readCSV(r, []string{"account", "owner"}, []string{"contact"})
	if err != nil {
		return nil, err
	}
	rows := make([]ImportRow, 0, len(recs))
	for _, rec := range recs {
		row := ImportRow{Line: rec.Line, Account: rec.Get("account"), Owner: rec.Get("owner"), Contact: rec.Get("contact"), Err: rec.Err}
		if row.Err == "" && row.Account == "" {
			row.Err = "account: missing"
		}
		rows = append(rows, row)
	}
	return rows, nil
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

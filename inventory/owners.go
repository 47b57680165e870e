package inventory

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

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
	cr := csv.NewReader(io.LimitReader(r, 16<<20))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, &InvalidError{Field: "line 1", Reason: "empty file: want the header account,owner,contact"}
		}
		return nil, &InvalidError{Field: "line 1", Reason: err.Error()}
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"account", "owner"} {
		if _, ok := col[need]; !ok {
			return nil, &InvalidError{Field: "line 1", Reason: fmt.Sprintf("header lacks column %q: want account,owner,contact", need)}
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var rows []ImportRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				rows = append(rows, ImportRow{Line: pe.Line, Err: pe.Err.Error()})
				continue
			}
			return nil, fmt.Errorf("read csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		row := ImportRow{Line: line, Account: get(rec, "account"), Owner: get(rec, "owner"), Contact: get(rec, "contact")}
		if row.Account == "" {
			row.Err = "account: missing"
		}
		rows = append(rows, row)
		if len(rows) > 100000 {
			return nil, &InvalidError{Field: fmt.Sprintf("line %d", line), Reason: "more than 100000 rows"}
		}
	}
	return rows, nil
}

package audit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster/store"
)

const table = "audit"

var headKey = []byte("audit/head")

// canonical is the hashed encoding: fixed field order, UTC times.
type canonical struct {
	Seq      uint64 `json:"seq"`
	Time     string `json:"time"`
	Actor    string `json:"actor"`
	Action   string `json:"action"`
	Host     string `json:"host"`
	Account  string `json:"account"`
	Serial   string `json:"serial"`
	Outcome  string `json:"outcome"`
	Reason   string `json:"reason"`
	Detail   string `json:"detail"`
	PrevHash string `json:"prev_hash"`
}

func hash(e *Event) string {
	b, _ := json.Marshal(canonical{Seq: e.Seq, Time: e.Time.UTC().Format(time.RFC3339Nano), Actor: e.Actor,
		Action: e.Action, Host: e.Host, Account: e.Account, Serial: e.Serial, Outcome: e.Outcome,
		Reason: e.Reason, Detail: e.Detail, PrevHash: e.PrevHash})
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func readHead(tx store.Tx) (uint64, string, error) {
	v, err := tx.Get(store.MetaTable, headKey)
	if err != nil || v == nil {
		return 0, "", err
	}
	if len(v) < 8 {
		return 0, "", fmt.Errorf("audit head: corrupt")
	}
	return binary.BigEndian.Uint64(v[:8]), string(v[8:]), nil
}

// Append adds e to the log inside tx. Seq, PrevHash and Hash are computed;
// Time defaults to now, Outcome to OutcomeOK, Actor to "unknown".
func Append(tx store.Tx, e Event) error {
	if e.Action == "" {
		return fmt.Errorf("audit: append: no action")
	}
	seq, prev, err := readHead(tx)
	if err != nil {
		return fmt.Errorf("audit: append %s: %w", e.Action, err)
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if e.Actor == "" {
		e.Actor = "unknown"
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeOK
	}
	e.Time = e.Time.UTC()
	e.Seq, e.PrevHash = seq+1, prev
	e.Hash = hash(&e)
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit: append %s: %w", e.Action, err)
	}
	if err := tx.Put(table, store.U64(e.Seq), b); err != nil {
		return fmt.Errorf("audit: append %s: %w", e.Action, err)
	}
	return tx.Put(store.MetaTable, headKey, append(store.U64(e.Seq), e.Hash...))
}

// Record appends e in a transaction of its own through u (the inventory's
// group commit, so records share commits), with the context's actor when
// e.Actor is empty.
func Record(ctx context.Context, u store.Updater, e Event) error {
	if e.Actor == "" {
		e.Actor = Actor(ctx)
	}
	return u.Update(ctx, func(tx store.Tx) error { return Append(tx, e) })
}

// Viewer is the read side of a store.
type Viewer interface {
	View(ctx context.Context, fn func(store.Tx) error) error
}

// List returns the records matching f, oldest first.
func List(ctx context.Context, v Viewer, f Filter) ([]Event, error) {
	var out []Event
	err := v.View(ctx, func(tx store.Tx) error {
		return tx.Scan(table, nil, func(k, b []byte) error {
			var e Event
			if err := json.Unmarshal(b, &e); err != nil {
				return fmt.Errorf("record %x: %w", k, err)
			}
			if !f.Since.IsZero() && e.Time.Before(f.Since) {
				return nil
			}
			if f.Account != "" && e.Account != f.Account && !strings.HasPrefix(e.Account, f.Account+"@") {
				return nil
			}
			out = append(out, e)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out, nil
}

// Head returns the sequence number of the newest record (0 for an empty
// log). Every change to roster's state appends a record in its own
// transaction, so a reader may use it to tell whether anything changed.
func Head(ctx context.Context, v Viewer) (uint64, error) {
	var seq uint64
	err := v.View(ctx, func(tx store.Tx) error {
		var err error
		seq, _, err = readHead(tx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("audit: head: %w", err)
	}
	return seq, nil
}

// Verify walks the chain and returns how many records it verified, or an
// *Error (wrapping ErrTampered) naming the first record that was edited,
// deleted or inserted.
func Verify(ctx context.Context, v Viewer) (records uint64, err error) {
	err = v.View(ctx, func(tx store.Tx) error {
		headSeq, headHash, err := readHead(tx)
		if err != nil {
			return err
		}
		var want uint64 = 1
		prev := ""
		err = tx.Scan(table, nil, func(k, b []byte) error {
			if len(k) != 8 {
				return &Error{Seq: want, Reason: "foreign key in the audit table"}
			}
			seq := binary.BigEndian.Uint64(k)
			var e Event
			if err := json.Unmarshal(b, &e); err != nil {
				return &Error{Seq: seq, Reason: "unreadable record"}
			}
			switch {
			case seq != want:
				return &Error{Seq: want, Reason: fmt.Sprintf("missing (next record is %d)", seq)}
			case e.Seq != seq:
				return &Error{Seq: seq, Reason: fmt.Sprintf("stored under %d but says %d", seq, e.Seq)}
			case e.PrevHash != prev:
				return &Error{Seq: seq, Reason: "previous hash does not match the record before it"}
			case hash(&e) != e.Hash:
				return &Error{Seq: seq, Reason: "contents do not match its hash (edited)"}
			}
			prev = e.Hash
			want++
			return nil
		})
		if err != nil {
			return err
		}
		if want-1 != headSeq || prev != headHash {
			return &Error{Seq: headSeq, Reason: fmt.Sprintf("log ends at record %d but the head says %d (records deleted)", want-1, headSeq)}
		}
		records = headSeq
		return nil
	})
	if err != nil {
		return 0, err
	}
	return records, nil
}

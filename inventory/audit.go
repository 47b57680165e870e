package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// The audit log is a hash chain: record n stores the hash of record n-1
// (PrevHash) and its own Hash = SHA-256 of its canonical encoding, which
// includes PrevHash. The head (last sequence number and hash) is kept in
// meta, so deleting the newest records is detected as well as editing or
// deleting any other. Records are appended in the same transaction as the
// change they describe.

// auditCanonical is the hashed encoding: fixed field order, UTC times.
type auditCanonical struct {
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

func auditHash(e *AuditEvent) string {
	b, _ := json.Marshal(auditCanonical{Seq: e.Seq, Time: e.Time.UTC().Format(time.RFC3339Nano), Actor: e.Actor,
		Action: e.Action, Host: e.Host, Account: e.Account, Serial: e.Serial, Outcome: e.Outcome,
		Reason: e.Reason, Detail: e.Detail, PrevHash: e.PrevHash})
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func readAuditHead(tx Tx) (uint64, string, error) {
	v, err := tx.Get(tMeta, kAuditHead)
	if err != nil || v == nil {
		return 0, "", err
	}
	if len(v) < 8 {
		return 0, "", fmt.Errorf("meta audit head: corrupt")
	}
	return binary.BigEndian.Uint64(v[:8]), string(v[8:]), nil
}

func appendAuditTx(tx Tx, e AuditEvent) error {
	seq, prev, err := readAuditHead(tx)
	if err != nil {
		return err
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	e.Seq, e.PrevHash = seq+1, prev
	e.Hash = auditHash(&e)
	if err := putJSON(tx, tAudit, u64key(e.Seq), e); err != nil {
		return err
	}
	return tx.Put(tMeta, kAuditHead, append(u64key(e.Seq), e.Hash...))
}

// AppendAudit appends one record; Seq, PrevHash and Hash are computed,
// Time defaults to now and Actor to the context's actor. Never put secret
// material in any field.
func (inv *Inventory) AppendAudit(ctx context.Context, e AuditEvent) error {
	if e.Action == "" {
		return &InvalidError{Field: "action", Reason: "missing"}
	}
	if e.Time.IsZero() {
		e.Time = inv.now()
	}
	if e.Actor == "" {
		e.Actor = ActorFrom(ctx)
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeOK
	}
	if err := inv.batchUpdate(ctx, func(tx Tx) error { return appendAuditTx(tx, e) }); err != nil {
		return fmt.Errorf("append audit %s: %w", e.Action, err)
	}
	return nil
}

// ListAudit returns matching records, oldest first. Account matches the
// record's account or its service account key (NAME matches NAME@ENV).
func (inv *Inventory) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	var out []AuditEvent
	err := inv.store.View(ctx, func(tx Tx) error {
		return tx.Scan(tAudit, nil, func(k, b []byte) error {
			var e AuditEvent
			if err := jsonUnmarshal(tAudit, k, b, &e); err != nil {
				return err
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
		return nil, fmt.Errorf("list audit: %w", err)
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out, nil
}

// VerifyAudit walks the chain and returns how many records it verified,
// or an *AuditError (wrapping ErrAuditTampered) naming the first record that
// was edited, deleted or inserted.
func (inv *Inventory) VerifyAudit(ctx context.Context) (records uint64, err error) {
	err = inv.store.View(ctx, func(tx Tx) error {
		headSeq, headHash, err := readAuditHead(tx)
		if err != nil {
			return err
		}
		var want uint64 = 1
		prev := ""
		err = tx.Scan(tAudit, nil, func(k, b []byte) error {
			if len(k) != 8 {
				return &AuditError{Seq: want, Reason: "foreign key in the audit table"}
			}
			seq := binary.BigEndian.Uint64(k)
			var e AuditEvent
			if err := json.Unmarshal(b, &e); err != nil {
				return &AuditError{Seq: seq, Reason: "unreadable record"}
			}
			switch {
			case seq != want:
				return &AuditError{Seq: want, Reason: fmt.Sprintf("missing (next record is %d)", seq)}
			case e.Seq != seq:
				return &AuditError{Seq: seq, Reason: fmt.Sprintf("stored under %d but says %d", seq, e.Seq)}
			case e.PrevHash != prev:
				return &AuditError{Seq: seq, Reason: "previous hash does not match the record before it"}
			case auditHash(&e) != e.Hash:
				return &AuditError{Seq: seq, Reason: "contents do not match its hash (edited)"}
			}
			prev = e.Hash
			want++
			return nil
		})
		if err != nil {
			return err
		}
		if want-1 != headSeq || prev != headHash {
			return &AuditError{Seq: headSeq, Reason: fmt.Sprintf("log ends at record %d but the head says %d (records deleted)", want-1, headSeq)}
		}
		records = headSeq
		return nil
	})
	if err != nil {
		return 0, err
	}
	return records, nil
}

// WriteAuditJSONL writes records as JSON lines, one object per record, for
// a SIEM.
func WriteAuditJSONL(w io.Writer, events []AuditEvent) error {
	enc := json.NewEncoder(w)
	for i := range events {
		if err := enc.Encode(&events[i]); err != nil {
			return fmt.Errorf("write audit record %d: %w", events[i].Seq, err)
		}
	}
	return nil
}

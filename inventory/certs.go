package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

// Certificate lineage. An identity holds one current certificate
// ([CertState]); a renewal or rekey replaces it with its successor, which
// remembers the serial it was renewed from (CertState.Previous). That is
// all the issuer needs to make renewal idempotent and to detect reuse, the
// way OAuth refresh-token rotation does:
//
//   - the current certificate may be renewed, once: [Inventory.RecordRenewedTx]
//     records the successor only while the certificate it names is still
//     current (a check-and-set in the recording transaction), so concurrent
//     renewals of one certificate cannot both succeed;
//   - the previous certificate gets the current one back (a lost response,
//     an agent that crashed before saving);
//   - any older certificate of the identity is refused, and
//     [Inventory.RecordReuse] marks the identity (CertState.ReuseDetectedAt
//     and ReuseSerial, kept across renewals until the identity is enrolled
//     again), writes an [EventCertReuse] history event and audits the
//     refusal as [audit.ActionCertReuse]: someone may hold a copy of the key.
//
// The lineage lives in the records the identity already has (the host
// record or the instance, rewritten by every renewal anyway), so it costs a
// renewal no extra write.

// EventCertReuse is the history event of an account whose superseded
// certificate was presented again: a possible key theft.
const EventCertReuse = "certificate reuse"

// ErrNotCurrent is returned (wrapped) by [Inventory.RecordRenewedTx] when
// the certificate renewed is no longer the identity's current one: another
// renewal, an enrollment or a revocation came first.
var ErrNotCurrent = errors.New("certificate is not the identity's current one")

// Renewal is a certificate that replaces the current certificate of the
// identity (Host, Account), Account "" for the host identity.
type Renewal struct {
	Host, Account string
	// From is the serial of the certificate renewed, which must be the
	// identity's current one; "" when the identity holds no certificate.
	From string
	// Serial, NotBefore and NotAfter describe the new certificate.
	Serial              string
	NotBefore, NotAfter time.Time
	// Rekey is set when the new certificate has a new key (audited as
	// cert.rekey rather than cert.renew).
	Rekey bool
}

// RecordRenewed is [Inventory.RecordRenewedTx] in a group commit of its own.
func (inv *Inventory) RecordRenewed(ctx context.Context, r Renewal) error {
	return inv.group.Update(ctx, func(tx store.Tx) error { return inv.RecordRenewedTx(ctx, tx, r) })
}

// RecordRenewedTx records r in tx: the new certificate becomes the
// identity's current one, renewed from r.From, and keeps its enrollment
// time, its managed status and any reuse mark. An audit record is appended.
// If r.From is not the current certificate (or that one was revoked), it
// writes nothing and returns an error wrapping [ErrNotCurrent].
func (inv *Inventory) RecordRenewedTx(ctx context.Context, tx store.Tx, r Renewal) error {
	if !validName(r.Serial) {
		return &InvalidError{Field: "serial", Reason: "missing"}
	}
	if !r.NotAfter.After(r.NotBefore) {
		return &InvalidError{Field: "not_after", Reason: "not after not_before"}
	}
	actor, now := audit.Actor(ctx), inv.now()
	action := audit.ActionCertRenew
	if r.Rekey {
		action = audit.ActionCertRekey
	}
	if r.Account == "" {
		if err := bindOnCert(tx, r.Host, false, now); err != nil {
			return fmt.Errorf("record renewal %s of %s for %s: %w", r.Serial, r.From, r.Host, err)
		}
	}
	var c *CertState
	hostname, err := setCert(tx, r.Host, r.Account, now, actor, func(cur *CertState) (*CertState, *Event, error) {
		if cur.serial() != r.From || cur != nil && cur.RevokedAt != nil {
			return nil, nil, fmt.Errorf("%w: renewing %q, the current certificate is %q", ErrNotCurrent, r.From, cur.serial())
		}
		c = &CertState{Serial: r.Serial, NotBefore: r.NotBefore.UTC(), NotAfter: r.NotAfter.UTC(), IssuedAt: now}
		c.carryFrom(cur, now)
		return c, nil, nil
	})
	if err == nil {
		detail := "not_after " + c.NotAfter.Format(time.RFC3339)
		if r.From != "" {
			detail += ", renewed from " + r.From
		}
		err = audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: action, Host: hostname, Account: r.Account,
			Serial: r.Serial, Outcome: audit.OutcomeOK, Detail: detail})
	}
	if err != nil {
		return fmt.Errorf("record renewal %s of %s for %s/%s: %w", r.Serial, r.From, r.Host, r.Account, err)
	}
	return nil
}

// RecordReuse records that serial, a superseded certificate of (host,
// account), was presented for renewal and refused: the current certificate
// is marked (ReuseDetectedAt, ReuseSerial), an [EventCertReuse] history
// event is written the first time this serial is seen (an account's only:
// host identities have no history), and the refusal is audited as
// [audit.ActionCertReuse] with reason, every time. One transaction.
func (inv *Inventory) RecordReuse(ctx context.Context, host, account, serial, reason string) error {
	if !validName(serial) {
		return &InvalidError{Field: "serial", Reason: "missing"}
	}
	actor, now := audit.Actor(ctx), inv.now()
	err := inv.group.Update(ctx, func(tx store.Tx) error {
		hostname, err := setCert(tx, host, account, now, actor, func(cur *CertState) (*CertState, *Event, error) {
			if cur == nil || (cur.ReuseDetectedAt != nil && cur.ReuseSerial == serial) {
				return cur, nil, nil
			}
			c := *cur
			t := now
			c.ReuseDetectedAt, c.ReuseSerial = &t, serial
			return &c, &Event{Kind: EventCertReuse,
				Detail: fmt.Sprintf("superseded certificate %s presented again (current %s): possible key theft", serial, cur.Serial)}, nil
		})
		if err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionCertReuse, Host: hostname, Account: account,
			Serial: serial, Outcome: audit.OutcomeRefused, Reason: reason})
	})
	if err != nil {
		return fmt.Errorf("record reuse of %s by %s/%s: %w", serial, host, account, err)
	}
	return nil
}

// carryFrom makes c the successor of cur (nil: none) at now: it keeps the
// line's enrollment time, managed status and reuse mark, and names cur as
// the certificate it was renewed from.
func (c *CertState) carryFrom(cur *CertState, now time.Time) {
	c.LastRenewal = now
	if cur == nil {
		return
	}
	c.IssuedAt, c.Managed, c.Previous = cur.IssuedAt, cur.Managed, cur.Serial
	c.ReuseDetectedAt, c.ReuseSerial = cur.ReuseDetectedAt, cur.ReuseSerial
}

// serial is the certificate's serial, "" for none.
func (c *CertState) serial() string {
	if c == nil {
		return ""
	}
	return c.Serial
}

package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CreateEnrollToken stores a one-time enrollment token. The caller (the
// issuer) generates the secret, hands it to the operator, and passes only
// its hash here. Host must be a known host; Account, if set, an instance on
// it. The creation is audited.
func (inv *Inventory) CreateEnrollToken(ctx context.Context, t EnrollToken) error {
	if len(t.Hash) < 16 || len(t.Hash) > 64 {
		return &InvalidError{Field: "hash", Reason: "want the 16-64 byte hash of the token"}
	}
	if t.ExpiresAt.IsZero() {
		return &InvalidError{Field: "expires_at", Reason: "missing"}
	}
	actor, now := ActorFrom(ctx), inv.now()
	if t.CreatedBy == "" {
		t.CreatedBy = actor
	}
	t.CreatedAt, t.UsedAt = now, nil
	err := inv.store.Update(ctx, func(tx Tx) error {
		h, err := findHost(tx, t.Host)
		if err != nil {
			return err
		}
		t.Host = h.Hostname
		if t.Account != "" {
			if v, err := tx.Get(tInst, join(h.ID, t.Account)); err != nil {
				return err
			} else if v == nil {
				return fmt.Errorf("account %s on host %s: %w", t.Account, h.Hostname, ErrNotFound)
			}
		}
		if old, err := tx.Get(tEnroll, t.Hash); err != nil {
			return err
		} else if old != nil {
			return &InvalidError{Field: "hash", Reason: "an enrollment token with this hash exists"}
		}
		if err := putJSON(tx, tEnroll, t.Hash, t); err != nil {
			return err
		}
		return appendAuditTx(tx, AuditEvent{Time: now, Actor: actor, Action: "enroll.token.create", Host: t.Host, Account: t.Account,
			Outcome: OutcomeOK, Detail: "expires " + t.ExpiresAt.UTC().Format(time.RFC3339)})
	})
	if err != nil {
		return fmt.Errorf("create enrollment token for %s/%s: %w", t.Host, t.Account, err)
	}
	return nil
}

// RedeemEnrollToken marks the token with this hash used and returns it. It
// succeeds once: concurrent and later attempts get ErrEnrollUsed; unknown
// hashes ErrEnrollUnknown; a token past ExpiresAt at now ErrEnrollExpired.
// With ErrEnrollUsed and ErrEnrollExpired it also returns the token's Host
// and Account (and nothing else: never the hash), so that the caller, which
// audits the outcome, can name the identity the refused attempt was for.
func (inv *Inventory) RedeemEnrollToken(ctx context.Context, hash []byte, now time.Time) (EnrollToken, error) {
	var t EnrollToken
	var refused error // a refusal writes nothing, so it need not roll the batch back
	err := inv.batchUpdate(ctx, func(tx Tx) error {
		t, refused = EnrollToken{}, nil
		ok, err := getJSON(tx, tEnroll, hash, &t)
		if err != nil {
			return err
		}
		switch {
		case !ok:
			refused = ErrEnrollUnknown
		case t.UsedAt != nil:
			refused = ErrEnrollUsed
		case !now.Before(t.ExpiresAt):
			refused = ErrEnrollExpired
		}
		if refused != nil {
			return nil
		}
		u := now.UTC()
		t.UsedAt = &u
		return putJSON(tx, tEnroll, hash, t)
	})
	if err != nil {
		return EnrollToken{}, fmt.Errorf("redeem enrollment token: %w", err)
	}
	switch {
	case errors.Is(refused, ErrEnrollUnknown):
		return EnrollToken{}, refused
	case refused != nil:
		return EnrollToken{Host: t.Host, Account: t.Account}, refused
	}
	return t, nil
}

// Identity returns what the inventory knows about (host, account); account
// "" asks about the host's own identity. An unknown host or account is not
// an error: Exists is false.
func (inv *Inventory) Identity(ctx context.Context, host, account string) (IdentityState, error) {
	s := IdentityState{Host: host, Account: account}
	err := inv.store.View(ctx, func(tx Tx) error {
		h, err := findHost(tx, host)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		s.Host, s.HostKnown, s.Env = h.Hostname, true, h.Env
		if account == "" {
			s.Exists = !h.LastScan.IsZero()
			s.Cert = h.Cert
			return nil
		}
		k := join(h.ID, account)
		var ir instRecord
		ok, err := getInst(tx, k, &ir)
		if err != nil || !ok {
			return err
		}
		s.Exists, s.Gone, s.GoneAt, s.Cert = true, ir.GoneAt != nil, ir.GoneAt, ir.Cert
		// One scan of the account's groups also finds its own record.
		var r saRecord
		name, _ := splitKey(ir.SA)
		groups, err := groupsOf(tx, name, func(o *saRecord) {
			if o.Key == ir.SA {
				r = *o
			}
		})
		if err != nil {
			return err
		}
		v := &view{groups: map[string][]string{r.Name: groups}}
		_, s.Env = splitKey(r.Key)
		s.ServiceAccount, s.Owner, s.Retired = r.Key, r.Owner, r.Retired
		s.SharedAcrossEnvs = v.sharedAcrossEnvs(&r)
		s.Tier, _, _ = tierOf(&r)
		return nil
	})
	if err != nil {
		return IdentityState{}, fmt.Errorf("identity %s/%s: %w", host, account, err)
	}
	return s, nil
}

// RecordIssued, RecordRevoked, RedeemEnrollToken and AppendAudit are
// group-committed like Ingest: concurrent calls (renewals from many agents)
// share a transaction and its fsyncs, and each returns once durable.

// RecordIssued records a certificate issued (renewal false) or renewed for
// (host, account), account "" for the host identity. It makes the serial
// the identity's current certificate, sets the migration status to
// enrolled (managed once a later scan finds no static credential), writes
// a history event and an audit record.
func (inv *Inventory) RecordIssued(ctx context.Context, host, account, serial string, notBefore, notAfter time.Time, renewal bool) error {
	if !validName(serial) {
		return &InvalidError{Field: "serial", Reason: "missing"}
	}
	if !notAfter.After(notBefore) {
		return &InvalidError{Field: "not_after", Reason: "not after not_before"}
	}
	actor, now := ActorFrom(ctx), inv.now()
	action := "cert.issue"
	if renewal {
		action = "cert.renew"
	}
	err := inv.batchUpdate(ctx, func(tx Tx) error {
		h, err := findHost(tx, host)
		if err != nil {
			return err
		}
		c := &CertState{Serial: serial, NotBefore: notBefore.UTC(), NotAfter: notAfter.UTC(), IssuedAt: now}
		if account == "" {
			if renewal && h.Cert != nil {
				c.IssuedAt, c.Managed = h.Cert.IssuedAt, h.Cert.Managed
				c.LastRenewal = now
			}
			h.Cert = c
			if err := putJSON(tx, tHosts, []byte(h.ID), h); err != nil {
				return err
			}
		} else {
			k, ir, err := findInst(tx, h, account)
			if err != nil {
				return err
			}
			if renewal && ir.Cert != nil && ir.Cert.RevokedAt == nil {
				c.IssuedAt, c.Managed, c.LastRenewal = ir.Cert.IssuedAt, ir.Cert.Managed, now
			}
			st := newTxState(tx)
			before := contribOf(ir, &h.Host)
			ir.Cert = c
			// A renewal seldom changes the account's summary (certificate,
			// managed, long-lived counts): rewrite it only when it does.
			if after := contribOf(ir, &h.Host); after.certCounts() != before.certCounts() {
				sa, err := st.sa(ir.SA)
				if err != nil {
					return err
				}
				sa.Sum.add(before, -1)
				sa.Sum.add(after, +1)
			}
			if err := putInst(tx, k, ir); err != nil {
				return err
			}
			if ir.GoneAt == nil {
				if err := putJSON(tx, tCertIdx, k, c); err != nil {
					return err
				}
			}
			if !renewal {
				if err := st.event(Event{Time: now, Account: ir.SA, Kind: EventCertIssued, Host: h.Hostname, Actor: actor,
					Detail: fmt.Sprintf("serial %s valid until %s", serial, c.NotAfter.Format(time.RFC3339))}); err != nil {
					return err
				}
			}
			if err := st.flush(); err != nil {
				return err
			}
		}
		return appendAuditTx(tx, AuditEvent{Time: now, Actor: actor, Action: action, Host: h.Hostname, Account: account,
			Serial: serial, Outcome: OutcomeOK, Detail: "not_after " + c.NotAfter.Format(time.RFC3339)})
	})
	if err != nil {
		return fmt.Errorf("record certificate %s for %s/%s: %w", serial, host, account, err)
	}
	return nil
}

// RecordRevoked records that the certificate with this serial, issued to
// (host, account) (account "" for the host identity), was revoked. When it
// is the identity's current certificate, the identity no longer counts as
// enrolled. An unknown host or account is an error wrapping ErrNotFound.
//
// The caller names the identity: the CA knows it from the certificate, so
// the inventory keeps no index from serials to identities, which would cost
// every renewal a write to a random page.
func (inv *Inventory) RecordRevoked(ctx context.Context, host, account, serial, reason string) error {
	if !validName(serial) {
		return &InvalidError{Field: "serial", Reason: "missing"}
	}
	actor, now := ActorFrom(ctx), inv.now()
	err := inv.batchUpdate(ctx, func(tx Tx) error {
		h, err := findHost(tx, host)
		if err != nil {
			return err
		}
		t := now
		if account == "" {
			if h.Cert != nil && h.Cert.Serial == serial {
				h.Cert.RevokedAt = &t
				if err := putJSON(tx, tHosts, []byte(h.ID), h); err != nil {
					return err
				}
			}
		} else {
			k, ir, err := findInst(tx, h, account)
			if err != nil {
				return err
			}
			st := newTxState(tx)
			saKey := ir.SA
			sa, err := st.sa(string(saKey))
			if err != nil {
				return err
			}
			if ir.Cert != nil && ir.Cert.Serial == serial {
				sa.Sum.add(contribOf(ir, &h.Host), -1)
				c := *ir.Cert
				c.RevokedAt = &t
				ir.Cert = &c
				sa.Sum.add(contribOf(ir, &h.Host), +1)
				if err := putInst(tx, k, ir); err != nil {
					return err
				}
				if err := tx.Delete(tCertIdx, k); err != nil {
					return err
				}
			}
			if err := st.event(Event{Time: now, Account: sa.Key, Kind: EventCertRevoked, Host: h.Hostname, Actor: actor,
				Detail: fmt.Sprintf("serial %s: %s", serial, reason)}); err != nil {
				return err
			}
			if err := st.flush(); err != nil {
				return err
			}
		}
		return appendAuditTx(tx, AuditEvent{Time: now, Actor: actor, Action: "cert.revoke", Host: h.Hostname, Account: account,
			Serial: serial, Outcome: OutcomeOK, Reason: reason})
	})
	if err != nil {
		return fmt.Errorf("record revocation of %s: %w", serial, err)
	}
	return nil
}

package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

// Identity returns what the inventory knows about (host, account); account
// "" asks about the host's own identity. An unknown host or account is not
// an error: Exists is false.
func (inv *Inventory) Identity(ctx context.Context, host, account string) (IdentityState, error) {
	s := IdentityState{Host: host, Account: account}
	err := inv.store.View(ctx, func(tx store.Tx) error {
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
		k := store.Join(h.ID, account)
		var ir instRecord
		ok, err := getInst(tx, k, &ir)
		if err != nil || !ok {
			return err
		}
		s.Exists, s.Gone, s.GoneAt, s.Cert = true, ir.GoneAt != nil, ir.GoneAt, ir.Cert
		// One scan of the account's groups also finds its own record.
		var r saRecord
		name, _ := splitKey(ir.SA)
		review := map[string]bool{}
		groups, err := groupsOf(tx, name, func(o *saRecord) {
			if o.Key == ir.SA {
				r = *o
			}
			if o.waitsForReview() {
				review[o.Key] = true
			}
		})
		if err != nil {
			return err
		}
		v := &view{groups: map[string][]string{r.Name: groups}, review: review}
		_, s.Env = splitKey(r.Key)
		s.ServiceAccount, s.Owner, s.Retired = r.Key, r.Owner, r.Retired
		s.SharedAcrossEnvs = v.sharedAcrossEnvs(&r)
		s.PendingReview = r.waitsForReview()
		s.Tier, _, _ = tierOf(&r)
		s.VendorHold, err = vendorHold(tx, &r, inv.now())
		return err
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
	return inv.group.Update(ctx, func(tx store.Tx) error {
		return inv.RecordIssuedTx(ctx, tx, host, account, serial, notBefore, notAfter, renewal)
	})
}

// RecordIssuedTx is RecordIssued inside the caller's transaction (one from
// [Inventory.Update]), so that the issuer burns an enrollment token in the
// same commit that records the certificate it paid for. A renewal recorded
// here replaces whatever certificate is current; [Inventory.RecordRenewedTx]
// replaces only the one it names.
//
// The first certificate of a host identity (account "", renewal false)
// binds the identity named host to the host record it resolves to, as that
// record's hostname and machine-id stand: from then on a scan submitted
// with that certificate ([Inventory.IngestAs] with Submitter.Host) may
// change that record only. The issuer must pass the name the certificate
// carries (spiffe://TD/host/NAME).
func (inv *Inventory) RecordIssuedTx(ctx context.Context, tx store.Tx, host, account, serial string, notBefore, notAfter time.Time, renewal bool) error {
	if !validName(serial) {
		return &InvalidError{Field: "serial", Reason: "missing"}
	}
	if !notAfter.After(notBefore) {
		return &InvalidError{Field: "not_after", Reason: "not after not_before"}
	}
	actor, now := audit.Actor(ctx), inv.now()
	action := audit.ActionCertIssue
	if renewal {
		action = audit.ActionCertRenew
	}
	if account == "" {
		// Enrolling the host identity binds it to its record: its scans may
		// change this host and no other (checkSubmitter).
		if err := bindOnCert(tx, host, !renewal, now); err != nil {
			return fmt.Errorf("record certificate %s for %s: %w", serial, host, err)
		}
	}
	var c *CertState
	next := func(cur *CertState) (*CertState, *Event, error) {
		c = &CertState{Serial: serial, NotBefore: notBefore.UTC(), NotAfter: notAfter.UTC(), IssuedAt: now}
		// A host identity's renewal carries the state over even from a
		// revoked certificate, an instance's only from a live one.
		if renewal && cur != nil && (account == "" || cur.RevokedAt == nil) {
			c.carryFrom(cur, now)
		}
		if renewal || account == "" {
			return c, nil, nil
		}
		return c, &Event{Kind: EventCertIssued, Detail: fmt.Sprintf("serial %s valid until %s", serial, c.NotAfter.Format(time.RFC3339))}, nil
	}
	hostname, err := setCert(tx, host, account, now, actor, next)
	if err == nil {
		err = audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: action, Host: hostname, Account: account,
			Serial: serial, Outcome: audit.OutcomeOK, Detail: "not_after " + c.NotAfter.Format(time.RFC3339)})
	}
	if err != nil {
		return fmt.Errorf("record certificate %s for %s/%s: %w", serial, host, account, err)
	}
	return nil
}

// setCert replaces the current certificate of (host, account), account ""
// for the host identity, with what next makes of it (cur is nil when the
// identity holds none), in tx. For an instance it keeps the certificate
// index and the account's summary in step, and adds the event next returns
// (if any) to the account's history, filling in time, account, host and
// actor. next's error aborts with nothing written, and so does returning
// cur itself (and no event). It returns the host's name.
func setCert(tx store.Tx, host, account string, now time.Time, actor string, next func(cur *CertState) (*CertState, *Event, error)) (string, error) {
	h, err := findHost(tx, host)
	if err != nil {
		return "", err
	}
	if account == "" {
		c, _, err := next(h.Cert)
		if err != nil || c == h.Cert {
			return h.Hostname, err
		}
		h.Cert = c
		return h.Hostname, putJSON(tx, tHosts, []byte(h.ID), h)
	}
	k, ir, err := findInst(tx, h, account)
	if err != nil {
		return "", err
	}
	c, ev, err := next(ir.Cert)
	if err != nil {
		return "", err
	}
	if c == ir.Cert && ev == nil {
		return h.Hostname, nil // unchanged
	}
	st := newTxState(tx)
	before := contribOf(ir, &h.Host)
	ir.Cert = c
	// A renewal seldom changes the account's summary (certificate,
	// managed, long-lived counts): rewrite it only when it does.
	if after := contribOf(ir, &h.Host); after.certCounts() != before.certCounts() {
		sa, err := st.sa(ir.SA)
		if err != nil {
			return "", err
		}
		sa.Sum.add(before, -1)
		sa.Sum.add(after, +1)
	}
	if err := putInst(tx, k, ir); err != nil {
		return "", err
	}
	// The index holds live, unrevoked certificates only.
	if ir.GoneAt == nil && c != nil && c.RevokedAt == nil {
		if err := putJSON(tx, tCertIdx, k, c); err != nil {
			return "", err
		}
	}
	if ev != nil {
		ev.Time, ev.Account, ev.Host, ev.Actor = now, ir.SA, h.Hostname, actor
		if err := st.event(*ev); err != nil {
			return "", err
		}
	}
	return h.Hostname, st.flush()
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
	actor, now := audit.Actor(ctx), inv.now()
	err := inv.group.Update(ctx, func(tx store.Tx) error {
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
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionCertRevoke, Host: h.Hostname, Account: account,
			Serial: serial, Outcome: audit.OutcomeOK, Reason: reason})
	})
	if err != nil {
		return fmt.Errorf("record revocation of %s: %w", serial, err)
	}
	return nil
}

// IdentityState is what the issuer needs to decide on a certificate for
// (Host, Account). Account "" is the host's own identity.
type IdentityState struct {
	Host    string `json:"host"`
	Account string `json:"account"`
	// HostKnown is false when no host of that name was ever ingested.
	HostKnown bool `json:"host_known"`
	// Exists is true when the instance (or the host) is known; Gone when the
	// newest scan of the host no longer found it.
	Exists bool       `json:"exists"`
	Gone   bool       `json:"gone"`
	GoneAt *time.Time `json:"gone_at,omitempty"`
	// ServiceAccount is the key (NAME@GROUP) the instance belongs to.
	ServiceAccount   string     `json:"service_account,omitempty"`
	Env              string     `json:"env"`
	Owner            *Owner     `json:"owner,omitempty"`
	Retired          bool       `json:"retired"`
	SharedAcrossEnvs bool       `json:"shared_across_envs"`
	Tier             Tier       `json:"tier"`
	Cert             *CertState `json:"cert,omitempty"`
	// PendingReview is set when a scan found the account's name in this
	// environment while it already was an identity in another: until an
	// operator confirms it as separate or merges it, the identity must not
	// enroll (SharedAcrossEnvs is set too, so a policy that refuses shared
	// accounts refuses it). The identity it shares the name with is not
	// affected.
	PendingReview bool `json:"pending_review,omitempty"`
	// VendorHold is set when the account's vendor revokes on lapse and an
	// exception of the account lapsed (vendors.go): no certificate until
	// the exception is renewed or closed.
	VendorHold *VendorHold `json:"vendor_hold,omitempty"`
}

package issuer

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/inventory"
)

// Renew verifies the client certificate (peer[0]: chain to this CA's root,
// not expired, not revoked), checks that its identity is still eligible and
// issues a new certificate with the same identity and key, with the
// validity in force.
//
// Renewal is idempotent per certificate (see "Renewal lineage" in the
// package documentation): the identity's current certificate is renewed
// once, and renewing it again returns that same successor; an older
// certificate is refused with a [*ReuseError].
func (i *Issuer) Renew(ctx context.Context, peer []*x509.Certificate) ([]*x509.Certificate, error) {
	return i.renew(ctx, peer, nil)
}

// Rekey is [Issuer.Renew] with the public key of csr. Rekeying a
// certificate that was already renewed returns its successor when that has
// csr's key, and is refused (a [*DeniedError]) when it has another one.
func (i *Issuer) Rekey(ctx context.Context, peer []*x509.Certificate, csr *x509.CertificateRequest) ([]*x509.Certificate, error) {
	if err := checkCSR(csr); err != nil {
		return nil, err
	}
	return i.renew(ctx, peer, csr)
}

// ReuseError is a renewal or rekey with a certificate of the identity
// that is neither its current certificate nor the one the current one was
// renewed from: two or more generations behind, or from a line an
// enrollment has replaced. Two holders of one identity's key are renewing
// separately (a copied key, or an agent left running after the identity
// was enrolled again), so it is refused, audited as
// [audit.ActionCertReuse] and flagged on the identity
// (inventory.CertState.ReuseDetectedAt); HTTP 403.
type ReuseError struct {
	Host    string
	Account string // "" for a host identity
	// Serial is the certificate presented, Current the identity's current
	// one.
	Serial, Current string
	Reason          string
	HintText        string
}

func (e *ReuseError) Error() string { return e.Reason }

// Hint is the next step for the operator.
func (e *ReuseError) Hint() string { return e.HintText }

func (i *Issuer) renew(ctx context.Context, peer []*x509.Certificate, csr *x509.CertificateRequest) ([]*x509.Certificate, error) {
	action := audit.ActionCertRenew
	if csr != nil {
		action = audit.ActionCertRekey
	}
	id, leaf, err := i.verifyPeer(ctx, peer)
	if err != nil {
		serial := ""
		if len(peer) > 0 {
			serial = peer[0].SerialNumber.String()
		}
		i.refused(ctx, action, id, serial, err)
		return nil, err
	}
	serial := leaf.SerialNumber.String()
	ctx = audit.WithActor(ctx, id.String())
	// Concurrent renewals of one identity wait for each other here, so that
	// the first issues the successor and the others find it. Across
	// servers sharing a store, the check-and-set in RecordRenewed decides.
	// Only the decision and the issuance hold the lock; audit records and
	// reuse marks are written after it.
	unlock, err := i.lines.lock(ctx, id.String())
	if err != nil {
		return nil, err
	}
	o, err := i.renewLocked(ctx, action, id, leaf, csr)
	unlock()
	var reuse *ReuseError
	switch {
	case errors.As(err, &reuse):
		i.recordReuse(ctx, reuse)
		return nil, err
	case err != nil:
		err = i.diskFull(ctx, opText(action, id), action, id, serial, err)
		var full *DiskFullError
		if isRefusal(err) && !errors.As(err, &full) {
			i.refused(ctx, action, id, serial, err)
		}
		return nil, err
	case o.replayed:
		i.audit(ctx, audit.Event{Action: action, Host: id.Host, Account: id.Account, Serial: o.serial(), Outcome: audit.OutcomeOK,
			Detail: "replay: " + serial + " was already renewed to this certificate"})
		i.log.InfoContext(ctx, "certificate renewal replayed", slog.String("host", id.Host), slog.String("account", id.Account),
			slog.String("old_serial", serial), slog.String("serial", o.serial()), slog.Bool("rekey", csr != nil))
	default:
		i.log.InfoContext(ctx, "certificate renewed", slog.String("host", id.Host), slog.String("account", id.Account),
			slog.String("old_serial", serial), slog.String("serial", o.serial()),
			slog.Bool("rekey", csr != nil), slog.Time("not_after", o.chain[0].NotAfter))
	}
	return o.chain, nil
}

// renewed is what renewLocked decided: the chain to answer with, and
// whether it is the answer to an earlier renewal of the same certificate.
type renewed struct {
	chain    []*x509.Certificate
	replayed bool
}

func (o renewed) serial() string { return o.chain[0].SerialNumber.String() }

// renewLocked decides a renewal with the identity's lock held: it renews
// the current certificate, replays the answer for the previous one, and
// refuses any other with a *ReuseError (which the caller records).
func (i *Issuer) renewLocked(ctx context.Context, action string, id ID, leaf *x509.Certificate, csr *x509.CertificateRequest) (renewed, error) {
	serial := leaf.SerialNumber.String()
	for retried := false; ; retried = true {
		s, err := i.eligible(ctx, id)
		if err != nil {
			return renewed{}, err
		}
		switch {
		case s.Cert == nil || s.Cert.Serial == serial:
			// The current certificate (or, for an identity the inventory
			// holds none for, any valid one): renew it below.
		case s.Cert.Previous == serial:
			chain, err := i.replay(action, id, serial, s.Cert.Serial, csr)
			return renewed{chain: chain, replayed: true}, err
		default:
			return renewed{}, reuseError(id, serial, s.Cert.Serial)
		}
		chain, err := i.reissue(ctx, action, id, leaf, s, csr)
		if err != nil {
			return renewed{}, err
		}
		next := chain[0]
		r := inventory.Renewal{Host: id.Host, Account: id.Account, Serial: next.SerialNumber.String(),
			NotBefore: next.NotBefore, NotAfter: next.NotAfter, Rekey: csr != nil}
		if s.Cert != nil {
			r.From = s.Cert.Serial
		}
		err = i.store.RecordRenewed(ctx, r)
		if err == nil {
			return renewed{chain: chain}, nil
		}
		// Signed but never handed out: revoke it so it cannot surface.
		rerr := i.discard(ctx, next)
		if errors.Is(err, inventory.ErrNotCurrent) && !retried {
			// Another server, an enrollment or a revocation came first:
			// decide again on what is current now.
			if rerr != nil {
				i.log.ErrorContext(ctx, "revoking an unrecorded certificate failed", slog.String("serial", r.Serial),
					slog.String("error", rerr.Error()))
			}
			continue
		}
		err = fmt.Errorf("issuer: record certificate %s for %s: %w", r.Serial, id.Label(), err)
		if rerr != nil {
			err = fmt.Errorf("%w (and revoking it failed: %v)", err, rerr)
		}
		return renewed{}, err
	}
}

// eligible is the gate of every renewal, rekey and SSH signing: the
// policy on what the inventory says of id (owner, retired, gone, shared
// across environments, pending review, vendor hold), and the identity's
// current certificate not revoked.
func (i *Issuer) eligible(ctx context.Context, id ID) (inventory.IdentityState, error) {
	s, err := i.identityState(ctx, id)
	if err == nil && s.Cert != nil && s.Cert.RevokedAt != nil {
		err = &DeniedError{Host: id.Host, Account: id.Account,
			Reason:   fmt.Sprintf("the certificate of %s was revoked", id.Label()),
			HintText: "enroll it again: " + enrollCommand(id)}
	}
	return s, err
}

// reissue signs the successor of leaf with the validity in force: the
// tier's, else the CA's default. Never the old certificate's lifetime.
func (i *Issuer) reissue(ctx context.Context, action string, id ID, leaf *x509.Certificate, s inventory.IdentityState, csr *x509.CertificateRequest) ([]*x509.Certificate, error) {
	var pub crypto.PublicKey
	if csr != nil {
		pub = csr.PublicKey
	}
	chain, err := i.ca.Reissue(ctx, leaf, pub, i.tiers[s.Tier])
	if errors.Is(err, ca.ErrKeyType) {
		// A key accepted once and no longer (a P-384 key from before it was
		// refused): the holder can still move to an accepted one.
		return nil, &RequestError{Reason: fmt.Sprintf("the key of %s is no longer accepted: %v", id.Label(), err),
			HintText: "rekey with an ECDSA P-256 key (POST /1.0/rekey with a new CSR)"}
	}
	if err != nil {
		return nil, fmt.Errorf("issuer: %s %s: %w", action, id.Label(), err)
	}
	return chain, nil
}

// replay answers a renewal of the certificate (serial) the identity's
// current one (current) was renewed from: with the current certificate,
// byte for byte, as the first renewal was answered. A rekey asking for
// another key than the current certificate's is refused: that would grow
// a second line of certificates from one.
func (i *Issuer) replay(action string, id ID, serial, current string, csr *x509.CertificateRequest) ([]*x509.Certificate, error) {
	next, err := i.ca.Certificate(current)
	if err != nil {
		return nil, fmt.Errorf("issuer: %s %s: read the certificate %s was renewed to: %w", action, id.Label(), serial, err)
	}
	if csr != nil && !publicKeysEqual(next.PublicKey, csr.PublicKey) {
		return nil, &DeniedError{Host: id.Host, Account: id.Account,
			Reason:   fmt.Sprintf("certificate %s of %s was already renewed, to certificate %s with another key than this request's", serial, id.Label(), current),
			HintText: fmt.Sprintf("renew with certificate %s and its key; if that key is lost, enroll again: %s", current, enrollCommand(id))}
	}
	return []*x509.Certificate{next, i.ca.Intermediate()}, nil
}

// reuseError is the refusal of a renewal with serial, a superseded
// certificate of id (whose current one is current).
func reuseError(id ID, serial, current string) *ReuseError {
	return &ReuseError{Host: id.Host, Account: id.Account, Serial: serial, Current: current,
		Reason: fmt.Sprintf("certificate %s of %s is superseded (its current certificate is %s): "+
			"another holder of its key is renewing, possible key theft", serial, id.Label(), current),
		HintText: fmt.Sprintf("if no agent of yours still runs with the old certificate, a key was copied: %s, then %s",
			revokeCommand(id)+" --reason keyCompromise", enrollCommand(id))}
}

// recordReuse logs a reuse, marks the identity and audits the refusal.
func (i *Issuer) recordReuse(ctx context.Context, e *ReuseError) {
	i.log.WarnContext(ctx, "superseded certificate presented: possible key theft", slog.String("host", e.Host),
		slog.String("account", e.Account), slog.String("serial", e.Serial), slog.String("current_serial", e.Current))
	if err := i.store.RecordReuse(ctx, e.Host, e.Account, e.Serial, e.Reason); err != nil {
		i.log.ErrorContext(ctx, "recording a certificate reuse failed", slog.String("host", e.Host),
			slog.String("account", e.Account), slog.String("serial", e.Serial), slog.String("error", err.Error()))
	}
}

// discard revokes a certificate that was signed but not recorded, so never
// handed out.
func (i *Issuer) discard(ctx context.Context, leaf *x509.Certificate) error {
	return i.ca.Revoke(ctx, leaf.SerialNumber.String(), "issuance not recorded")
}

func revokeCommand(id ID) string {
	if id.Account == "" {
		return "roster revoke --host " + id.Host
	}
	return "roster revoke " + id.Account + " --host " + id.Host
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// lineLocks serialises the renewals of each identity within this process.
// An entry lives while someone holds or waits for it.
type lineLocks struct {
	mu sync.Mutex
	m  map[string]*lineLock
}

type lineLock struct {
	ch      chan struct{} // holds a token while locked
	waiters int           // holders and waiters, under lineLocks.mu
}

// lock waits for key's lock (or ctx) and returns its unlock.
func (l *lineLocks) lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*lineLock{}
	}
	e := l.m[key]
	if e == nil {
		e = &lineLock{ch: make(chan struct{}, 1)}
		l.m[key] = e
	}
	e.waiters++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if e.waiters--; e.waiters == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
	select {
	case e.ch <- struct{}{}:
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
	return func() { <-e.ch; release() }, nil
}

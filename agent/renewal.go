package agent

// The renewal loop of one identity, split the way autocert's renewal.go
// splits its own, one job per function: loop only schedules; once looks at
// the certificate and decides what is due; try renews now and books the
// outcome (failed or renewed); renew gets, verifies and installs the new
// certificate (autocert's do). When to look again comes from the pure
// functions of schedule.go (next, nextAfterRenewal, retryWait, wake), and
// what status.json says after each step from the pure *Status functions at
// the end of this file, so that both are tested with tables.

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"
)

// loop runs once, waits as long as it says, and again, until ctx is done.
// A value on r.force cuts the wait short and renews at once.
func (r *runner) loop(ctx context.Context) {
	forced := false
	for {
		wait := r.once(ctx, forced)
		forced = false
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-r.force:
			t.Stop()
			forced = true
			r.attempt = 0
		case <-r.batched:
			t.Stop()
		}
	}
}

// once does what is due for the identity now and returns how long to wait
// before looking again: report a certificate that cannot be used, wait for
// one that is not due, or renew.
func (r *runner) once(ctx context.Context, forced bool) time.Duration {
	now := r.cfg.now()
	cred, err := r.store.Load(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		return 0
	case err != nil:
		return r.unusable(err, now)
	case !now.Before(cred.Leaf().NotAfter):
		return r.expired(cred.Leaf(), now)
	}
	r.state = ""
	wait, cred := r.x509Step(ctx, cred, forced, now)
	if r.id.SSH != nil && ctx.Err() == nil {
		// After the X.509 renewal, so that the request presents the
		// fresh certificate when both were due.
		wait = min(wait, r.sshStep(ctx, cred, forced))
	}
	return wait
}

// x509Step renews the X.509 certificate when it is due (or forced) and
// returns the wait until it is next due and the credential now installed.
func (r *runner) x509Step(ctx context.Context, cred *Credential, forced bool, now time.Time) (time.Duration, *Credential) {
	if !forced && r.attempt == 0 && !r.batch.waiting(r, cred) {
		d := r.untilDue(cred.Leaf(), now)
		r.batch.note(r, cred)
		if d > 0 {
			return d, cred
		}
	}
	return r.try(ctx, cred, now)
}

// unusable reports a certificate that cannot be loaded (missing, damaged,
// or not matching its key) until an operator repairs the directory.
func (r *runner) unusable(err error, now time.Time) time.Duration {
	r.steadyProblem(err.Error(), loadHint(err, r.id), func(st *Status) { *st = unusableStatus(r.id.Name, err, now) })
	return r.cfg.pollInterval()
}

// expired reports a certificate past its NotAfter, which only a new
// enrollment can replace.
func (r *runner) expired(leaf *x509.Certificate, now time.Time) time.Duration {
	msg := expiredMessage(leaf)
	r.steadyProblem(msg, reenrollHint(leaf, r.id), func(st *Status) { *st = expiredStatus(*st, r.id.Name, leaf, msg, now) })
	return r.cfg.pollInterval()
}

// untilDue plans the renewal of a certificate it has not seen before and
// returns how long to sleep before looking again (at most maxSleep), or
// zero when the renewal is due now.
func (r *runner) untilDue(leaf *x509.Certificate, now time.Time) time.Duration {
	if r.plannedFor != Serial(leaf) { // first look, or enrolled anew
		r.plan(leaf, next(leaf.NotBefore, leaf.NotAfter, now, r.cfg.rnd), now)
	}
	d := wake(r.renewAt, now)
	if d <= 0 {
		return 0
	}
	r.updateStatus(func(st *Status) { *st = waitingStatus(*st, r.id.Name, leaf, r.renewAt) })
	return d
}

// try renews cred now and books the outcome. It returns the wait until the
// next look: the retry wait after a failure, the plan for the new
// certificate after a success.
func (r *runner) try(ctx context.Context, cred *Credential, now time.Time) (time.Duration, *Credential) {
	fresh, err := r.renew(ctx, cred)
	switch {
	case err != nil && ctx.Err() != nil:
		return 0, cred
	case err != nil:
		return r.failed(ctx, cred.Leaf(), err, now), cred
	}
	return r.renewed(fresh, now), fresh
}

// failed books a failed renewal: the current certificate stays, the next
// attempt backs off, and the log gets louder as expiry nears.
func (r *runner) failed(ctx context.Context, leaf *x509.Certificate, err error, now time.Time) time.Duration {
	wait := retryWait(r.attempt, leaf.NotAfter, now, r.cfg.rnd)
	r.attempt++
	r.batch.forget(r)
	hint := failureHint(err, leaf, r.id)
	r.log.Log(ctx, failureLevel(leaf.NotBefore, leaf.NotAfter, now), "renewal failed; the current certificate stays in place",
		failureAttrs(err, r.attempt, wait, leaf.NotAfter, hint)...)
	r.updateStatus(func(st *Status) { *st = failedStatus(*st, r.id.Name, leaf, err, hint, now, wait) })
	return wait
}

// renewed books a renewal: it plans the next one, logs, and asks the
// reload loop to hand the new certificate to the services.
func (r *runner) renewed(fresh *Credential, now time.Time) time.Duration {
	r.attempt = 0
	leaf := fresh.Leaf()
	r.plan(leaf, nextAfterRenewal(leaf.NotBefore, leaf.NotAfter, now, r.cfg.rnd), now)
	r.batch.note(r, fresh)
	r.log.Info("renewed",
		slog.String(keySerial, Serial(leaf)), slog.Time(keyNotAfter, leaf.NotAfter),
		slog.Time(keyNextRenewal, r.renewAt))
	r.updateStatus(func(st *Status) { *st = renewedStatus(*st, r.id.Name, leaf, now, r.renewAt) })
	r.askReload()
	return wake(r.renewAt, now)
}

// plan fixes when leaf is to be renewed: in d from now. The time is kept
// as wall-clock time (no monotonic reading), so that the loop, waking at
// least every maxSleep, notices it even when the host was suspended or its
// clock was stepped, which a single long timer would not.
func (r *runner) plan(leaf *x509.Certificate, d time.Duration, now time.Time) {
	r.plannedFor = Serial(leaf)
	r.renewAt = now.Add(d).Round(0)
}

// steadyProblem records a state that only an operator can end (missing or
// expired certificate), logging it when it first appears.
func (r *runner) steadyProblem(msg, hint string, update func(*Status)) {
	if r.state != msg {
		r.state = msg
		r.log.Error(msg, slog.String(keyDir, r.id.Dir), slog.String(keyHint, hint))
	}
	r.updateStatus(update)
}

// renew gets, verifies and installs a new certificate.
func (r *runner) renew(ctx context.Context, cred *Credential) (*Credential, error) {
	client, err := r.client()
	if err != nil {
		return nil, err
	}
	chain, key, err := r.request(ctx, client, cred)
	if err != nil {
		return nil, err
	}
	if err := checkRenewed(chain, cred.Leaf(), client.Root(), key.Public(), r.cfg.now()); err != nil {
		return nil, err
	}
	fresh := &Credential{Chain: chain, Key: key}
	if err := r.store.Save(ctx, fresh); err != nil {
		return nil, fmt.Errorf("install renewed certificate: %w", err)
	}
	return fresh, nil
}

// request asks the server for the next certificate: a renewal for the
// current key or, with Rekey, a certificate for a new key of the same type.
// It returns the chain and the key it certifies.
func (r *runner) request(ctx context.Context, client *Client, cred *Credential) ([]*x509.Certificate, crypto.Signer, error) {
	if !r.id.Rekey {
		chain, err := r.batch.renew(ctx, r, cred)
		if errors.Is(err, errNoBatch) {
			chain, err = client.Renew(ctx, cred)
		}
		return chain, cred.Key, err
	}
	key, err := GenerateKey(keyTypeOf(cred.Key))
	if err != nil {
		return nil, nil, err
	}
	csr, err := newCSR(key)
	if err != nil {
		return nil, nil, err
	}
	chain, err := client.Rekey(ctx, cred, csr)
	return chain, key, err
}

// checkRenewed verifies a chain the server returned for old: it chains to
// root at now, certifies pub, and names the same identity as old.
func checkRenewed(chain []*x509.Certificate, old, root *x509.Certificate, pub crypto.PublicKey, now time.Time) error {
	if err := VerifyChain(chain, root, pub, now); err != nil {
		return err
	}
	if !slices.EqualFunc(chain[0].URIs, old.URIs, func(a, b *url.URL) bool { return a.String() == b.String() }) {
		return fmt.Errorf("server returned a certificate for %q, not %q", identityURI(chain[0].URIs), identityURI(old.URIs))
	}
	return nil
}

// expiredMessage is the steady problem of an expired certificate.
func expiredMessage(leaf *x509.Certificate) string {
	return fmt.Sprintf("certificate expired at %s: needs re-enrollment", leaf.NotAfter.UTC().Format(time.RFC3339))
}

// loadHint says what to do about a certificate that cannot be loaded:
// enroll when there is none, else repair the directory.
func loadHint(err error, id Identity) string {
	if errors.Is(err, ErrNotEnrolled) {
		return reenrollHint(nil, id)
	}
	return "fix or remove the files in " + id.Dir + " and enroll again"
}

// failureAttrs are the log attributes of failed attempt number attempt
// (1 for the first), with the hint (see [failureHint]) when there is one.
func failureAttrs(err error, attempt int, wait time.Duration, notAfter time.Time, hint string) []any {
	attrs := []any{
		slog.String(keyError, err.Error()), slog.Int(keyAttempt, attempt),
		slog.Duration(keyRetryIn, wait), slog.Time(keyNotAfter, notAfter),
	}
	if hint != "" {
		attrs = append(attrs, slog.String(keyHint, hint))
	}
	return attrs
}

// The status of an identity after each step of the loop, from the status
// before it.

// unusableStatus: no usable certificate; nothing of an earlier one stays.
func unusableStatus(name string, err error, now time.Time) Status {
	return Status{Identity: name, LastError: err.Error(), LastAttempt: now, NeedsReenrollment: true}
}

// expiredStatus: leaf expired; no renewal is planned.
func expiredStatus(st Status, name string, leaf *x509.Certificate, msg string, now time.Time) Status {
	st.Identity, st.Serial, st.NotAfter = name, Serial(leaf), leaf.NotAfter
	st.NextRenewal, st.LastAttempt, st.LastError, st.NeedsReenrollment = time.Time{}, now, msg, true
	st.Hint = "" // ReadStatus gives the re-enrollment hint from the certificate
	return st
}

// waitingStatus: leaf is valid and due at renewAt. What the status said
// about another certificate (re-enrolled since) is dropped.
func waitingStatus(st Status, name string, leaf *x509.Certificate, renewAt time.Time) Status {
	if st.Serial != Serial(leaf) {
		st = Status{SSH: st.SSH}
	}
	st.Identity, st.Serial, st.NotAfter, st.NextRenewal = name, Serial(leaf), leaf.NotAfter, renewAt
	return st
}

// failedStatus: renewing leaf failed with err, with hint; the next try is
// in wait.
func failedStatus(st Status, name string, leaf *x509.Certificate, err error, hint string, now time.Time, wait time.Duration) Status {
	st.Identity, st.Serial, st.NotAfter, st.NeedsReenrollment = name, Serial(leaf), leaf.NotAfter, false
	st.LastAttempt, st.LastError, st.Refused, st.NextRenewal = now, err.Error(), isRefused(err), now.Add(wait)
	st.Hint = hint
	return st
}

// renewedStatus: leaf was just installed and is due at renewAt. Only the
// reload loop's last error and the SSH certificate's status carry over:
// they are about the services and the SSH certificate.
func renewedStatus(st Status, name string, leaf *x509.Certificate, now, renewAt time.Time) Status {
	return Status{
		Identity: name, Serial: Serial(leaf), NotAfter: leaf.NotAfter, NextRenewal: renewAt,
		LastRenewal: now, LastAttempt: now, ReloadError: st.ReloadError, SSH: st.SSH,
	}
}

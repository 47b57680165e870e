package main

import (
	"crypto/x509"
	"math/rand/v2"
	"time"
)

// The renewal schedule of a simulated identity is roster-agent's (package
// agent, schedule.go and batch.go): the functions below follow agent's
// next, nextAfterRenewal, inWindow, backoff and retryWait, which the agent
// keeps unexported; the table tests pin the same figures.

// Retry bounds after a failed renewal, as the agent's.
const (
	minBackoff = time.Second
	maxBackoff = 5 * time.Minute
)

// randN returns a uniform random number in [0, n); n is at least 1.
type randN func(n int64) int64

func defaultRand(n int64) int64 { return rand.Int64N(n) }

// next is how long to wait before renewing a certificate valid from
// notBefore to notAfter: until two thirds of the lifetime, minus a random
// jitter of up to a twentieth of it; never less than zero.
func next(notBefore, notAfter, now time.Time, rnd randN) time.Duration {
	life := notAfter.Sub(notBefore)
	if life <= 0 {
		return 0
	}
	jitter := time.Duration(rnd(int64(life/20) + 1))
	if d := notBefore.Add(life*2/3 - jitter).Sub(now); d > 0 {
		return d
	}
	return 0
}

// nextAfterRenewal is next for a certificate just received, kept for at
// least half of its remaining validity (the server backdates NotBefore by
// a minute, which against a short validity puts two thirds of the
// lifetime at or before issuance).
func nextAfterRenewal(notBefore, notAfter, now time.Time, rnd randN) time.Duration {
	return max(next(notBefore, notAfter, now, rnd), notAfter.Sub(now)/2)
}

// inWindow reports whether a certificate due at renewAt joins a batch sent
// now: due within a twentieth of its lifetime, and still valid.
func inWindow(leaf *x509.Certificate, renewAt, now time.Time) bool {
	return now.Before(leaf.NotAfter) && renewAt.Sub(now) <= leaf.NotAfter.Sub(leaf.NotBefore)/20
}

// retryWait is the wait after failed attempt number attempt (0 for the
// first): exponential backoff with full jitter from one second up to five
// minutes, but never more than a quarter of the time the certificate has
// left (and at least a second).
func retryWait(attempt int, notAfter, now time.Time, rnd randN) time.Duration {
	ceiling := maxBackoff
	if attempt < 20 {
		ceiling = min(ceiling, minBackoff<<attempt)
	}
	b := minBackoff + time.Duration(rnd(int64(ceiling-minBackoff)+1))
	return min(b, max(notAfter.Sub(now)/4, minBackoff))
}

// renewalInterval is the mean time between two renewals of one identity
// in the steady state, for certificates of validity issued with NotBefore
// backdate earlier: the mean of nextAfterRenewal over its jitter. The
// README's sizing uses it for one-hour certificates.
func renewalInterval(validity, backdate time.Duration) time.Duration {
	life := validity + backdate
	// next from issuance: two thirds of life after NotBefore, minus a
	// jitter uniform in [0, life/20]: mean life*2/3 - backdate - life/40.
	mean := life*2/3 - backdate - life/40
	return max(mean, validity/2)
}

package agent

import (
	"crypto/x509"
	"log/slog"
	"time"
)

// Retry bounds after a failed renewal.
const (
	minBackoff = time.Second
	maxBackoff = 5 * time.Minute
)

// maxSleep bounds every wait of the renewal loop, so that a suspended
// host or a stepped clock delays a renewal by at most this much.
const maxSleep = 5 * time.Minute

// randN returns a uniform random number in [0, n); n is at least 1.
type randN func(n int64) int64

// next returns how long to wait before renewing a certificate valid from
// notBefore to notAfter: until two thirds of the lifetime, minus a random
// jitter of up to a twentieth of it, so that agents started together do
// not renew together. It never returns less than zero.
func next(notBefore, notAfter, now time.Time, rnd randN) time.Duration {
	life := notAfter.Sub(notBefore)
	if life <= 0 {
		return 0
	}
	jitter := time.Duration(rnd(int64(life/20) + 1))
	at := notBefore.Add(life*2/3 - jitter)
	if d := at.Sub(now); d > 0 {
		return d
	}
	return 0
}

// nextAfterRenewal is [next] for a certificate just received: it also
// keeps the certificate for at least half of its remaining validity. The
// server backdates NotBefore for clock skew; when the backdating is large
// against a short validity, two thirds of the lifetime may already have
// passed at issuance, and next alone would renew again at once, forever.
func nextAfterRenewal(notBefore, notAfter, now time.Time, rnd randN) time.Duration {
	return max(next(notBefore, notAfter, now, rnd), notAfter.Sub(now)/2)
}

// wake is how long the renewal loop sleeps before it looks again at a
// certificate due at renewAt: until then, but at most [maxSleep]. It is
// zero or less when the renewal is due.
func wake(renewAt, now time.Time) time.Duration {
	return min(renewAt.Sub(now), maxSleep)
}

// backoff returns the wait before retry number attempt (0 for the first
// retry): exponential with full jitter, uniform between one second and a
// ceiling that doubles from one second up to five minutes.
func backoff(attempt int, rnd randN) time.Duration {
	ceiling := maxBackoff
	if attempt < 20 {
		if c := minBackoff << attempt; c < ceiling {
			ceiling = c
		}
	}
	return minBackoff + time.Duration(rnd(int64(ceiling-minBackoff)+1))
}

// retryWait is the wait after failed attempt number attempt (0 for the
// first failure): [backoff], but never more than a quarter of the time the
// current certificate has left (and at least a second), so that retries
// get denser as expiry nears and an outage that ends before expiry is
// noticed in time.
func retryWait(attempt int, notAfter, now time.Time, rnd randN) time.Duration {
	return min(backoff(attempt, rnd), max(notAfter.Sub(now)/4, minBackoff))
}

// failureLevel is how loudly to log a failed renewal: a warning while most
// of the lifetime remains, an error once less than a sixth of it is left.
func failureLevel(notBefore, notAfter, now time.Time) slog.Level {
	life := notAfter.Sub(notBefore)
	if notAfter.Sub(now) <= life/6 {
		return slog.LevelError
	}
	return slog.LevelWarn
}

// Serial formats a certificate's serial number in decimal, as step and
// roster print it.
func Serial(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return ""
	}
	return c.SerialNumber.String()
}

// The renewal loop's schedule, for programs that simulate agents
// (scripts/fleetsim): the same functions, with rnd a uniform random
// source on [0, n).

// RenewIn is how long an agent waits before renewing a certificate valid
// from notBefore to notAfter ([next]).
func RenewIn(notBefore, notAfter, now time.Time, rnd func(n int64) int64) time.Duration {
	return next(notBefore, notAfter, now, rnd)
}

// RenewInAfterRenewal is [RenewIn] for a certificate just received
// ([nextAfterRenewal]).
func RenewInAfterRenewal(notBefore, notAfter, now time.Time, rnd func(n int64) int64) time.Duration {
	return nextAfterRenewal(notBefore, notAfter, now, rnd)
}

// RetryIn is the wait after failed renewal attempt number attempt
// ([retryWait]).
func RetryIn(attempt int, notAfter, now time.Time, rnd func(n int64) int64) time.Duration {
	return retryWait(attempt, notAfter, now, rnd)
}

// InBatchWindow reports whether a certificate due at renewAt joins a batch
// sent now ([inWindow]).
func InBatchWindow(leaf *x509.Certificate, renewAt, now time.Time) bool {
	return inWindow(leaf, renewAt, now)
}

package main

import (
	"math/rand/v2"
	"time"
)

// The renewal schedule of a simulated identity is roster-agent's: package
// agent's RenewIn, RenewInAfterRenewal, RetryIn and InBatchWindow.

// randN returns a uniform random number in [0, n); n is at least 1.
type randN func(n int64) int64

func defaultRand(n int64) int64 { return rand.Int64N(n) }

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

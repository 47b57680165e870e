package main

import (
	"crypto/x509"
	"testing"
	"time"
)

// Deterministic random sources for the bounds of jitter.
var (
	randMin randN = func(int64) int64 { return 0 }
	randMax randN = func(n int64) int64 { return n - 1 }
)

// The schedule follows the agent's: the same cases as agent's
// schedule_test.go give the same bounds.
func TestSchedule(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		desc             string
		validity         time.Duration // NotAfter = t0 + validity
		backdate         time.Duration // NotBefore = t0 - backdate
		elapsed          time.Duration // now = t0 + elapsed
		afterRenewal     bool          // nextAfterRenewal instead of next
		waitMin, waitMax time.Duration
	}{
		{desc: "1h fresh", validity: time.Hour, waitMin: 37 * time.Minute, waitMax: 40 * time.Minute},
		{desc: "1h past two thirds", validity: time.Hour, elapsed: 41 * time.Minute},
		{desc: "1h with 1m backdate", validity: time.Hour, backdate: time.Minute,
			waitMin: 61*time.Minute*2/3 - 61*time.Minute/20 - time.Minute, waitMax: 61*time.Minute*2/3 - time.Minute},
		{desc: "60s with 1m backdate: due at once", validity: time.Minute, backdate: time.Minute,
			waitMin: 14 * time.Second, waitMax: 20 * time.Second},
		{desc: "60s with 1m backdate, just renewed: half the validity", validity: time.Minute, backdate: time.Minute,
			afterRenewal: true, waitMin: 30 * time.Second, waitMax: 30 * time.Second},
		{desc: "1h with 1m backdate, just renewed: two thirds rule", validity: time.Hour, backdate: time.Minute,
			afterRenewal: true, waitMin: 61*time.Minute*2/3 - 61*time.Minute/20 - time.Minute, waitMax: 61*time.Minute*2/3 - time.Minute},
		{desc: "zero lifetime", validity: 0},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			nb, na, now := t0.Add(-tt.backdate), t0.Add(tt.validity), t0.Add(tt.elapsed)
			for name, rnd := range map[string]randN{"min jitter": randMin, "max jitter": randMax} {
				got := next(nb, na, now, rnd)
				if tt.afterRenewal {
					got = nextAfterRenewal(nb, na, now, rnd)
				}
				if got < tt.waitMin || got > tt.waitMax {
					t.Errorf("%s: wait %v, want in [%v, %v]", name, got, tt.waitMin, tt.waitMax)
				}
			}
		})
	}
}

func TestInWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	leaf := &x509.Certificate{NotBefore: t0, NotAfter: t0.Add(100 * time.Second)} // window: 5s
	tests := []struct {
		desc    string
		renewAt time.Duration // after t0
		now     time.Duration
		want    bool
	}{
		{desc: "due now", renewAt: 60 * time.Second, now: 60 * time.Second, want: true},
		{desc: "due within the window", renewAt: 65 * time.Second, now: 60 * time.Second, want: true},
		{desc: "due after the window", renewAt: 66 * time.Second, now: 60 * time.Second},
		{desc: "overdue", renewAt: 50 * time.Second, now: 60 * time.Second, want: true},
		{desc: "expired", renewAt: 50 * time.Second, now: 100 * time.Second},
	}
	for _, tt := range tests {
		if got := inWindow(leaf, t0.Add(tt.renewAt), t0.Add(tt.now)); got != tt.want {
			t.Errorf("%s: inWindow = %v, want %v", tt.desc, got, tt.want)
		}
	}
}

func TestRetryWait(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		desc             string
		attempt          int
		left             time.Duration // until NotAfter
		waitMin, waitMax time.Duration
	}{
		{desc: "first retry", attempt: 0, left: time.Hour, waitMin: time.Second, waitMax: time.Second},
		{desc: "fourth retry", attempt: 3, left: time.Hour, waitMin: time.Second, waitMax: 8 * time.Second},
		{desc: "many retries: five minutes at most", attempt: 40, left: time.Hour, waitMin: time.Second, waitMax: 5 * time.Minute},
		{desc: "near expiry: a quarter of what is left", attempt: 40, left: 20 * time.Second, waitMin: time.Second, waitMax: 5 * time.Second},
		{desc: "at expiry: a second", attempt: 40, left: 0, waitMin: time.Second, waitMax: time.Second},
	}
	for _, tt := range tests {
		for name, rnd := range map[string]randN{"min jitter": randMin, "max jitter": randMax} {
			got := retryWait(tt.attempt, now.Add(tt.left), now, rnd)
			if got < tt.waitMin || got > tt.waitMax {
				t.Errorf("%s, %s: wait %v, want in [%v, %v]", tt.desc, name, got, tt.waitMin, tt.waitMax)
			}
		}
	}
}

func TestRenewalInterval(t *testing.T) {
	tests := []struct {
		validity, backdate, want time.Duration
	}{
		// 61m: two thirds is 40m40s after NotBefore, 39m40s after
		// issuance, less a mean jitter of 1m31.5s.
		{validity: time.Hour, backdate: time.Minute, want: 38*time.Minute + 8500*time.Millisecond},
		{validity: time.Minute, backdate: time.Minute, want: 30 * time.Second},
		{validity: 24 * time.Hour, backdate: 0, want: 16*time.Hour - 36*time.Minute},
	}
	for _, tt := range tests {
		if got := renewalInterval(tt.validity, tt.backdate); got != tt.want {
			t.Errorf("renewalInterval(%v, %v) = %v, want %v", tt.validity, tt.backdate, got, tt.want)
		}
	}
}

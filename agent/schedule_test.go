package agent

import (
	"crypto/x509"
	"log/slog"
	"math/big"
	"testing"
	"time"
)

// Deterministic random sources for the bounds of jitter.
var (
	randMin randN = func(int64) int64 { return 0 }
	randMax randN = func(n int64) int64 { return n - 1 }
)

func TestNext(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		desc             string
		life             time.Duration
		backdate         time.Duration // NotBefore = t0 - backdate
		elapsed          time.Duration // now = t0 + elapsed
		waitMin, waitMax time.Duration
	}{
		{desc: "1h fresh", life: time.Hour, waitMin: 40*time.Minute - 3*time.Minute, waitMax: 40 * time.Minute},
		{desc: "1h half way", life: time.Hour, elapsed: 30 * time.Minute, waitMin: 7 * time.Minute, waitMax: 10 * time.Minute},
		{desc: "1h past two thirds", life: time.Hour, elapsed: 41 * time.Minute},
		{desc: "1h expired", life: time.Hour, elapsed: 2 * time.Hour},
		{desc: "24h fresh", life: 24 * time.Hour, waitMin: 16*time.Hour - 72*time.Minute, waitMax: 16 * time.Hour},
		{desc: "5m fresh", life: 5 * time.Minute, waitMin: 200*time.Second - 15*time.Second, waitMax: 200 * time.Second},
		{desc: "1h+1m backdate", life: 61 * time.Minute, backdate: time.Minute,
			waitMin: 61*time.Minute*2/3 - 61*time.Minute/20 - time.Minute, waitMax: 61*time.Minute*2/3 - time.Minute},
		{desc: "30s with 1m backdate: due at once", life: 90 * time.Second, backdate: time.Minute},
		{desc: "zero lifetime", life: 0},
		{desc: "negative lifetime", life: -time.Hour},
		{desc: "not yet valid", life: time.Hour, elapsed: -time.Hour, waitMin: 97 * time.Minute, waitMax: 100 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			nb := t0.Add(-tt.backdate)
			na := nb.Add(tt.life)
			now := t0.Add(tt.elapsed)
			for name, rnd := range map[string]randN{"min jitter": randMin, "max jitter": randMax} {
				got := next(nb, na, now, rnd)
				if got < tt.waitMin || got > tt.waitMax {
					t.Errorf("%s: next = %v, want in [%v, %v]", name, got, tt.waitMin, tt.waitMax)
				}
			}
		})
	}
}

func TestNextJitterSpread(t *testing.T) {
	// Real randomness stays within the bounds and actually varies.
	t0 := time.Now()
	cfg := &Config{}
	seen := map[time.Duration]bool{}
	for range 200 {
		got := next(t0, t0.Add(time.Hour), t0, cfg.rnd)
		if got < 37*time.Minute || got > 40*time.Minute {
			t.Fatalf("next = %v, want in [37m, 40m]", got)
		}
		seen[got] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct waits in 200 draws: jitter is not random", len(seen))
	}
}

func TestNextAfterRenewal(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		desc             string
		validity         time.Duration // NotAfter = now + validity
		backdate         time.Duration
		waitMin, waitMax time.Duration
	}{
		{desc: "1h, 1m backdate: two thirds rule", validity: time.Hour, backdate: time.Minute,
			waitMin: 61*time.Minute*2/3 - 61*time.Minute/20 - time.Minute, waitMax: 61*time.Minute*2/3 - time.Minute},
		{desc: "20s, 1m backdate: half the remaining validity", validity: 20 * time.Second, backdate: time.Minute,
			waitMin: 10 * time.Second, waitMax: 10 * time.Second},
		{desc: "no backdate", validity: 30 * time.Second, waitMin: 20*time.Second - 1500*time.Millisecond, waitMax: 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			for name, rnd := range map[string]randN{"min jitter": randMin, "max jitter": randMax} {
				got := nextAfterRenewal(t0.Add(-tt.backdate), t0.Add(tt.validity), t0, rnd)
				if got < tt.waitMin || got > tt.waitMax {
					t.Errorf("%s: = %v, want in [%v, %v]", name, got, tt.waitMin, tt.waitMax)
				}
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt          int
		waitMin, waitMax time.Duration
	}{
		{attempt: 0, waitMin: time.Second, waitMax: time.Second},
		{attempt: 1, waitMin: time.Second, waitMax: 2 * time.Second},
		{attempt: 2, waitMin: time.Second, waitMax: 4 * time.Second},
		{attempt: 5, waitMin: time.Second, waitMax: 32 * time.Second},
		{attempt: 8, waitMin: time.Second, waitMax: 256 * time.Second},
		{attempt: 9, waitMin: time.Second, waitMax: 5 * time.Minute},
		{attempt: 30, waitMin: time.Second, waitMax: 5 * time.Minute},
		{attempt: 1000, waitMin: time.Second, waitMax: 5 * time.Minute},
	}
	for _, tt := range tests {
		lo, hi := backoff(tt.attempt, randMin), backoff(tt.attempt, randMax)
		if lo != tt.waitMin || hi != tt.waitMax {
			t.Errorf("backoff(%d) spans [%v, %v], want [%v, %v]", tt.attempt, lo, hi, tt.waitMin, tt.waitMax)
		}
		cfg := &Config{}
		for range 50 {
			if got := backoff(tt.attempt, cfg.rnd); got < tt.waitMin || got > tt.waitMax {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", tt.attempt, got, tt.waitMin, tt.waitMax)
			}
		}
	}
}

func TestRetryWait(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		desc             string
		attempt          int
		left             time.Duration
		waitMin, waitMax time.Duration
	}{
		{desc: "first retry, plenty of time", attempt: 0, left: time.Hour, waitMin: time.Second, waitMax: time.Second},
		{desc: "late retry, plenty of time", attempt: 12, left: time.Hour, waitMin: time.Second, waitMax: 5 * time.Minute},
		{desc: "late retry, 20m left", attempt: 12, left: 20 * time.Minute, waitMin: time.Second, waitMax: 5 * time.Minute},
		{desc: "late retry, 8m left", attempt: 12, left: 8 * time.Minute, waitMin: time.Second, waitMax: 2 * time.Minute},
		{desc: "late retry, 12s left", attempt: 12, left: 12 * time.Second, waitMin: time.Second, waitMax: 3 * time.Second},
		{desc: "late retry, 2s left", attempt: 12, left: 2 * time.Second, waitMin: time.Second, waitMax: time.Second},
		{desc: "expired", attempt: 12, left: -time.Minute, waitMin: time.Second, waitMax: time.Second},
	}
	for _, tt := range tests {
		lo, hi := retryWait(tt.attempt, now.Add(tt.left), now, randMin), retryWait(tt.attempt, now.Add(tt.left), now, randMax)
		if lo != tt.waitMin || hi != tt.waitMax {
			t.Errorf("%s: spans [%v, %v], want [%v, %v]", tt.desc, lo, hi, tt.waitMin, tt.waitMax)
		}
	}
}

func TestFailureLevel(t *testing.T) {
	nb := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	na := nb.Add(time.Hour)
	tests := []struct {
		desc    string
		elapsed time.Duration
		want    slog.Level
	}{
		{desc: "at renewal time", elapsed: 40 * time.Minute, want: slog.LevelWarn},
		{desc: "49m in", elapsed: 49 * time.Minute, want: slog.LevelWarn},
		{desc: "last sixth", elapsed: 50 * time.Minute, want: slog.LevelError},
		{desc: "expired", elapsed: 2 * time.Hour, want: slog.LevelError},
	}
	for _, tt := range tests {
		if got := failureLevel(nb, na, nb.Add(tt.elapsed)); got != tt.want {
			t.Errorf("%s: level %v, want %v", tt.desc, got, tt.want)
		}
	}
}

func TestSerial(t *testing.T) {
	c := &x509.Certificate{SerialNumber: big.NewInt(1234567890123)}
	if got := Serial(c); got != "1234567890123" {
		t.Errorf("Serial = %q", got)
	}
	if got := Serial(&x509.Certificate{}); got != "" {
		t.Errorf("Serial of no serial = %q", got)
	}
}

func TestWake(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		desc string
		due  time.Duration // renewAt = now + due
		want time.Duration
	}{
		{desc: "due soon", due: time.Minute, want: time.Minute},
		{desc: "due later than maxSleep", due: 16 * time.Hour, want: maxSleep},
		{desc: "due exactly at maxSleep", due: maxSleep, want: maxSleep},
		{desc: "due now", due: 0, want: 0},
		{desc: "overdue", due: -time.Hour, want: -time.Hour},
	}
	for _, tt := range tests {
		if got := wake(now.Add(tt.due), now); got != tt.want {
			t.Errorf("%s: wake = %v, want %v", tt.desc, got, tt.want)
		}
	}
}

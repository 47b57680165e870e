package main

import (
	"testing"
	"time"
)

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

package agent

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent/agenttest"
)

// TestInWindow: an identity joins a batch when its renewal is due within
// a twentieth of its lifetime and its certificate is still valid.
func TestInWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	leaf := &x509.Certificate{NotBefore: now.Add(-40 * time.Minute), NotAfter: now.Add(20 * time.Minute)} // 1h: window 3m
	for _, tc := range []struct {
		name    string
		renewAt time.Time
		leaf    *x509.Certificate
		want    bool
	}{
		{"due now", now, leaf, true},
		{"overdue", now.Add(-time.Minute), leaf, true},
		{"due in 3m", now.Add(3 * time.Minute), leaf, true},
		{"due in 3m01s", now.Add(3*time.Minute + time.Second), leaf, false},
		{"expired", now, &x509.Certificate{NotBefore: now.Add(-time.Hour), NotAfter: now}, false},
	} {
		if got := inWindow(tc.leaf, tc.renewAt, now); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRunBatchFallsBack: the test server has no /v1/renew-batch (404, as
// an older roster server): the agent holding the host identity and two
// accounts due together says so once and renews each by itself.
func TestRunBatchFallsBack(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, 9*time.Second)
	host := enroll(t, ca, "")
	a, b := enroll(t, ca, "billing"), enroll(t, ca, "reports")
	h := startAgent(t, ca, Config{Identities: []Identity{{Name: "host", Dir: host}, {Name: "billing", Dir: a}, {Name: "reports", Dir: b}}})
	waitFor(t, "each identity renewed", func() bool { return len(h.logs.Lines("renewed")) >= 3 })
	if n := len(h.logs.Lines("the server has no batch renewal; renewing each identity by itself")); n != 1 {
		t.Errorf("%d fallback log lines, want 1", n)
	}
	if n := len(h.logs.Lines("batch renewal")); n != 0 {
		t.Errorf("%d batch renewals against a server without the route", n)
	}
	if n := ca.Calls("/1.0/renew"); n < 3 {
		t.Errorf("%d single renewals, want at least 3", n)
	}
}

// TestRunBatchNeedsHostIdentity: without the host identity, identities due
// together renew one by one and no batch is tried.
func TestRunBatchNeedsHostIdentity(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, 9*time.Second)
	a, b := enroll(t, ca, "billing"), enroll(t, ca, "reports")
	h := startAgent(t, ca, Config{Identities: []Identity{{Name: "billing", Dir: a}, {Name: "reports", Dir: b}}})
	waitFor(t, "both renewed", func() bool { return len(h.logs.Lines("renewed")) >= 2 })
	if n := len(h.logs.Lines("the server has no batch renewal; renewing each identity by itself")); n != 0 {
		t.Errorf("a batch was tried without the host identity (%d)", n)
	}
}

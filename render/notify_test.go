package render

import (
	"bytes"
	"testing"
	"time"

	"github.com/rosterhq/roster/notify"
)

func TestOutboxGolden(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	list := []notify.Delivery{
		{ID: "d-3f9a0c1b2e4d5f60718293a4", EventID: "exception-expiring-7d/exc-12/2026-12-05", Kind: "exception.expiring", URL: "https://hooks.example.com/…",
			State: "pending", Attempts: 3, Created: t0, NextAttempt: t0.Add(8 * time.Second), LastError: "HTTP 503"},
		{ID: "d-9b1c2d3e4f5a6b7c8d9e0f1a", EventID: "test/20261128T115900Z-1a2b3c4d5e6f7081", Kind: "test", URL: "http://127.0.0.1:9000",
			State: "failed", Attempts: 30, Created: t0.Add(-24 * time.Hour), LastError: "post: dial tcp 127.0.0.1:9000: connect: connection refused\x1b[2J"},
	}
	var buf bytes.Buffer
	if err := Outbox(&buf, list, 2); err != nil {
		t.Fatal(err)
	}
	golden(t, "outbox.table", buf.Bytes())
	buf.Reset()
	if err := Outbox(&buf, nil, 0); err != nil || buf.String() != "no webhook is configured (roster server --notify-url URL)\n" {
		t.Errorf("no webhook: %q, %v", buf.String(), err)
	}
}

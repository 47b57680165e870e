package server

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
)

// TestWebAccountsSnapshot: the same audit head gives the same snapshot; a
// change gives a new one at once for a small inventory; for a large one
// (snapshotLarge accounts, lowered here), a snapshot younger than snapshotStale is shown while a new
// one is taken in the background, and an older one is replaced first.
func TestWebAccountsSnapshot(t *testing.T) {
	e := newWebEnv(t)
	ctx := context.Background()
	first, err := e.s.accountsSnapshot(ctx)
	if err != nil || len(first.rows) != 3 {
		t.Fatalf("snapshot: %v, %d rows", err, len(first.rows))
	}
	if again, _ := e.s.accountsSnapshot(ctx); again != first {
		t.Error("a second snapshot at the same audit head")
	}
	e.ingest("web3", "fresh-one")
	quick, _ := e.s.accountsSnapshot(ctx)
	if quick == first || len(quick.rows) != 4 {
		t.Fatalf("after a change: the same snapshot or %d rows", len(quick.rows))
	}

	// Count 4 accounts as large: the next change is served stale, then the
	// background one replaces it.
	e.s.snapshots.mu.Lock()
	e.s.snapshots.large = 4
	e.s.snapshots.mu.Unlock()
	e.ingest("web3", "fresh-one", "fresh-two")
	if stale, _ := e.s.accountsSnapshot(ctx); stale != quick {
		t.Error("a large snapshot younger than snapshotStale was not shown while the next is taken")
	}
	head, _ := audit.Head(ctx, e.inv.Store())
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.s.snapshots.mu.Lock()
		cur := e.s.snapshots.cur
		e.s.snapshots.mu.Unlock()
		if cur.seq == head && len(cur.rows) == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the background snapshot did not arrive: seq %d rows %d, head %d", cur.seq, len(cur.rows), head)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// An old large snapshot is replaced before the page is served.
	e.s.snapshots.mu.Lock()
	e.s.snapshots.cur.at = time.Now().Add(-snapshotStale)
	old := e.s.snapshots.cur
	e.s.snapshots.mu.Unlock()
	e.ingest("web3", "fresh-one")
	if got, _ := e.s.accountsSnapshot(ctx); got == old || len(got.rows) != 4 {
		t.Errorf("an old snapshot was served after a change: %d rows", len(got.rows))
	}
}

package server

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
)

// TestWebAccountsSnapshot: the same audit head gives the same snapshot; a
// change gives a new one at once when snapshots are quick to take; when
// they are slow, a snapshot younger than snapshotStale is shown while a new
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

	// Pretend the snapshot took long: the next change is served stale, then
	// the background one replaces it.
	e.s.snapshots.mu.Lock()
	quick.took = time.Second
	e.s.snapshots.mu.Unlock()
	e.ingest("web3", "fresh-one", "fresh-two")
	if stale, _ := e.s.accountsSnapshot(ctx); stale != quick {
		t.Error("a slow snapshot younger than snapshotStale was not shown while the next is taken")
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

	// An old slow snapshot is replaced before the page is served.
	e.s.snapshots.mu.Lock()
	e.s.snapshots.cur.took, e.s.snapshots.cur.at = time.Second, time.Now().Add(-snapshotStale)
	old := e.s.snapshots.cur
	e.s.snapshots.mu.Unlock()
	e.ingest("web3", "fresh-one")
	if got, _ := e.s.accountsSnapshot(ctx); got == old || len(got.rows) != 4 {
		t.Errorf("an old snapshot was served after a change: %d rows", len(got.rows))
	}
}

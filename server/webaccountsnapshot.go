package server

import (
	"context"
	"sync"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
)

// The accounts page filters, sorts and pages every service account on the
// server, and listing 100,000 of them (inventory.ListAccounts decodes
// every record) takes about a second. So the page works on a snapshot of
// the list, taken at an audit head: every change to the inventory appends
// an audit record in its own transaction, so while the head is the same
// the list is too (but for what time alone changes: an exception running
// out, a certificate lapsing, which a snapshot older than snapshotFresh
// refreshes). After a change, a snapshot younger than snapshotStale is
// still shown, with its time, while a new one is taken in the background;
// an older one is replaced before the page is served. Only a large
// inventory's snapshot (snapshotLarge accounts or more, where listing takes
// about a tenth of a second or longer) is ever shown stale: a smaller one
// is simply taken again, so whether a page shows a change at once does not
// depend on how busy the machine is.
const (
	snapshotFresh = time.Minute
	snapshotStale = 10 * time.Second
	snapshotLarge = 10000
)

// accountsSnapshot is the service accounts as ListAccounts (no filter)
// gave them at one audit head.
type accountsSnapshot struct {
	seq  uint64
	at   time.Time
	rows []inventory.AccountSummary // read-only once taken
}

// accountSnapshots holds the newest snapshot; one is taken at a time.
type accountSnapshots struct {
	mu      sync.Mutex
	cur     *accountsSnapshot
	loading chan struct{} // closed when the snapshot being taken is done; nil when none is
	large   int           // accounts from which a snapshot may be shown stale; 0 means snapshotLarge
}

// accountsSnapshot returns a snapshot of the service accounts, taking a
// new one when the inventory changed (see snapshotFresh, snapshotStale).
func (s *Server) accountsSnapshot(ctx context.Context) (*accountsSnapshot, error) {
	seq, err := audit.Head(ctx, s.inv.Store())
	if err != nil {
		return nil, err
	}
	c := &s.snapshots
	for {
		c.mu.Lock()
		cur, loading := c.cur, c.loading
		age := time.Duration(0)
		if cur != nil {
			age = time.Since(cur.at)
		}
		switch {
		case cur != nil && cur.seq == seq && age < snapshotFresh:
			c.mu.Unlock()
			return cur, nil
		case cur != nil && age < snapshotStale && len(cur.rows) >= c.largeAt():
			if loading == nil {
				c.loading = make(chan struct{})
				go s.takeSnapshot(context.WithoutCancel(ctx), seq)
			}
			c.mu.Unlock()
			return cur, nil
		case loading == nil:
			c.loading = make(chan struct{})
			c.mu.Unlock()
			if err := s.takeSnapshot(ctx, seq); err != nil {
				return nil, err
			}
			continue
		}
		c.mu.Unlock()
		select {
		case <-loading:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// largeAt is the size from which a snapshot may be shown stale.
func (c *accountSnapshots) largeAt() int {
	if c.large > 0 {
		return c.large
	}
	return snapshotLarge
}

// takeSnapshot lists the accounts as of audit head seq (or later: the head
// is read before the list, so a change in between makes the next request
// take another) and ends the load under way.
func (s *Server) takeSnapshot(ctx context.Context, seq uint64) error {
	start := time.Now()
	rows, err := s.inv.ListAccounts(ctx, inventory.Filter{})
	c := &s.snapshots
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		c.cur = &accountsSnapshot{seq: seq, at: start, rows: rows}
	} else {
		s.log.ErrorContext(ctx, "listing the accounts for the web page", "error", err.Error())
	}
	close(c.loading)
	c.loading = nil
	return err
}

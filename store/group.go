package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Updater is what a [Group] commits through: a [Store], or any other
// transactional writer (the CA adapts smallstep's database to it).
type Updater interface {
	Update(ctx context.Context, fn func(Tx) error) error
}

// GroupOptions configure a [Group]. The zero value is usable.
type GroupOptions struct {
	// MaxBatch bounds how many requests share one transaction (default 512).
	MaxBatch int
	// Window is how long a commit waits for company when the previous
	// commit was shared (0: never wait). It adds at most Window to a
	// request's latency under load and nothing when idle.
	Window time.Duration
	// Wrap, if set, gives every batch its own view of the transaction (a
	// per-batch cache, say) and a flush that runs after the batch's last
	// request succeeded, inside the same transaction.
	Wrap func(Tx) (Tx, func() error)
	// Observe, if set, is told of every batch once it is answered (the
	// server's metrics). It runs on the committing goroutine: it must be
	// quick and must not call the Group.
	Observe func(Commit)
}

// Commit is what [GroupOptions.Observe] is told of one batch.
type Commit struct {
	// Requests counts the requests the final transaction carried (0 when
	// every request of the batch failed).
	Requests int
	// Took is the time spent in the underlying Update, over every run.
	Took time.Duration
	// Reruns counts the times the transaction ran again without a request
	// whose function failed.
	Reruns int
	// Err is the final commit's error.
	Err error
}

// Group is group commit: concurrent [Group.Update] calls share one
// transaction of the underlying [Updater], so the fixed cost of a durable
// commit (two fsyncs for bbolt) is paid once per batch. Later requests in a
// batch see the writes of earlier ones.
//
// Each request stays all-or-nothing: if its function fails, the whole
// transaction is rolled back, that request gets its error, and the batch
// runs again without it (the strategy of bbolt's DB.Batch). Request
// functions may therefore run more than once and must have no effect
// outside the transaction. Every caller is answered only after the commit
// that holds its request returned.
//
// There is no background goroutine: the caller that finds no commit running
// leads, committing batches until nothing is pending.
type Group struct {
	u Updater
	o GroupOptions

	mu       sync.Mutex
	pending  []*groupReq
	flushing bool
	closed   bool
	wg       sync.WaitGroup // the running leader

	lastBatch         atomic.Int64
	commits, requests atomic.Int64
}

type groupReq struct {
	ctx  context.Context
	fn   func(Tx) error
	done chan error
}

// NewGroup returns a Group committing through u.
func NewGroup(u Updater, o GroupOptions) *Group {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 512
	}
	return &Group{u: u, o: o}
}

// Update runs fn in a shared transaction and returns once that transaction
// is durably committed (nil), or fn's error, or the commit's. After Close it
// returns [ErrClosed].
func (g *Group) Update(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &groupReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrClosed
	}
	g.pending = append(g.pending, r)
	lead := !g.flushing
	if lead {
		g.flushing = true
		g.wg.Add(1)
	}
	g.mu.Unlock()
	if lead {
		g.lead()
	}
	return <-r.done
}

// Close refuses new requests and waits until every queued one is committed.
func (g *Group) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}

// Closed reports whether Close was called.
func (g *Group) Closed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// Stats returns how many commits ran and how many requests they carried.
func (g *Group) Stats() (commits, requests int64) {
	return g.commits.Load(), g.requests.Load()
}

// lead commits batches until nothing is pending.
func (g *Group) lead() {
	defer g.wg.Done()
	for {
		if g.o.Window > 0 && g.lastBatch.Load() > 1 {
			time.Sleep(g.o.Window)
		}
		g.mu.Lock()
		n := min(len(g.pending), g.o.MaxBatch)
		if n == 0 {
			g.flushing = false
			g.mu.Unlock()
			return
		}
		batch := g.pending[:n:n]
		g.pending = append([]*groupReq(nil), g.pending[n:]...)
		g.mu.Unlock()
		g.run(batch)
	}
}

// errRequestFailed marks a rollback caused by one request's own function.
var errRequestFailed = errors.New("request failed")

func (g *Group) run(batch []*groupReq) {
	// Callers that gave up while queued are answered, not run.
	pending := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
		} else {
			pending = append(pending, r)
		}
	}
	g.lastBatch.Store(int64(len(pending)))
	var c Commit
	if g.o.Observe != nil && len(pending) > 0 {
		defer func() { g.o.Observe(c) }()
	}
	for runs := 0; len(pending) > 0; runs++ {
		failed, ferr := -1, error(nil)
		start := time.Now()
		err := g.u.Update(context.Background(), func(tx Tx) error {
			view, flush := tx, func() error { return nil }
			if g.o.Wrap != nil {
				view, flush = g.o.Wrap(tx)
			}
			for i, r := range pending {
				if err := r.fn(view); err != nil {
					failed, ferr = i, err
					return errRequestFailed
				}
			}
			return flush()
		})
		c.Took += time.Since(start)
		c.Reruns = runs
		if failed >= 0 && errors.Is(err, errRequestFailed) {
			pending[failed].done <- ferr
			pending = append(pending[:failed:failed], pending[failed+1:]...)
			continue
		}
		g.commits.Add(1)
		g.requests.Add(int64(len(pending)))
		c.Requests, c.Err = len(pending), err
		for _, r := range pending {
			r.done <- err
		}
		return
	}
}

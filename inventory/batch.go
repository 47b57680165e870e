package inventory

import (
	"bytes"
	"context"
	"sort"
)

// Group commit. Concurrent Ingest calls queue a batchReq; one goroutine
// takes everything queued (up to Options.MaxBatch) and runs it in a single
// Store.Update, so the two fsyncs of a commit are shared by the batch. Each
// request runs against its own overlay: its writes reach the transaction
// only if its function succeeded, so a report that fails leaves no trace
// while the others in the batch commit. Later requests in a batch see the
// writes of earlier ones. If the commit itself fails, each request is
// retried alone, so request functions may run more than once and must have
// no effect outside the transaction.

type batchReq struct {
	ctx  context.Context
	fn   func(Tx) error
	done chan error
}

// batchUpdate runs fn through the group-commit loop and returns once its
// transaction is durably committed (nil) or has failed.
func (inv *Inventory) batchUpdate(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &batchReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case inv.reqs <- r:
	case <-inv.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-r.done
}

var errClosed = errorString("inventory is closed")

type errorString string

func (e errorString) Error() string { return string(e) }

func (inv *Inventory) commitLoop() {
	defer inv.wg.Done()
	for {
		var first *batchReq
		select {
		case first = <-inv.reqs:
		case <-inv.stop:
			// Drain what is queued so no caller waits forever.
			for {
				select {
				case r := <-inv.reqs:
					inv.runBatch([]*batchReq{r})
				default:
					return
				}
			}
		}
		batch := []*batchReq{first}
	fill:
		for len(batch) < inv.opts.MaxBatch {
			select {
			case r := <-inv.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		inv.runBatch(batch)
	}
}

func (inv *Inventory) runBatch(batch []*batchReq) {
	results := make([]error, len(batch))
	own := make([]bool, len(batch)) // the request's own function failed
	err := inv.store.Update(context.Background(), func(tx Tx) error {
		for i, r := range batch {
			results[i], own[i] = nil, false
			if err := r.ctx.Err(); err != nil {
				results[i], own[i] = err, true
				continue
			}
			ov := newOverlay(tx)
			if err := r.fn(ov); err != nil {
				results[i], own[i] = err, true
				continue
			}
			if err := ov.apply(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// The shared commit failed: give each request its own transaction.
		for i, r := range batch {
			if !own[i] {
				if len(batch) == 1 {
					results[i] = err
				} else {
					results[i] = inv.store.Update(r.ctx, r.fn)
				}
			}
		}
	}
	for i, r := range batch {
		r.done <- results[i]
	}
}

// overlay buffers a request's writes over a transaction.
type overlay struct {
	tx     Tx
	tables map[string]map[string][]byte // nil value: deleted
}

func newOverlay(tx Tx) *overlay { return &overlay{tx: tx, tables: map[string]map[string][]byte{}} }

func (o *overlay) Writable() bool { return true }

func (o *overlay) Get(table string, key []byte) ([]byte, error) {
	if t, ok := o.tables[table]; ok {
		if v, ok := t[string(key)]; ok {
			if v == nil {
				return nil, nil
			}
			return bytes.Clone(v), nil
		}
	}
	return o.tx.Get(table, key)
}

func (o *overlay) Put(table string, key, value []byte) error {
	t := o.tables[table]
	if t == nil {
		t = map[string][]byte{}
		o.tables[table] = t
	}
	if value == nil {
		value = []byte{}
	}
	t[string(key)] = bytes.Clone(value)
	return nil
}

func (o *overlay) Delete(table string, key []byte) error {
	t := o.tables[table]
	if t == nil {
		t = map[string][]byte{}
		o.tables[table] = t
	}
	t[string(key)] = nil
	return nil
}

func (o *overlay) Scan(table string, p []byte, fn func(k, v []byte) error) error {
	t := o.tables[table]
	if len(t) == 0 {
		return o.tx.Scan(table, p, fn)
	}
	var mine []string
	for k := range t {
		if bytes.HasPrefix([]byte(k), p) {
			mine = append(mine, k)
		}
	}
	sort.Strings(mine)
	i := 0
	emitMine := func(upTo []byte) error { // emit overlay keys < upTo (all if nil)
		for ; i < len(mine) && (upTo == nil || mine[i] < string(upTo)); i++ {
			if v := t[mine[i]]; v != nil {
				if err := fn([]byte(mine[i]), bytes.Clone(v)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := o.tx.Scan(table, p, func(k, v []byte) error {
		if err := emitMine(k); err != nil {
			return err
		}
		if i < len(mine) && mine[i] == string(k) {
			v2 := t[mine[i]]
			i++
			if v2 == nil {
				return nil
			}
			return fn(k, bytes.Clone(v2))
		}
		return fn(k, v)
	})
	if err != nil {
		return err
	}
	return emitMine(nil)
}

// apply writes the buffered changes to the transaction, in key order.
func (o *overlay) apply() error {
	names := make([]string, 0, len(o.tables))
	for n := range o.tables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := o.tables[n]
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var err error
			if v := t[k]; v == nil {
				err = o.tx.Delete(n, []byte(k))
			} else {
				err = o.tx.Put(n, []byte(k), v)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

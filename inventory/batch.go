package inventory

import (
	"context"
	"errors"
	"sort"
)

// Group commit. Concurrent Ingest calls queue a batchReq; one goroutine
// takes everything queued (up to Options.MaxBatch) and runs the requests
// one after the other in a single Store.Update, so the two fsyncs of a
// commit are shared by the batch and each service account record is
// decoded and encoded once per batch. Later requests see the writes of
// earlier ones.
//
// Each report stays all-or-nothing: if a request's function fails, the
// whole transaction is rolled back, that request gets its error, and the
// batch is run again without it (the strategy of bbolt's DB.Batch).
// Request functions may therefore run more than once and must have no
// effect outside the transaction. Callers are answered only after the
// commit that holds their request returned.

type batchReq struct {
	ctx  context.Context
	fn   func(Tx) error
	done chan error
}

// batchTx is the Tx request functions see inside a batch: it carries the
// batch's cache of service account records.
type batchTx struct {
	Tx
	sas map[string]*saRecord
}

// batchUpdate runs fn through the group-commit loop and returns once its
// transaction is durably committed (nil) or has failed.
func (inv *Inventory) batchUpdate(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &batchReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	// The read lock keeps Close from stopping the loop between the closed
	// check and the send, so every queued request is run.
	inv.sendMu.RLock()
	if inv.closed.Load() {
		inv.sendMu.RUnlock()
		return ErrClosed
	}
	select {
	case inv.reqs <- r:
	case <-ctx.Done():
		inv.sendMu.RUnlock()
		return ctx.Err()
	}
	inv.sendMu.RUnlock()
	return <-r.done
}

func (inv *Inventory) commitLoop() {
	defer inv.wg.Done()
	for {
		var first *batchReq
		select {
		case first = <-inv.reqs:
		case <-inv.stop:
			// Run what is queued so no caller waits forever.
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

// errRequestFailed marks a rollback caused by one request's own function.
var errRequestFailed = errors.New("request failed")

func (inv *Inventory) runBatch(batch []*batchReq) {
	// Callers that gave up while queued are answered, not run.
	pending := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
		} else {
			pending = append(pending, r)
		}
	}
	for len(pending) > 0 {
		failed, ferr := -1, error(nil)
		err := inv.store.Update(context.Background(), func(tx Tx) error {
			btx := &batchTx{Tx: tx, sas: map[string]*saRecord{}}
			for i, r := range pending {
				if err := r.fn(btx); err != nil {
					failed, ferr = i, err
					return errRequestFailed
				}
			}
			return flushSAs(tx, btx.sas)
		})
		if failed >= 0 && errors.Is(err, errRequestFailed) {
			pending[failed].done <- ferr
			pending = append(pending[:failed:failed], pending[failed+1:]...)
			continue
		}
		for _, r := range pending {
			r.done <- err
		}
		return
	}
}

// flushSAs writes service account records in key order.
func flushSAs(tx Tx, sas map[string]*saRecord) error {
	keys := make([]string, 0, len(sas))
	for k := range sas {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := putJSON(tx, tSA, []byte(k), sas[k]); err != nil {
			return err
		}
	}
	return nil
}

package agent

// Batch renewal: when the host identity is held here and more than one
// identity of the host is due within the same window, the identity whose
// renewal comes first renews them all in one POST /v1/renew-batch over
// one mTLS connection authenticated by the host identity. Each other
// identity gets its answer handed over and books it in its own loop, as if
// it had renewed alone (runner.request); a server without the route (404
// or 405) turns batching off for a while, and each renews by itself.

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/rosterhq/roster/api"
)

// batchOff is how long a server without batch renewal is not asked again.
const batchOff = time.Hour

// errNoBatch: renew by yourself.
var errNoBatch = errors.New("no batch")

// batcher coordinates the batch renewals of the identities of one agent.
type batcher struct {
	run sync.Mutex // one batch at a time

	mu       sync.Mutex // guards what follows
	due      map[*runner]batchDue
	results  map[*runner]batchResult
	offUntil time.Time
}

// batchDue is an identity's current credential and when it is due.
type batchDue struct {
	cred    *Credential
	renewAt time.Time
}

// batchResult is a batch's answer for one identity's certificate serial.
type batchResult struct {
	serial string
	chain  []*x509.Certificate
	err    error
}

func newBatcher() *batcher {
	return &batcher{due: map[*runner]batchDue{}, results: map[*runner]batchResult{}}
}

// note records r's current credential and the time its renewal is due.
func (b *batcher) note(r *runner, cred *Credential) {
	if b == nil || r.id.Rekey {
		return
	}
	b.mu.Lock()
	b.due[r] = batchDue{cred: cred, renewAt: r.renewAt}
	b.mu.Unlock()
}

// forget leaves r out of batches until it notes again (a failing identity
// retries on its own schedule).
func (b *batcher) forget(r *runner) {
	if b == nil {
		return
	}
	b.mu.Lock()
	delete(b.due, r)
	b.mu.Unlock()
}

// waiting reports whether a batch holds an answer for cred.
func (b *batcher) waiting(r *runner, cred *Credential) bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	res, ok := b.results[r]
	return ok && res.serial == Serial(cred.Leaf())
}

// renew returns the renewal of cred: the answer a batch got for it, or
// that of a batch sent now with every other identity of the host due
// within the window. It returns errNoBatch when r is to renew alone.
func (b *batcher) renew(ctx context.Context, r *runner, cred *Credential) ([]*x509.Certificate, error) {
	if b == nil || r.id.Rekey {
		return nil, errNoBatch
	}
	b.run.Lock()
	defer b.run.Unlock()
	serial := Serial(cred.Leaf())
	b.mu.Lock()
	res, ok := b.results[r]
	delete(b.results, r)
	b.mu.Unlock()
	if ok && res.serial == serial {
		return res.chain, res.err
	}
	host, hostCred, members, creds := b.members(r, cred, r.cfg.now())
	if len(members) < 2 {
		return nil, errNoBatch
	}
	client, err := host.client()
	if err != nil {
		return nil, errNoBatch
	}
	entries := make([]api.RenewBatchEntry, len(members))
	for n, c := range creds {
		der, err := newCSR(c.Key)
		if err != nil {
			return nil, errNoBatch
		}
		entries[n] = api.RenewBatchEntry{CSR: csrPEM(der), Serial: Serial(c.Leaf())}
	}
	results, err := client.RenewBatch(ctx, hostCred, entries)
	var se *ServerError
	switch {
	case errors.As(err, &se) && (se.StatusCode == http.StatusNotFound || se.StatusCode == http.StatusMethodNotAllowed):
		b.mu.Lock()
		b.offUntil = r.cfg.now().Add(batchOff)
		b.mu.Unlock()
		r.log.Info("the server has no batch renewal; renewing each identity by itself", slog.Duration(keyRetryIn, batchOff))
		return nil, errNoBatch
	case err == nil && len(results) != len(entries):
		err = fmt.Errorf("renew batch: %d results for %d entries", len(results), len(entries))
	}
	if err != nil {
		r.log.Warn("batch renewal failed; renewing by itself", slog.String(keyError, err.Error()))
		return nil, errNoBatch
	}
	r.log.Info("batch renewal", slog.Int("identities", len(entries)))
	var own batchResult
	b.mu.Lock()
	for n, m := range members {
		res := batchResult{serial: entries[n].Serial}
		if e := results[n]; e.Error != "" || e.Status != 0 {
			res.err = fmt.Errorf("renew: %w", &ServerError{StatusCode: e.Status, Message: clip(e.Error), hint: clip(e.Hint)})
		} else {
			res.chain, res.err = decodeChain([]string{e.Crt, e.CA})
		}
		if m == r {
			own = res
			continue
		}
		b.results[m] = res
		select {
		case m.batched <- struct{}{}:
		default:
		}
	}
	b.mu.Unlock()
	return own.chain, own.err
}

// members returns, when batching is on and the host identity is known, the
// host identity's runner and credential, and r followed by the other
// identities of that host due within the window (see [inWindow]), with
// their credentials.
func (b *batcher) members(r *runner, cred *Credential, now time.Time) (*runner, *Credential, []*runner, []*Credential) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.offUntil) {
		return nil, nil, nil, nil
	}
	var host *runner
	var hostCred *Credential
	hostName := ""
	for m, d := range b.due {
		if h, a := spiffeNames(identityURI(d.cred.Leaf().URIs)); h != "" && a == "" && now.Before(d.cred.Leaf().NotAfter) {
			host, hostCred, hostName = m, d.cred, h
		}
	}
	if h, _ := spiffeNames(identityURI(cred.Leaf().URIs)); host == nil || h != hostName {
		return nil, nil, nil, nil
	}
	members, creds := []*runner{r}, []*Credential{cred}
	for m, d := range b.due {
		leaf := d.cred.Leaf()
		h, _ := spiffeNames(identityURI(leaf.URIs))
		if m == r || h != hostName || !inWindow(leaf, d.renewAt, now) || len(members) == api.MaxRenewBatch {
			continue
		}
		if res, ok := b.results[m]; ok && res.serial == Serial(leaf) {
			continue
		}
		members, creds = append(members, m), append(creds, d.cred)
	}
	return host, hostCred, members, creds
}

// inWindow reports whether a certificate due at renewAt is due within the
// window now: a twentieth of its lifetime, the span of the jitter that
// spreads renewals, and still valid.
func inWindow(leaf *x509.Certificate, renewAt, now time.Time) bool {
	return now.Before(leaf.NotAfter) && renewAt.Sub(now) <= leaf.NotAfter.Sub(leaf.NotBefore)/20
}

// RenewBatch renews entries in one POST /v1/renew-batch, authenticating
// with the host identity, and returns the server's results (in entry
// order, not yet verified).
func (c *Client) RenewBatch(ctx context.Context, host *Credential, entries []api.RenewBatchEntry) ([]api.RenewBatchResult, error) {
	b, err := c.call(ctx, host, http.MethodPost, "v1/renew-batch", api.RenewBatchRequest{Renewals: entries})
	if err != nil {
		return nil, fmt.Errorf("renew batch: %w", err)
	}
	var v api.RenewBatchResponse
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("renew batch: decode: %w", err)
	}
	return v.Results, nil
}

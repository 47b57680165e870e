package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/rosterhq/roster/store"
)

const (
	// pollInterval is the longest the worker sleeps without a kick.
	pollInterval = 30 * time.Second
	// batch is the most deliveries one pass posts.
	batch = 100
	// maxResponse is the most of a response read (then discarded).
	maxResponse = 64 << 10
	userAgent   = "roster-webhook/1"
)

// Backoff is the delay after a delivery's attempt-th failed attempt
// (1-based): base doubled per attempt up to maxDelay, of which a random
// half is taken off (jitter, so that many deliveries failing together do
// not retry together); r in [0, 1) is the random draw.
func Backoff(attempt int, base, maxDelay time.Duration, r float64) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	return d - time.Duration(float64(d/2)*r)
}

// Run posts due deliveries until ctx is done, waking when one falls due,
// on [Outbox.Kick], and at least every 30 seconds. A restart resumes from
// the store.
func (o *Outbox) Run(ctx context.Context) {
	if len(o.urls) == 0 {
		return
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.kick:
		case <-t.C:
		}
		next, err := o.DeliverDue(ctx)
		if err != nil && ctx.Err() == nil {
			o.log.Error("webhook delivery pass failed", "error", err)
		}
		wait := pollInterval
		if !next.IsZero() {
			wait = min(max(next.Sub(o.cfg.Now()), 0), pollInterval)
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(wait)
	}
}

// DeliverDue makes one pass: it posts every pending delivery that is due
// (at most 100, oldest due first; webhooks in parallel, each one's in
// order), records each answer, drops failed
// deliveries older than a week, and returns when the next pending one is
// due (zero when none waits).
func (o *Outbox) DeliverDue(ctx context.Context) (time.Time, error) {
	all, err := o.all(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("notify: reading the outbox: %w", err)
	}
	now := o.cfg.Now()
	var due []delivery
	var next time.Time
	var stale []string
	for _, d := range all {
		switch {
		case d.State == stateFailed && now.Sub(d.Created) > keepFailed:
			stale = append(stale, d.ID)
		case d.State != statePending:
		case !d.NextAttempt.After(now):
			due = append(due, d)
		case next.IsZero() || d.NextAttempt.Before(next):
			next = d.NextAttempt
		}
	}
	if len(stale) > 0 {
		if err := o.cfg.Store.Update(ctx, func(tx store.Tx) error {
			for _, id := range stale {
				if err := removeDelivery(tx, id); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return next, fmt.Errorf("notify: dropping old failed deliveries: %w", err)
		}
	}
	slices.SortFunc(due, func(a, b delivery) int { return a.NextAttempt.Compare(b.NextAttempt) })
	if len(due) > batch {
		next = due[batch].NextAttempt
		due = due[:batch]
	}
	// One goroutine per webhook: a slow or dead one delays only its own
	// deliveries.
	byURL := map[string][]delivery{}
	for _, d := range due {
		byURL[d.URL] = append(byURL[d.URL], d)
	}
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	for _, ds := range byURL {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := o.deliverAll(ctx, ds)
			mu.Lock()
			defer mu.Unlock()
			if !n.IsZero() && (next.IsZero() || n.Before(next)) {
				next = n
			}
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	return next, firstErr
}

// deliverAll posts ds (deliveries to one webhook) in order and records
// each answer; it returns the earliest retry time.
func (o *Outbox) deliverAll(ctx context.Context, ds []delivery) (time.Time, error) {
	var next time.Time
	for _, d := range ds {
		if ctx.Err() != nil {
			return next, ctx.Err()
		}
		var perr error
		if !slices.Contains(o.urls, d.URL) {
			perr = errNotConfigured
		} else {
			perr = o.post(ctx, d)
		}
		if ctx.Err() != nil {
			// Shutting down: the attempt does not count; it is made again
			// after restart.
			return next, ctx.Err()
		}
		n, err := o.record(ctx, d.ID, perr)
		if err != nil {
			return next, err
		}
		if !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next, nil
}

var errNotConfigured = errors.New("the webhook is no longer configured (--notify-url)")

// record writes the outcome of an attempt at delivery id: delivered (the
// delivery leaves the outbox), or failed and retried at the time returned,
// or failed for good.
func (o *Outbox) record(ctx context.Context, id string, perr error) (time.Time, error) {
	var next time.Time
	var logged func() // the outcome's log line, written once the transaction is done (it may run more than once)
	err := o.cfg.Store.Update(ctx, func(tx store.Tx) error {
		next, logged = time.Time{}, nil
		d, err := getDelivery(tx, id)
		if err != nil || d == nil {
			return err
		}
		if perr == nil {
			logged = func() {
				o.log.Info("webhook delivered", "event", d.EventID, "delivery", d.ID, "url", Redact(d.URL), "attempts", d.Attempts+1)
			}
			return removeDelivery(tx, id)
		}
		now := o.cfg.Now().UTC()
		d.Attempts++
		d.LastError = perr.Error()
		if d.Attempts >= o.cfg.MaxAttempts || now.Sub(d.Created) >= o.cfg.MaxAge || errors.Is(perr, errNotConfigured) {
			d.State, d.NextAttempt = stateFailed, time.Time{}
			logged = func() {
				o.log.Error("webhook delivery failed for good", "event", d.EventID, "delivery", d.ID, "url", Redact(d.URL),
					"attempts", d.Attempts, "error", d.LastError)
			}
		} else {
			d.NextAttempt = now.Add(Backoff(d.Attempts, o.cfg.BaseDelay, o.cfg.MaxDelay, rand.Float64()))
			next = d.NextAttempt
			logged = func() {
				o.log.Warn("webhook delivery failed, will retry", "event", d.EventID, "delivery", d.ID, "url", Redact(d.URL),
					"attempts", d.Attempts, "next_attempt", d.NextAttempt.Format(time.RFC3339), "error", d.LastError)
			}
		}
		return putDelivery(tx, *d)
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("notify: recording delivery %s: %w", id, err)
	}
	if logged != nil {
		logged()
	}
	return next, nil
}

// post sends one attempt of d. Its error names the status or the network
// failure, never the URL's path or the secret.
func (o *Outbox) post(ctx context.Context, d delivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return errors.New("invalid webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("X-Roster-Event-Id", d.EventID)
	req.Header.Set("X-Roster-Event-Kind", d.Kind)
	req.Header.Set("X-Roster-Delivery-Id", d.ID)
	if len(o.cfg.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(o.cfg.Secret, o.cfg.Now(), d.Body))
	}
	resp, err := o.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("HTTP %d: redirects are not followed; configure the final URL", resp.StatusCode)
	}
	return fmt.Errorf("HTTP %d", resp.StatusCode)
}

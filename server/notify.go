package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/notify"
	"github.com/rosterhq/roster/render"
	"github.com/rosterhq/roster/store"
)

// noticeSettle is the least time between two notice passes that scans
// trigger: many scans arriving together cost one pass.
const noticeSettle = 5 * time.Second

// notifying reports whether webhooks are configured.
func (s *Server) notifying() bool { return s.notify != nil && s.notify.Webhooks() > 0 }

// queueNotices is the sweep job that computes the notices due now
// (inventory.Notices) and queues them in one transaction; the outbox
// queues each ID once, so the job may run as often as it likes. A full
// outbox leaves the rest for a later pass.
func (s *Server) queueNotices(ctx context.Context) (int, error) {
	if !s.notifying() {
		return 0, nil
	}
	ns, err := s.inv.Notices(ctx, s.inv.Now())
	if err != nil {
		return 0, err
	}
	queued := 0
	var full error // logged once the transaction is done: it may run more than once
	err = s.inv.Update(ctx, func(tx store.Tx) error {
		queued, full = 0, nil
		for _, n := range ns {
			ok, err := s.notify.Enqueue(tx, apiNotice(n))
			if errors.Is(err, notify.ErrFull) {
				full = err
				return nil
			}
			if err != nil {
				return err
			}
			if ok {
				queued++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("queueing notices: %w", err)
	}
	if full != nil {
		s.log.Warn("webhook outbox full: notices wait for a later sweep", "error", full)
	}
	if queued > 0 {
		s.notify.Kick()
	}
	return queued, nil
}

// noticesSoon asks for a notice pass (after a scan was ingested, an
// exception added or extended, a phase set), run by
// noticeLoop.
func (s *Server) noticesSoon() {
	if !s.notifying() {
		return
	}
	select {
	case s.noticeKick <- struct{}{}:
	default:
	}
}

// noticeLoop runs a notice pass when noticesSoon asked for one, at most
// once per noticeSettle, until ctx is done.
func (s *Server) noticeLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.noticeKick:
		}
		n, err := s.queueNotices(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("queueing notices after a scan failed", "error", err)
		case n > 0:
			s.log.Info("notices queued after a scan", "notices", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(noticeSettle):
		}
	}
}

// notifyTest answers POST /v1/notify/test: one test notice, with an ID of
// its own, queued through the outbox for every webhook, and audited.
func (s *Server) notifyTest(w http.ResponseWriter, r *http.Request) error {
	if !s.notifying() {
		return errorf(http.StatusConflict, "no webhook is configured: nothing to send a test notice to").
			withHint("start the server with --notify-url URL: roster server --notify-url URL")
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	ctx, now := r.Context(), s.inv.Now()
	actor := audit.Actor(ctx)
	n := api.Notice{ID: "test/" + now.Format("20060102T150405Z") + "-" + hex.EncodeToString(rnd[:]), Kind: inventory.NoticeTest, Time: now,
		Action:  "nothing to do: a test of the webhook, queued by roster notify test",
		Summary: "test notice from roster, requested by " + actor, Details: map[string]string{"requested_by": actor}}
	err := s.inv.Update(ctx, func(tx store.Tx) error {
		if _, err := s.notify.Enqueue(tx, n); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionNotifyTest, Outcome: audit.OutcomeOK,
			Detail: fmt.Sprintf("test notice %s queued for %d webhooks", n.ID, s.notify.Webhooks())})
	})
	if errors.Is(err, notify.ErrFull) {
		return errorf(http.StatusServiceUnavailable, "the webhook outbox is full: deliveries are failing").
			withHint("see what waits: roster notify status")
	}
	if err != nil {
		return fmt.Errorf("queueing a test notice: %w", err)
	}
	s.notify.Kick()
	writeJSON(w, r, http.StatusCreated, api.NotifyTestResponse{ID: n.ID, Webhooks: s.notify.Webhooks()})
	return nil
}

// notifyOutbox answers GET /v1/notify/outbox: the deliveries pending or
// failed (none without webhooks).
func (s *Server) notifyOutbox(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON)
	if err != nil {
		return err
	}
	var list []notify.Delivery
	if s.notify != nil {
		if list, err = s.notify.List(r.Context()); err != nil {
			return err
		}
	}
	return respond(w, r, f, nonNil(mapSlice(list, apiDelivery)), func(w io.Writer) error {
		return render.Outbox(w, list, s.notify.Webhooks())
	})
}

func apiDelivery(d notify.Delivery) api.Delivery {
	return api.Delivery{ID: d.ID, EventID: d.EventID, Kind: d.Kind, URL: d.URL, State: d.State, Attempts: d.Attempts,
		Created: d.Created, NextAttempt: d.NextAttempt, LastError: d.LastError}
}

// apiNotice is the wire form of a notice.
func apiNotice(n inventory.Notice) api.Notice {
	out := api.Notice{ID: n.ID, Kind: n.Kind, Time: n.Time.UTC(), Action: n.Action, Account: n.Account, Tier: int(n.Tier),
		Summary: n.Summary, Details: n.Details}
	if n.Owner != nil {
		out.Owner = &api.Owner{Name: n.Owner.Name, Contact: n.Owner.Contact}
	}
	return out
}

package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rosterhq/roster/agent"
	"github.com/rosterhq/roster/api"
)

// ident is one simulated identity: its key and current chain, and when
// its renewal is due.
type ident struct {
	name    string // TD/host/HOST[/sa/ACCOUNT]
	account string // "" for the host identity
	key     crypto.Signer
	chain   []*x509.Certificate
	cert    tls.Certificate
	renewAt time.Time
	attempt int  // failed renewals in a row
	lapsed  bool // its certificate expired before it was renewed
}

func (id *ident) leaf() *x509.Certificate { return id.chain[0] }

// hold makes chain the identity's current one.
func (id *ident) hold(chain []*x509.Certificate) {
	id.chain = chain
	id.cert = (&agent.Credential{Chain: chain, Key: id.key}).TLSCertificate()
}

// simHost is one simulated host: its host identity (ids[0]) and its
// accounts' identities, renewed as roster-agent renews them, and a host
// scan submitted every scanEvery.
type simHost struct {
	index     int
	ids       []*ident
	b         *balancer
	st        *stats
	root      *x509.Certificate
	rnd       randN
	scanEvery time.Duration
	nextScan  time.Time
}

// run keeps the host's identities renewed until ctx ends.
func (h *simHost) run(ctx context.Context) {
	now := time.Now()
	for _, id := range h.ids {
		id.renewAt = now.Add(agent.RenewIn(id.leaf().NotBefore, id.leaf().NotAfter, now, h.rnd))
	}
	h.nextScan = now.Add(h.scanWait())
	for {
		wake := h.wake()
		t := time.NewTimer(time.Until(wake))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		now := time.Now()
		h.checkLapses(now)
		h.renewDue(ctx, now)
		if !now.Before(h.nextScan) && !h.ids[0].lapsed {
			h.scan(ctx)
			h.nextScan = time.Now().Add(h.scanWait())
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// scanWait is the wait before the next scan: the interval less a jitter
// of up to a tenth, as the agent's scan loop.
func (h *simHost) scanWait() time.Duration {
	return h.scanEvery - time.Duration(h.rnd(int64(h.scanEvery/10)+1))
}

// wake is the next time something is due: a renewal, an expiry to notice,
// or the scan.
func (h *simHost) wake() time.Time {
	w := h.nextScan
	for _, id := range h.ids {
		if !id.lapsed {
			w = minTime(w, minTime(id.renewAt, id.leaf().NotAfter))
		}
	}
	return w
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// checkLapses books every identity whose certificate has expired: it
// cannot renew over mTLS any more.
func (h *simHost) checkLapses(now time.Time) {
	for _, id := range h.ids {
		if !id.lapsed && !now.Before(id.leaf().NotAfter) {
			id.lapsed = true
			h.st.lapsed(lapse{Identity: id.name, NotAfter: id.leaf().NotAfter, SeenAt: now})
		}
	}
}

// renewDue renews the identities that are due, as the agent does: when
// more than one identity is due within the window and the host identity
// is valid, in one batch authenticated by it (the agent's batcher), else
// (and when the batch fails) each by itself.
func (h *simHost) renewDue(ctx context.Context, now time.Time) {
	var due, members []*ident
	for _, id := range h.ids {
		switch {
		case id.lapsed:
		case !now.Before(id.renewAt):
			due = append(due, id)
			members = append(members, id)
		case agent.InBatchWindow(id.leaf(), id.renewAt, now):
			members = append(members, id)
		}
	}
	if len(due) == 0 {
		return
	}
	if len(members) > 1 && now.Before(h.ids[0].leaf().NotAfter) && !h.ids[0].lapsed {
		if h.renewBatch(ctx, members[:min(len(members), api.MaxRenewBatch)]) {
			return
		}
	}
	for _, id := range due {
		if ctx.Err() != nil {
			return
		}
		h.renewOne(ctx, id)
	}
}

// renewOne renews id over POST /1.0/renew, presenting its certificate.
func (h *simHost) renewOne(ctx context.Context, id *ident) {
	t0 := time.Now()
	a, err := h.b.do(ctx, &id.cert, "", http.MethodPost, "/1.0/renew", "", nil)
	switch {
	case ctx.Err() != nil || errors.Is(err, errBudget):
		return
	case err != nil:
		h.st.refused(kindRenew, 0)
		h.failed(id)
		return
	case a.status != http.StatusCreated:
		h.st.refused(kindRenew, a.status)
		h.failed(id)
		return
	}
	chain, err := agent.DecodeSignResponse(a.body)
	if err == nil {
		err = h.accept(id, chain)
	}
	if err != nil {
		h.st.refused(kindRenew+" bad answer", a.status)
		h.failed(id)
		return
	}
	h.st.request(kindRenew, time.Since(t0), a.node, 1)
}

// renewBatch renews members in one POST /v1/renew-batch authenticated by
// the host identity. It reports false when the request as a whole failed
// (the agent then renews each identity by itself).
func (h *simHost) renewBatch(ctx context.Context, members []*ident) bool {
	req := api.RenewBatchRequest{Renewals: make([]api.RenewBatchEntry, len(members))}
	for i, id := range members {
		csr, err := csrPEM(id.key)
		if err != nil {
			return false
		}
		req.Renewals[i] = api.RenewBatchEntry{CSR: csr, Serial: agent.Serial(id.leaf())}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return false
	}
	host := h.ids[0].cert // the host identity may renew within the batch
	t0 := time.Now()
	a, err := h.b.do(ctx, &host, "", http.MethodPost, "/v1/renew-batch", "application/json", body)
	switch {
	case ctx.Err() != nil || errors.Is(err, errBudget):
		return true
	case err != nil:
		h.st.refused(kindBatch, 0)
		return false
	case a.status != http.StatusOK:
		h.st.refused(kindBatch, a.status)
		return false
	}
	var res api.RenewBatchResponse
	if err := json.Unmarshal(a.body, &res); err != nil || len(res.Results) != len(members) {
		h.st.refused(kindBatch+" bad answer", a.status)
		return false
	}
	renewed := 0
	for i, id := range members {
		r := res.Results[i]
		if r.Error != "" || r.Status != 0 {
			h.st.refused(kindBatch+" entry", r.Status)
			h.failed(id)
			continue
		}
		leaf, err := agent.ParseCertificates([]byte(r.Crt))
		if err == nil {
			var inter []*x509.Certificate
			if inter, err = agent.ParseCertificates([]byte(r.CA)); err == nil {
				err = h.accept(id, append(leaf, inter...))
			}
		}
		if err != nil {
			h.st.refused(kindBatch+" bad entry", 0)
			h.failed(id)
			continue
		}
		renewed++
	}
	h.st.request(kindBatch, time.Since(t0), a.node, renewed)
	return true
}

// accept checks a renewed chain as the agent does (chained to the pinned
// root, for the identity's key, valid now), makes it current and plans
// the next renewal. An answer that arrives after the old certificate
// expired is a lapse too.
func (h *simHost) accept(id *ident, chain []*x509.Certificate) error {
	now := time.Now()
	if err := agent.VerifyChain(chain, h.root, id.key.Public(), now); err != nil {
		return fmt.Errorf("%s: %w", id.name, err)
	}
	if old := id.leaf(); !now.Before(old.NotAfter) && !id.lapsed {
		h.st.lapsed(lapse{Identity: id.name, NotAfter: old.NotAfter, SeenAt: now})
	}
	id.hold(chain)
	id.lapsed, id.attempt = false, 0
	id.renewAt = now.Add(agent.RenewInAfterRenewal(chain[0].NotBefore, chain[0].NotAfter, now, h.rnd))
	return nil
}

// failed plans the retry of a failed renewal.
func (h *simHost) failed(id *ident) {
	now := time.Now()
	id.renewAt = now.Add(agent.RetryIn(id.attempt, id.leaf().NotAfter, now, h.rnd))
	id.attempt++
}

// scan submits the host's scan report, authenticated by the host identity.
func (h *simHost) scan(ctx context.Context) {
	body, err := json.Marshal(hostReport(h.index, len(h.ids)-1, time.Now()))
	if err != nil {
		return
	}
	t0 := time.Now()
	a, err := h.b.do(ctx, &h.ids[0].cert, "", http.MethodPost, "/v1/scans", "application/json", body)
	switch {
	case ctx.Err() != nil || errors.Is(err, errBudget):
	case err != nil:
		h.st.refused(kindScan, 0)
	case a.status != http.StatusOK:
		h.st.refused(kindScan, a.status)
	default:
		h.st.request(kindScan, time.Since(t0), a.node, 0)
	}
}

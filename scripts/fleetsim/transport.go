package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// requestTimeout bounds one exchange with one node.
const requestTimeout = 30 * time.Second

// maxResponse bounds what a response body may hold (a batch of 64 chains
// is well below).
const maxResponse = 4 << 20

// errBudget: the run's --max-requests are spent.
var errBudget = errors.New("the request budget (--max-requests) is spent")

// balancer spreads requests over the nodes as a load balancer or DNS round
// robin in front of them would: each request goes to the next node in
// turn, and a node that cannot be reached (refused or broken connection,
// or 503 while its database is away) is skipped for the next one within
// the same request. Every exchange is a fresh TLS connection, as agents
// make them.
type balancer struct {
	urls   []string // base URL of each node, https://127.0.0.1:PORT
	roots  *x509.CertPool
	rr     atomic.Uint64
	budget atomic.Int64 // requests left
	stats  *stats
}

// answer is one exchange's outcome.
type answer struct {
	status int
	body   []byte
	node   int // which node answered
}

// do sends method path with body (nil for none), presenting cert (nil for
// none) and bearer (empty for none), to the next reachable node. An error
// means no node answered; any HTTP status is an answer.
func (b *balancer) do(ctx context.Context, cert *tls.Certificate, bearer, method, path, contentType string, body []byte) (answer, error) {
	start := int(b.rr.Add(1) % uint64(len(b.urls)))
	var errs []error
	for i := range b.urls {
		if b.budget.Add(-1) < 0 {
			return answer{}, errBudget
		}
		node := (start + i) % len(b.urls)
		a, err := b.exchange(ctx, node, cert, bearer, method, path, contentType, body)
		if err == nil && a.status != http.StatusServiceUnavailable {
			return a, nil
		}
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		if err == nil {
			err = fmt.Errorf("node %d: %d %.200s", node+1, a.status, a.body)
		}
		errs = append(errs, err)
		if i < len(b.urls)-1 {
			b.stats.failover()
		}
	}
	return answer{}, fmt.Errorf("no node answered %s %s: %w", method, path, errors.Join(errs...))
}

// exchange is one request to one node over a new TLS connection.
func (b *balancer) exchange(ctx context.Context, node int, cert *tls.Certificate, bearer, method, path, contentType string, body []byte) (answer, error) {
	cfg := &tls.Config{RootCAs: b.roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: requestTimeout}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.urls[node]+path, rd)
	if err != nil {
		return answer{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("node %d: %w", node+1, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return answer{}, fmt.Errorf("node %d: %s %s: read response: %w", node+1, method, path, err)
	}
	if len(rb) > maxResponse {
		return answer{}, fmt.Errorf("node %d: %s %s: response larger than %d bytes", node+1, method, path, maxResponse)
	}
	return answer{status: resp.StatusCode, body: rb, node: node}, nil
}

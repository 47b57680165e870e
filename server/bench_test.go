package server

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRenew measures renewals per second over mTLS on loopback: real
// TLS listener (RequestClientCert), real CA with its bbolt database, real
// inventory; c concurrent clients, each with its own identity. "fresh"
// renews as agents do: each renewal on a new TLS connection (full
// handshake, no session resumption) presenting the certificate the
// previous renewal returned. "replay" keeps connections alive, so each
// presents the same certificate again and again: one certificate gets one
// successor, so after the first this measures the answer to a repeated
// renewal (a lost response), not new certificates. Reports renewals/s and
// p50/p99 latency. Run with
//
//	go test -run '^$' -bench BenchmarkRenew -benchtime 3000x ./server/
func BenchmarkRenew(b *testing.B) {
	for _, mode := range []string{"fresh", "replay"} {
		for _, clients := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/clients=%d", mode, clients), func(b *testing.B) {
				benchRenew(b, clients, mode == "replay")
			})
		}
	}
}

func benchRenew(b *testing.B, clients int, replay bool) {
	e := newEnv(b, true)
	names := []string{"billing-batch", "nobody-owns", "legacy"}
	for i := range clients {
		names = append(names, fmt.Sprintf("svc%02d", i))
	}
	e.ingest("web1", names...)
	type agent struct {
		key   crypto.Signer
		chain []*x509.Certificate
		cl    *http.Client
	}
	agents := make([]agent, clients)
	for i := range agents {
		name := fmt.Sprintf("svc%02d", i)
		e.owner(name, "team")
		k, c := e.enroll("web1", name)
		agents[i] = agent{key: k, chain: c, cl: e.client(k, c, replay)}
	}
	url := e.url + "/1.0/renew"
	var (
		next    atomic.Int64
		mu      sync.Mutex
		lats    = make([]time.Duration, 0, b.N)
		wg      sync.WaitGroup
		failure atomic.Value
	)
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	start := time.Now()
	for i := range agents {
		wg.Add(1)
		go func(a agent) {
			defer wg.Done()
			local := make([]time.Duration, 0, b.N/clients+1)
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				resp, err := a.cl.Post(url, "application/json", http.NoBody)
				if err != nil {
					failure.Store(err.Error())
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusCreated {
					failure.Store(fmt.Sprintf("%s: %s", resp.Status, body))
					return
				}
				local = append(local, time.Since(t0))
				if !replay {
					// The next renewal presents the new certificate, as an
					// agent does once it has saved it.
					a.chain = e.chain(body)
					a.cl.CloseIdleConnections()
					a.cl = e.client(a.key, a.chain, false)
				}
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}(agents[i])
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	if f := failure.Load(); f != nil {
		b.Fatalf("renewal failed: %v", f)
	}
	slices.Sort(lats)
	pct := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		return float64(lats[int(float64(len(lats)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(lats))/elapsed.Seconds(), "renewals/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	// Server and load generator together, as on the step-ca reference run.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(max(len(lats), 1)), "cpu_ms/renewal")
	for _, a := range agents {
		a.cl.CloseIdleConnections()
	}
}

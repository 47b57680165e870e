package main

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Request kinds, the rows of the latency table.
const (
	kindRenew  = "renew"       // POST /1.0/renew: one identity
	kindBatch  = "renew-batch" // POST /v1/renew-batch: a host's identities due together
	kindScan   = "scan"        // POST /v1/scans by the host identity
	kindEnroll = "enroll"      // POST /v1/enrollments and /v1/enroll (setup)
)

// stats collects what the simulated hosts see. Renewals, latencies,
// refusals and failovers count only while the measured window is open;
// lapses count always, a lapse during setup being as much a failure.
type stats struct {
	measuring atomic.Bool

	mu        sync.Mutex
	renewed   int   // identities renewed
	byNode    []int // identities renewed by each node
	lat       map[string][]time.Duration
	refusals  map[string]int // "KIND STATUS": answers other than success
	failovers int            // exchanges that went on to another node
	lapses    []lapse
	scans     int
}

// lapse is an identity whose certificate expired before it was renewed.
type lapse struct {
	Identity string    `json:"identity"`
	NotAfter time.Time `json:"not_after"`
	SeenAt   time.Time `json:"seen_at"`
}

func newStats(nodes int) *stats {
	return &stats{byNode: make([]int, nodes), lat: map[string][]time.Duration{}, refusals: map[string]int{}}
}

// request books one request of kind that took d; its identities renewed
// by node (none for a scan).
func (s *stats) request(kind string, d time.Duration, node, renewed int) {
	if !s.measuring.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lat[kind] = append(s.lat[kind], d)
	s.renewed += renewed
	s.byNode[node] += renewed
	if kind == kindScan {
		s.scans++
	}
}

// refused books an answer other than success: kind and status (0 when no
// node answered at all).
func (s *stats) refused(kind string, status int) {
	if !s.measuring.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := fmt.Sprintf("%s %d", kind, status)
	if status == 0 {
		key = kind + " unreachable"
	}
	s.refusals[key]++
}

func (s *stats) failover() {
	if !s.measuring.Load() {
		return
	}
	s.mu.Lock()
	s.failovers++
	s.mu.Unlock()
}

func (s *stats) lapsed(l lapse) {
	s.mu.Lock()
	s.lapses = append(s.lapses, l)
	s.mu.Unlock()
}

// latency is the summary of one kind of request.
type latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
}

// summarize sorts d and takes its 50th and 99th percentiles (nearest rank).
func summarize(d []time.Duration) latency {
	if len(d) == 0 {
		return latency{}
	}
	d = slices.Clone(d)
	slices.Sort(d)
	return latency{Count: len(d), P50: ms(percentile(d, 50)), P99: ms(percentile(d, 99))}
}

// percentile is the nearest-rank percentile p of sorted d: the smallest
// value that at least p percent of the values do not exceed.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

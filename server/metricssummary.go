package server

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rosterhq/roster/inventory"
)

// summaryEvery is the longest a scrape reuses the inventory's counts: the
// first scrape after it reads a new summary (the report's data), the
// others within it are answered from the one in memory. However often
// Prometheus scrapes, the store is read for them at most once per
// summaryEvery.
const summaryEvery = 30 * time.Second

// summaryTimeout bounds reading one summary.
const summaryTimeout = 20 * time.Second

// summary is the inventory's counts at one time.
type summary struct {
	at time.Time
	// accounts[tier][strength name] counts live service accounts.
	accounts                              map[inventory.Tier]map[string]int
	expiring, expired, overdue, ownerless int
	took                                  time.Duration
}

// summaryCollector is a prometheus.Collector of the inventory's counts,
// from a summary refreshed at most every `every`.
type summaryCollector struct {
	s     *Server
	every time.Duration

	mu    sync.Mutex // held while a summary is read: one at a time
	cur   *summary
	tried time.Time // the last read, successful or not

	accounts, exceptions, overdue, ownerless, at, took *prometheus.Desc
}

func newSummaryCollector(s *Server, every time.Duration) *summaryCollector {
	return &summaryCollector{s: s, every: every,
		accounts: prometheus.NewDesc("roster_accounts",
			"Live service accounts, by impact tier and strength level (their weakest live credential).", []string{"tier", "strength"}, nil),
		exceptions: prometheus.NewDesc("roster_exceptions",
			"Exceptions expired (violations until renewed or closed) and expiring within 30 days.", []string{"state"}, nil),
		overdue: prometheus.NewDesc("roster_phases_overdue",
			"Rollout phases whose end passed with accounts still below target.", nil, nil),
		ownerless: prometheus.NewDesc("roster_ownerless_privileged_accounts",
			"Tier 1 service accounts without an owner.", nil, nil),
		at: prometheus.NewDesc("roster_summary_timestamp_seconds",
			"When the inventory's counts (roster_accounts, roster_exceptions, roster_phases_overdue) were last read, in unix seconds; a read is reused for 30 s.", nil, nil),
		took: prometheus.NewDesc("roster_summary_duration_seconds",
			"Time the last read of the inventory's counts took.", nil, nil),
	}
}

// Describe sends the descriptors.
func (c *summaryCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.accounts, c.exceptions, c.overdue, c.ownerless, c.at, c.took} {
		ch <- d
	}
}

// Collect sends the counts of the current summary, reading a new one
// when it is older than c.every. Without one (the read failed; logged),
// it sends nothing.
func (c *summaryCollector) Collect(ch chan<- prometheus.Metric) {
	sum := c.current()
	if sum == nil {
		return
	}
	tiers := []inventory.Tier{inventory.TierPrivileged, inventory.TierExternal, inventory.TierCritical, inventory.TierRest}
	for _, t := range tiers {
		for _, st := range inventory.Strengths {
			ch <- prometheus.MustNewConstMetric(c.accounts, prometheus.GaugeValue, float64(sum.accounts[t][st.Name()]),
				strconv.Itoa(int(t)), st.Name())
		}
	}
	ch <- prometheus.MustNewConstMetric(c.exceptions, prometheus.GaugeValue, float64(sum.expired), "expired")
	ch <- prometheus.MustNewConstMetric(c.exceptions, prometheus.GaugeValue, float64(sum.expiring), "expiring")
	ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(sum.overdue))
	ch <- prometheus.MustNewConstMetric(c.ownerless, prometheus.GaugeValue, float64(sum.ownerless))
	ch <- prometheus.MustNewConstMetric(c.at, prometheus.GaugeValue, float64(sum.at.UnixMilli())/1e3)
	ch <- prometheus.MustNewConstMetric(c.took, prometheus.GaugeValue, sum.took.Seconds())
}

// current is the summary, read again if older than c.every.
func (c *summaryCollector) current() *summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.tried) < c.every {
		return c.cur // the newest read (nil if none succeeded yet)
	}
	ctx, cancel := context.WithTimeout(context.Background(), summaryTimeout)
	defer cancel()
	start := time.Now()
	c.tried = start
	rep, err := c.s.inv.Report(ctx, c.s.inv.Now())
	if err != nil {
		c.s.log.Error("metrics: reading the inventory's summary", slog.String("error", err.Error()))
		return c.cur // the previous one, if any: older counts beat none
	}
	sum := &summary{at: start, took: time.Since(start), accounts: map[inventory.Tier]map[string]int{},
		expiring: len(rep.ExpiringExceptions), expired: len(rep.ExpiredExceptions), overdue: len(rep.OverduePhases),
		ownerless: len(rep.OwnerlessPrivileged)}
	for _, ts := range rep.Tiers {
		sum.accounts[ts.Tier] = ts.ByStrength
	}
	c.cur = sum
	return sum
}

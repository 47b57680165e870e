package server

import (
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// metrics are the server's Prometheus metrics, in a registry of the
// server's own (never the process-wide default one): served at GET
// /metrics to a viewer token, or without a token on --metrics-listen
// (metricslisten.go).
//
// Every label has a bounded set of values: a route is its pattern in the
// route table (never the requested path), a refusal's reason is named by
// the type of the error the handler returned (refusalReason: never its
// text), tiers and strength levels are the inventory's fixed scales. The
// inventory's counts come from a summary cached for summaryEvery
// (metricssummary.go): a scrape never reads the store more often.
type metrics struct {
	reg *prometheus.Registry

	requests     *prometheus.HistogramVec
	enrollments  prometheus.Counter
	renewals     *prometheus.CounterVec
	refusals     *prometheus.CounterVec
	lifetimes    prometheus.Histogram
	reports      prometheus.Counter
	accounts     prometheus.Counter
	commitTime   prometheus.Histogram
	commitBatch  prometheus.Histogram
	commitRetry  prometheus.Counter
	commitFailed prometheus.Counter

	summary *summaryCollector
}

// Issuance operations, the op label of roster_refusals_total.
const (
	opEnroll = "enroll"
	opRenew  = "renew"
	opRekey  = "rekey"
)

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "roster_http_request_duration_seconds",
		Help: "Time to answer an HTTP request, by route pattern of the route table and status class.",
		// From a renewal's few milliseconds to a large report's seconds.
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route", "code"})
	m.enrollments = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "roster_enrollments_total",
		Help: "Identities enrolled with a one-time token.",
	})
	m.renewals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_renewals_total",
		Help: "Certificates renewed, by op: renew (same key) or rekey (new key).",
	}, []string{"op"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_refusals_total",
		Help: "Enrollments, renewals and rekeys refused, by op and reason (the kind of refusal, from a fixed list).",
	}, []string{"op", "reason"})
	m.lifetimes = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "roster_certificates_issued_lifetime_seconds",
		Help: "Certificates issued (enrolled, renewed, rekeyed), by lifetime from issue to expiry.",
		Buckets: []float64{
			(5 * time.Minute).Seconds(), (15 * time.Minute).Seconds(), time.Hour.Seconds(), (6 * time.Hour).Seconds(),
			(24 * time.Hour).Seconds(), (7 * 24 * time.Hour).Seconds(), (30 * 24 * time.Hour).Seconds(), (365 * 24 * time.Hour).Seconds(),
		},
	})
	m.reports = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "roster_scan_reports_ingested_total",
		Help: "Scan reports ingested (stale and unchanged ones included).",
	})
	m.accounts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "roster_scan_accounts_ingested_total",
		Help: "Accounts read from ingested scan reports.",
	})
	m.commitTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "roster_store_commit_duration_seconds",
		Help:    "Time of one group-commit batch's store transaction, reruns included.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	})
	m.commitBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "roster_store_commit_batch_size",
		Help:    "Requests committed together by one group-commit transaction.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
	})
	m.commitRetry = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "roster_store_commit_retries_total",
		Help: "Group-commit transactions run again after one request of the batch failed.",
	})
	m.commitFailed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "roster_store_commit_errors_total",
		Help: "Group-commit transactions whose commit failed.",
	})
	// Every op and reason from the start: a dashboard shows zeros, and the
	// series are all there are (3 × len(refusalReasons)).
	for _, op := range []string{opEnroll, opRenew, opRekey} {
		if op != opEnroll {
			m.renewals.WithLabelValues(op)
		}
		for _, reason := range refusalReasons {
			m.refusals.WithLabelValues(op, reason)
		}
	}
	m.summary = newSummaryCollector(s, summaryEvery)
	m.reg.MustRegister(m.requests, m.enrollments, m.renewals, m.refusals, m.lifetimes, m.reports, m.accounts,
		m.commitTime, m.commitBatch, m.commitRetry, m.commitFailed, m.summary,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// A store that retries transactions itself (PostgreSQL: serialization
	// failures, deadlocks, lost connections) says how often.
	if r, ok := s.inv.Store().(interface{ Retries() int64 }); ok {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "roster_store_transaction_retries_total",
			Help: "Store transactions run again after a serialization failure, a deadlock or a lost connection (PostgreSQL).",
		}, func() float64 { return float64(r.Retries()) }))
	}
	return m
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// serveMetrics answers GET /metrics (a viewer token).
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.handler().ServeHTTP(w, r)
	return nil
}

// timed is h, observed in roster_http_request_duration_seconds under
// pattern. h gets a writer that records the status; inner is the
// original one, for what must reach net/http's own writer (a body's
// size limit closes the connection through it).
func (m *metrics) timed(pattern string, h func(rec, inner http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h(rec, w, r)
		m.requests.WithLabelValues(pattern, statusClass(rec.code)).Observe(time.Since(start).Seconds())
	}
}

// statusRecorder records the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusClass is 2xx, 3xx, 4xx or 5xx.
func statusClass(code int) string {
	if code == 0 {
		code = http.StatusOK // nothing written: net/http answers 200
	}
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// issued counts one enrollment (op opEnroll), renewal or rekey: the
// certificate's lifetime when it was issued, else the refusal's reason.
func (m *metrics) issued(op string, chain []*x509.Certificate, err error) {
	if err != nil {
		m.refusals.WithLabelValues(op, refusalReason(err)).Inc()
		return
	}
	if op == opEnroll {
		m.enrollments.Inc()
	} else {
		m.renewals.WithLabelValues(op).Inc()
	}
	if len(chain) > 0 {
		m.lifetimes.Observe(chain[0].NotAfter.Sub(chain[0].NotBefore).Seconds())
	}
}

// refusalReasons are every value of the reason label, so a dashboard
// can list them before they occur.
var refusalReasons = []string{"expired", "revoked", "untrusted", "no_client_cert", "token_unknown", "token_used",
	"token_expired", "unauthenticated", "denied", "reuse", "bad_request", "too_large", "timeout", "disk_full", "not_found", "internal"}

// refusalReason names the kind of a handler's error, from its type (one
// of refusalReasons): never its text, which names accounts and hosts.
func refusalReason(err error) string {
	var (
		he     *httpError
		denied *issuer.DeniedError
		req    *issuer.RequestError
		auth   *issuer.AuthError
		reuse  *issuer.ReuseError
		full   *issuer.DiskFullError
		tooBig *http.MaxBytesError
	)
	switch {
	case errors.Is(err, ca.ErrExpired):
		return "expired"
	case errors.Is(err, ca.ErrRevoked):
		return "revoked"
	case errors.Is(err, ca.ErrUntrusted):
		return "untrusted"
	case errors.Is(err, issuer.ErrNoClientCert):
		return "no_client_cert"
	case errors.Is(err, issuer.ErrEnrollUnknown):
		return "token_unknown"
	case errors.Is(err, issuer.ErrEnrollUsed):
		return "token_used"
	case errors.Is(err, issuer.ErrEnrollExpired):
		return "token_expired"
	case errors.As(err, &auth), errors.Is(err, access.ErrUnauthenticated):
		return "unauthenticated"
	case errors.As(err, &denied):
		return "denied"
	case errors.As(err, &reuse):
		return "reuse"
	case errors.Is(err, scan.ErrTooLarge), errors.As(err, &tooBig):
		return "too_large"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.As(err, &full):
		return "disk_full"
	case errors.As(err, &req):
		return "bad_request"
	}
	switch status := errorStatus(err); {
	case errors.As(err, &he) && he.status == http.StatusBadRequest, status == http.StatusBadRequest:
		return "bad_request"
	case status == http.StatusNotFound:
		return "not_found"
	}
	return "internal"
}

// ingested counts one ingested scan report of accounts accounts.
func (m *metrics) ingested(accounts int) {
	m.reports.Inc()
	m.accounts.Add(float64(accounts))
}

// observeCommit is the inventory's group-commit observer
// (store.GroupOptions.Observe).
func (m *metrics) observeCommit(c store.Commit) {
	m.commitTime.Observe(c.Took.Seconds())
	if c.Requests > 0 {
		m.commitBatch.Observe(float64(c.Requests))
	}
	m.commitRetry.Add(float64(c.Reruns))
	if c.Err != nil {
		m.commitFailed.Inc()
	}
}

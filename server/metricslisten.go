package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// The separate metrics listener (roster server --metrics-listen ADDR)
// serves GET /metrics, and nothing else, over plain HTTP without a token:
// for a Prometheus (or an agent of it) on the same machine. So it listens
// on loopback only, unless the operator allows more with
// --metrics-listen-remote: the counts it shows (accounts per tier and
// strength, refusals) help an attacker pick a target, and plain HTTP
// protects nothing on the way. Beyond loopback the server logs a warning
// at start. On the main HTTPS listener, /metrics needs a viewer token.

// checkMetricsListen refuses a metrics address beyond loopback unless
// allowRemote. A host name is refused unless allowRemote too: what it
// resolves to may change.
func checkMetricsListen(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--metrics-listen %q: %w (want HOST:PORT, e.g. 127.0.0.1:9090)", addr, err)
	}
	if isLoopbackHost(host) || allowRemote {
		return nil
	}
	return fmt.Errorf("--metrics-listen %s: not a loopback address: the metrics listener is plain HTTP without a token; "+
		"listen on 127.0.0.1, scrape /metrics on the HTTPS address with a viewer token, or add --metrics-listen-remote", addr)
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP
// address.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// metricsHandler is the metrics listener's whole handler.
func (s *Server) metricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.timed("GET /metrics (metrics listener)", func(w, _ http.ResponseWriter, r *http.Request) {
		s.metrics.handler().ServeHTTP(w, r)
	}))
	return mux
}

// ServeMetrics serves the metrics listener on ln (plain HTTP) until ctx is
// done.
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	if !isLoopbackHost(sourceOf(ln.Addr())) {
		s.log.Warn("metrics listener beyond loopback: plain HTTP without a token", slog.String("address", ln.Addr().String()))
	}
	srv := &http.Server{
		Handler:           s.metricsHandler(),
		ReadHeaderTimeout: s.lim.ReadHeaderTimeout,
		WriteTimeout:      time.Minute,
		IdleTimeout:       s.lim.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return serveUntil(ctx, srv, func() error { return srv.Serve(ln) }, 5*time.Second, "the metrics listener", nil)
}

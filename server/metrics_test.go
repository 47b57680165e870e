package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/scan"
)

// families is one scrape, parsed.
type families map[string]*dto.MetricFamily

// parseScrape parses the Prometheus text format.
func parseScrape(t testing.TB, body []byte) families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("scrape does not parse: %v\n%.2000s", err, body)
	}
	return fams
}

// value sums the counter, gauge or (sample count of the) histogram name
// over the series whose labels include want.
func (f families) value(name string, want ...string) float64 {
	fam, ok := f[name]
	if !ok {
		return 0
	}
	total := 0.0
	for _, m := range fam.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

// scrape GETs /metrics with token tok and parses it.
func (e *env) scrape(tok string) families {
	e.t.Helper()
	code, body := e.callAs(tok, "GET", "/metrics", "")
	if code != http.StatusOK {
		e.t.Fatalf("GET /metrics: %d %.300s", code, body)
	}
	return parseScrape(e.t, body)
}

func viewerToken(t testing.TB, e *env) string {
	t.Helper()
	plain, _, err := access.New(e.inv.Store(), nil).Create(audit.WithActor(context.Background(), "test"), "metrics-viewer", access.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

// TestMetricsScrape: through the real HTTPS server, an enrollment, a
// renewal, a refused renewal and an ingest move their counters, the
// routes' latency histograms and the store's commit histograms; the
// inventory's counts are there; /metrics needs a token (any role); the
// metric names and help lines match testdata/metrics.golden.
func TestMetricsScrape(t *testing.T) {
	e := newEnv(t, true)
	e.s.metrics.summary.every = 0 // read the summary on every scrape
	view := viewerToken(t, e)

	if code, _ := e.callAs("", "GET", "/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics without a token: %d, want 401", code)
	}
	if code, _ := e.callAs("rot_"+strings.Repeat("A", 43), "GET", "/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics with an unknown token: %d, want 401", code)
	}
	before := e.scrape(view)

	key, chain := e.enroll("web1", "billing-batch")
	code, body := e.post(e.client(key, chain, false), "/1.0/renew", nil)
	if code != http.StatusCreated {
		t.Fatalf("renew: %d %s", code, body)
	}
	chain = e.chain(body)
	if _, err := e.iss.Revoke(audit.WithActor(context.Background(), "test"), issuer.RevokeRequest{Host: "web1", Account: "billing-batch", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if code, body := e.post(e.client(key, chain, false), "/1.0/renew", nil); code != http.StatusUnauthorized {
		t.Fatalf("renew of a revoked certificate: %d %s", code, body)
	}
	rep := inventorytest.NewReport("db7", "mid-db7", e.clock.Now().UTC(),
		inventorytest.Account("etl", 901, inventorytest.Cred(scan.CredPassword, "/etc/shadow:etl", "pw-etl")),
		inventorytest.Account("backup", 902, inventorytest.Cred(scan.CredPassword, "/etc/shadow:backup", "pw-backup")))
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := e.callAs(operatorToken(t, e), "POST", "/v1/scans", string(b)); code != http.StatusOK {
		t.Fatalf("scan: %d %s", code, body)
	}

	after := e.scrape(view)
	for _, tc := range []struct {
		name   string
		labels []string
		delta  float64 // at least
	}{
		{"roster_enrollments_total", nil, 1},
		{"roster_renewals_total", []string{"op", "renew"}, 1},
		{"roster_refusals_total", []string{"op", "renew", "reason", "revoked"}, 1},
		{"roster_certificates_issued_lifetime_seconds", nil, 2},
		{"roster_scan_reports_ingested_total", nil, 1},
		{"roster_scan_accounts_ingested_total", nil, 2},
		{"roster_http_request_duration_seconds", []string{"route", "POST /1.0/renew", "code", "2xx"}, 1},
		{"roster_http_request_duration_seconds", []string{"route", "POST /1.0/renew", "code", "4xx"}, 1},
		{"roster_http_request_duration_seconds", []string{"route", "POST /v1/enroll"}, 1},
		{"roster_http_request_duration_seconds", []string{"route", "GET /metrics", "code", "2xx"}, 1},
		{"roster_store_commit_duration_seconds", nil, 3},
		{"roster_store_commit_batch_size", nil, 3},
	} {
		got := after.value(tc.name, tc.labels...) - before.value(tc.name, tc.labels...)
		if got < tc.delta {
			t.Errorf("%s%v moved by %v, want at least %v", tc.name, tc.labels, got, tc.delta)
		}
	}
	if got := after.value("roster_refusals_total", "reason", "internal"); got != 0 {
		t.Errorf("internal refusals: %v", got)
	}
	// The scan's two accounts hold static passwords (tier 4 unless
	// privileged); web1's accounts were there before.
	if got, was := after.value("roster_accounts", "strength", "static_password"), before.value("roster_accounts", "strength", "static_password"); got != was+2 {
		t.Errorf("roster_accounts{strength=static_password}: %v, was %v, want +2", got, was)
	}
	if n := len(after["roster_accounts"].GetMetric()); n != 4*9 {
		t.Errorf("roster_accounts has %d series, want one per tier and strength (36)", n)
	}
	for _, name := range []string{"roster_exceptions", "roster_phases_overdue", "roster_summary_timestamp_seconds"} {
		if _, ok := after[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	checkMetricsGolden(t, after)
}

// checkMetricsGolden compares roster's metric names, types and help lines
// (not values) with testdata/metrics.golden; -update rewrites it.
func checkMetricsGolden(t *testing.T, fams families) {
	t.Helper()
	var names []string
	for name := range fams {
		if strings.HasPrefix(name, "roster_") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var sb strings.Builder
	for _, name := range names {
		f := fams[name]
		fmt.Fprintf(&sb, "# HELP %s %s\n# TYPE %s %s\n", name, f.GetHelp(), name, strings.ToLower(f.GetType().String()))
	}
	file := filepath.Join("testdata", "metrics.golden")
	if *update {
		if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if sb.String() != string(want) {
		t.Errorf("metric names or help lines differ from %s (run with -update if intended)\n--- got\n%s\n--- want\n%s", file, sb.String(), want)
	}
}

// TestMetricsSummaryCached: the inventory's counts are read at most once
// per interval, however often /metrics is scraped: a change shows only
// once the interval passed.
func TestMetricsSummaryCached(t *testing.T) {
	e := newEnv(t, true)
	e.s.metrics.summary.every = time.Hour
	view := viewerToken(t, e)
	first := e.scrape(view)
	at := first.value("roster_summary_timestamp_seconds")
	e.ingest("db8", "etl", "backup")
	for range 5 {
		again := e.scrape(view)
		if got := again.value("roster_summary_timestamp_seconds"); got != at {
			t.Fatalf("summary read again within its interval: at %v, then %v", at, got)
		}
		if got, want := again.value("roster_accounts"), first.value("roster_accounts"); got != want {
			t.Fatalf("roster_accounts moved within the interval: %v, was %v", got, want)
		}
	}
	e.s.metrics.summary.mu.Lock()
	e.s.metrics.summary.tried = time.Time{} // the interval passed
	e.s.metrics.summary.mu.Unlock()
	if got, was := e.scrape(view).value("roster_accounts"), first.value("roster_accounts"); got != was+2 {
		t.Errorf("after the interval roster_accounts is %v, was %v, want +2", got, was)
	}
}

// TestMetricsHostilePaths: a thousand requests for random paths (and
// methods) leave the request histogram with a handful of series: a route
// is labelled with its pattern, an unrouted path not at all.
func TestMetricsHostilePaths(t *testing.T) {
	e := newEnv(t, true)
	view := viewerToken(t, e)
	cl := e.client(nil, nil, true)
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH"}
	for i := range 1000 {
		b := make([]byte, 12)
		rand.Read(b)
		r := hex.EncodeToString(b)
		path := []string{"/" + r, "/v1/accounts/" + r, "/v1/hosts/" + r + "/tags", "/v1/vendors/%2F" + r, "/accounts/" + r, "/static/" + r, "/v1/" + r + "/%00/..%2F"}[i%7]
		req, err := http.NewRequest(methods[i%len(methods)], e.url+path, strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+view)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	fams := e.scrape(view)
	fam := fams["roster_http_request_duration_seconds"]
	if n := len(fam.GetMetric()); n == 0 || n > 20 {
		t.Errorf("roster_http_request_duration_seconds has %d series after 1,000 random paths, want a few", n)
	}
	for _, m := range fam.GetMetric() {
		for _, l := range m.Label {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), "/"+"v1/accounts/") && !strings.Contains(l.GetValue(), "{") {
				t.Errorf("a raw path became a label: %s", l.GetValue())
			}
		}
	}
	total := 0
	for _, f := range fams {
		total += len(f.GetMetric())
	}
	if total > 400 {
		t.Errorf("%d series in all after hostile paths", total)
	}
}

// TestMetricsListen: roster server --metrics-listen serves /metrics over
// plain HTTP without a token on loopback, and the banner says where.
func TestMetricsListen(t *testing.T) {
	banner := startRun(t, Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0"})
	var metricsURL string
	for line := range strings.Lines(banner) {
		if u, ok := strings.CutPrefix(line, "metrics:          "); ok {
			metricsURL, _, _ = strings.Cut(u, " ")
		}
	}
	if !strings.HasPrefix(metricsURL, "http://127.0.0.1:") {
		t.Fatalf("banner names no metrics listener: %q", metricsURL)
	}
	for range 2 { // the second scrape sees the first one timed
		resp, err := http.Get(metricsURL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %.200s", metricsURL, resp.StatusCode, body)
		}
		fams := parseScrape(t, body)
		if _, ok := fams["roster_enrollments_total"]; !ok {
			t.Fatalf("no roster_enrollments_total in %.500s", body)
		}
	}
	other := strings.TrimSuffix(metricsURL, "/metrics") + "/v1/report"
	resp, err := http.Get(other)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s on the metrics listener: %d, want 404", other, resp.StatusCode)
	}
}

// TestCheckMetricsListen: loopback is accepted; beyond it only when the
// operator says so.
func TestCheckMetricsListen(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:9090", false, true},
		{"[::1]:9090", false, true},
		{"localhost:9090", false, true},
		{"0.0.0.0:9090", false, false},
		{":9090", false, false},
		{"10.1.2.3:9090", false, false},
		{"metrics.example:9090", false, false},
		{"0.0.0.0:9090", true, true},
		{"9090", false, false},
		{"9090", true, false},
	} {
		err := checkMetricsListen(tc.addr, tc.remote)
		if (err == nil) != tc.ok {
			t.Errorf("checkMetricsListen(%q, %v): %v", tc.addr, tc.remote, err)
		}
		if err != nil && !strings.Contains(err.Error(), "--metrics-listen") {
			t.Errorf("error does not name the flag: %v", err)
		}
	}
}

// TestMetricsListenRefusedFirst: a metrics address beyond loopback without
// --metrics-listen-remote stops the server before it creates anything.
func TestMetricsListenRefusedFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	err := Run(context.Background(), Config{DataDir: dir, Listen: "127.0.0.1:0", MetricsListen: "0.0.0.0:0", TrustDomain: "roster.local", Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "--metrics-listen-remote") {
		t.Fatalf("Run: %v, want a refusal naming --metrics-listen-remote", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the data directory was created: %v", err)
	}
}

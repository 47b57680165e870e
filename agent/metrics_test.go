package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rosterhq/roster/agent/agenttest"
)

// parseMetricsFile parses the file with Prometheus's own text parser.
func parseMetricsFile(t *testing.T, data []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("metrics file does not parse: %v\n%s", err, data)
	}
	return fams
}

// sample is the value of family name for identity, and whether there is
// one.
func sample(fams map[string]*dto.MetricFamily, name, identity string) (float64, bool) {
	for _, m := range fams[name].GetMetric() {
		for _, l := range m.Label {
			if l.GetName() == "identity" && l.GetValue() == identity {
				if m.Counter != nil {
					return m.Counter.GetValue(), true
				}
				return m.Gauge.GetValue(), true
			}
		}
	}
	return 0, false
}

// TestMetricsFileRender: hostile identity names (quotes, backslashes, line
// feeds, invalid UTF-8) come back from Prometheus's parser as they were
// (invalid bytes as U+FFFD), every family has its HELP and TYPE, and
// values appear only where they mean something.
func TestMetricsFileRender(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 500e6, time.UTC)
	for _, tc := range []struct {
		name, want string
	}{
		{"billing", "billing"},
		{`we"ird`, `we"ird`},
		{`back\slash\`, `back\slash\`},
		{"line\nfeed", "line\nfeed"},
		{`\n"}` + "\n" + `x{identity="y"} 1`, `\n"}` + "\n" + `x{identity="y"} 1`},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"", ""},
	} {
		t.Run(tc.want, func(t *testing.T) {
			m := newMetricsFile(filepath.Join(t.TempDir(), "roster.prom"), []string{tc.name, "fresh"}, slog.Default())
			m.ids[tc.name].status = Status{NotAfter: now.Add(time.Hour), LastRenewal: now, LastAttempt: now}
			m.ids[tc.name].failures = 3
			fams := parseMetricsFile(t, m.render())
			for _, f := range agentMetrics {
				fam, ok := fams[f.name]
				if !ok || fam.GetHelp() != f.help || !strings.EqualFold(fam.GetType().String(), f.typ) {
					t.Errorf("%s: %v", f.name, fam)
				}
			}
			check := func(family, identity string, want float64, present bool) {
				t.Helper()
				got, ok := sample(fams, family, identity)
				if ok != present || got != want {
					t.Errorf("%s{identity=%q} = %v (present %v), want %v (present %v)", family, identity, got, ok, want, present)
				}
			}
			check("roster_agent_certificate_expiry_timestamp_seconds", tc.want, float64(now.Add(time.Hour).UnixMilli())/1e3, true)
			check("roster_agent_last_renewal_timestamp_seconds", tc.want, float64(now.UnixMilli())/1e3, true)
			check("roster_agent_last_renewal_success", tc.want, 1, true)
			check("roster_agent_renewal_failures_total", tc.want, 3, true)
			check("roster_agent_needs_reenrollment", tc.want, 0, true)
			// An identity not heard of yet: no times, no result.
			check("roster_agent_certificate_expiry_timestamp_seconds", "fresh", 0, false)
			check("roster_agent_last_renewal_success", "fresh", 0, false)
			check("roster_agent_renewal_failures_total", "fresh", 0, true)
		})
	}
}

// TestMetricsFileRun: a running agent with --metrics-file writes the file
// (atomically: no temporary file stays) for its identities, hostile names
// included, and rewrites it after a renewal and after a refused one.
func TestMetricsFileRun(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, time.Hour)
	billing := enroll(t, ca, "billing")
	reports := enroll(t, ca, "reports")
	prom := filepath.Join(t.TempDir(), "roster.prom")
	hostile := "reports \"prod\"\\\nline two"
	h := startAgent(t, ca, Config{MetricsFile: prom, Identities: []Identity{{Name: "billing", Dir: billing}, {Name: hostile, Dir: reports}}})
	read := func() map[string]*dto.MetricFamily {
		data, err := os.ReadFile(prom)
		if err != nil {
			return nil
		}
		return parseMetricsFile(t, data)
	}
	_, notAfter := leafOf(t, billing)
	waitFor(t, "both identities' expiry in the metrics file", func() bool {
		fams := read()
		_, a := sample(fams, "roster_agent_certificate_expiry_timestamp_seconds", "billing")
		_, b := sample(fams, "roster_agent_certificate_expiry_timestamp_seconds", hostile)
		return a && b
	})
	if got, _ := sample(read(), "roster_agent_certificate_expiry_timestamp_seconds", "billing"); int64(got) != notAfter.Unix() {
		t.Errorf("billing's expiry %v, want %v", got, notAfter.Unix())
	}

	first, _ := leafOf(t, reports)
	h.force <- struct{}{}
	waitFor(t, "renewals in the metrics file", func() bool {
		fams := read()
		a, _ := sample(fams, "roster_agent_last_renewal_success", "billing")
		b, _ := sample(fams, "roster_agent_last_renewal_success", hostile)
		return a == 1 && b == 1
	})
	second, notAfter := leafOf(t, reports)
	if second == first {
		t.Fatal("reports was not renewed")
	}
	fams := read()
	if got, _ := sample(fams, "roster_agent_certificate_expiry_timestamp_seconds", hostile); int64(got) != notAfter.Unix() {
		t.Errorf("expiry after renewal %v, want %v", got, notAfter.Unix())
	}
	if got, ok := sample(fams, "roster_agent_last_renewal_timestamp_seconds", hostile); !ok || time.Since(time.Unix(int64(got), 0)) > time.Minute {
		t.Errorf("last renewal %v (present %v)", got, ok)
	}

	ca.Revoke(second)
	h.force <- struct{}{}
	waitFor(t, "the refusal in the metrics file", func() bool {
		fams := read()
		ok, _ := sample(fams, "roster_agent_last_renewal_success", hostile)
		n, _ := sample(fams, "roster_agent_renewal_failures_total", hostile)
		return ok == 0 && n >= 1
	})
	fams = read()
	if n, _ := sample(fams, "roster_agent_renewal_failures_total", "billing"); n != 0 {
		t.Errorf("billing failures %v, want 0", n)
	}
	ents, err := os.ReadDir(filepath.Dir(prom))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("the metrics file's directory holds %d entries, want only roster.prom", len(ents))
	}
}

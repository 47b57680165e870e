package agent

import (
	"bytes"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/fsutil"
)

// metricsFile is the agent's metrics in the Prometheus text exposition
// format, for node_exporter's textfile collector (roster-agent run
// --metrics-file PATH, Config.MetricsFile): each identity's certificate
// expiry, its last renewal, whether the last attempt succeeded and how
// many failed since the agent started. It is rewritten atomically (the
// collector never reads half a file) whenever an identity's status
// changes, so after every renewal and every failed one.
//
// It is written by hand, a few lines of fmt: the agent stays small
// (no Prometheus client library).
type metricsFile struct {
	path string
	log  *slog.Logger

	mu    sync.Mutex
	order []string // identity names, in configuration order
	ids   map[string]*identityMetrics
	last  []byte // what the file holds
}

// identityMetrics is what the file says of one identity.
type identityMetrics struct {
	status   Status
	failures int
}

func newMetricsFile(path string, names []string, log *slog.Logger) *metricsFile {
	m := &metricsFile{path: path, log: log, order: names, ids: map[string]*identityMetrics{}}
	for _, n := range names {
		m.ids[n] = &identityMetrics{}
	}
	return m
}

// record takes identity name's new status and rewrites the file when
// that changes what it says. A nil m records nothing.
func (m *metricsFile) record(name string, st Status) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	im, ok := m.ids[name]
	if !ok {
		return
	}
	// A failed renewal is an attempt with an error on a certificate that
	// is still usable; a missing or expired one is not retried.
	if st.LastError != "" && !st.NeedsReenrollment && !st.LastAttempt.Equal(im.status.LastAttempt) {
		im.failures++
	}
	im.status = st
	data := m.render()
	if bytes.Equal(data, m.last) {
		return
	}
	if err := fsutil.WriteFile(m.path, data, 0o644); err != nil {
		m.log.Warn("cannot write the metrics file", slog.String("file", m.path), slog.String(keyError, err.Error()))
		return
	}
	m.last = data
}

// agentMetrics are the file's metric families, in order.
var agentMetrics = []struct {
	name, typ, help string
	value           func(im *identityMetrics) (float64, bool)
}{
	{"roster_agent_certificate_expiry_timestamp_seconds", "gauge", "When the identity's current certificate expires, in unix seconds.",
		func(im *identityMetrics) (float64, bool) { return unixSeconds(im.status.NotAfter) }},
	{"roster_agent_last_renewal_timestamp_seconds", "gauge", "When the identity's certificate was last renewed by this agent, in unix seconds.",
		func(im *identityMetrics) (float64, bool) { return unixSeconds(im.status.LastRenewal) }},
	{"roster_agent_last_renewal_success", "gauge", "1 if the identity's last renewal attempt succeeded, 0 if it failed.",
		func(im *identityMetrics) (float64, bool) {
			if im.status.LastAttempt.IsZero() || im.status.NeedsReenrollment {
				return 0, false
			}
			return boolValue(im.status.LastError == ""), true
		}},
	{"roster_agent_renewal_failures_total", "counter", "Failed renewal attempts of the identity since the agent started.",
		func(im *identityMetrics) (float64, bool) { return float64(im.failures), true }},
	{"roster_agent_needs_reenrollment", "gauge", "1 if the identity has no usable certificate (missing or expired) and needs enrolling again.",
		func(im *identityMetrics) (float64, bool) { return boolValue(im.status.NeedsReenrollment), true }},
}

// render writes every family in the text format: HELP, TYPE, then one
// sample per identity that has a value.
func (m *metricsFile) render() []byte {
	var b bytes.Buffer
	for _, f := range agentMetrics {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.typ)
		for _, name := range m.order {
			if v, ok := f.value(m.ids[name]); ok {
				fmt.Fprintf(&b, "%s{identity=\"%s\"} %s\n", f.name, escapeLabelValue(name), strconv.FormatFloat(v, 'f', -1, 64))
			}
		}
	}
	return b.Bytes()
}

// labelEscaper escapes a label value as the text format wants: backslash,
// double quote and line feed.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// escapeLabelValue is s as a label value of the text format, which is
// UTF-8: invalid bytes become U+FFFD.
func escapeLabelValue(s string) string { return labelEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD")) }

func unixSeconds(t time.Time) (float64, bool) {
	if t.IsZero() {
		return 0, false
	}
	return float64(t.UnixMilli()) / 1e3, true
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// identityNames are ids' names, in order.
func identityNames(ids []Identity) []string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = id.Name
	}
	return names
}

package agent

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent/agenttest"
)

// TestScanLoop: the host identity fetches the fingerprint key, runs the
// real discovery scanner over a fixture host and submits the report over
// mTLS; the report carries fingerprints, never the shadow hash.
func TestScanLoop(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, time.Hour)
	hostDir := filepath.Join(t.TempDir(), "host")
	if _, err := Enroll(context.Background(), enrollOpts(ca, hostDir, ca.Token("db1", ""))); err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("testdata/host")
	if err != nil {
		t.Fatal(err)
	}
	h := startAgent(t, ca, Config{Version: "test-1", Identities: []Identity{
		{Name: "host", Dir: hostDir, Scan: &ScanOptions{Interval: 200 * time.Millisecond, Root: root}},
	}})
	waitFor(t, "two scans", func() bool { return len(ca.Reports()) >= 2 })
	rep := ca.Reports()[0]
	if rep.Host.Hostname != "db1" || rep.Scanner.Version != "test-1" || rep.Host.Root != root {
		t.Errorf("report host %+v scanner %+v", rep.Host, rep.Scanner)
	}
	var billing bool
	for _, a := range rep.Accounts {
		billing = billing || a.Name == "billing"
	}
	if !billing {
		t.Error("account billing missing from the report")
	}
	b, _ := json.Marshal(rep)
	if strings.Contains(string(b), "fixturesalt") {
		t.Error("the report carries the shadow hash")
	}
	if ca.Calls("/v1/scan-config") < 2 {
		t.Error("scan config not fetched before each scan")
	}
	if l := h.logs.Lines("host scan submitted"); len(l) == 0 || l[0]["identity"] != "host" {
		t.Errorf("no scan log line: %v", l)
	}
}

// TestScanLoopNeedsHostIdentity: a service identity cannot submit scans;
// the loop says why instead of sending.
func TestScanLoopNeedsHostIdentity(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, time.Hour)
	dir := enroll(t, ca, "billing")
	h := startAgent(t, ca, Config{Identities: []Identity{
		{Name: "billing", Dir: dir, Scan: &ScanOptions{Interval: time.Hour, Root: "testdata/host"}},
	}})
	waitFor(t, "the scan failure", func() bool { return len(h.logs.Lines("host scan failed")) >= 1 })
	l := h.logs.Lines("host scan failed")[0]
	if !strings.Contains(l["error"].(string), "host identity") {
		t.Errorf("error = %v", l["error"])
	}
	if len(ca.Reports()) != 0 {
		t.Error("a service identity submitted a scan")
	}
}

func TestSpiffeNames(t *testing.T) {
	tests := []struct{ uri, host, account string }{
		{"spiffe://" + agenttest.TrustDomain + "/host/db1/sa/billing", "db1", "billing"},
		{"spiffe://roster.local/host/db1", "db1", ""},
		{"spiffe://roster.local/other/db1", "", ""},
		{"https://example/host/db1", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if h, a := spiffeNames(tt.uri); h != tt.host || a != tt.account {
			t.Errorf("spiffeNames(%q) = %q, %q", tt.uri, h, a)
		}
	}
}

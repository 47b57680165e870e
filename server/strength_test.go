package server

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/scan"
)

// do sends one request to g and returns the status and body.
func (g *goldenServer) do(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+g.admin)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw
}

// TestReportStrengthThroughServer drives the real server: a scan with a
// privileged person who logs in with a FIDO key, a privileged person with
// a password, an unprivileged person, and a service account enrolled with
// the server's 24-hour certificate. The report counts the people in tier
// 1 apart from service accounts (the FIDO key as hardware_bound), leaves
// the unprivileged person out, and counts the 24-hour certificate as
// short_lived_cert.
func TestReportStrengthThroughServer(t *testing.T) {
	g := startServerValidity(t, 24*time.Hour)
	now := time.Now().UTC().Truncate(time.Second)
	fp := func(c string) string { return "hmac-sha256:" + strings.Repeat(c, 43) }
	person := func(name string, uid int, priv bool, cred scan.Credential) scan.Account {
		a := scan.Account{Name: name, UID: uid, GID: uid, Home: "/home/" + name, Shell: "/bin/bash", LoginShell: true,
			Kind: scan.KindHuman, KindEvidence: []string{"login shell /bin/bash"}, Password: scan.Password{Status: "locked"},
			Credentials: []scan.Credential{cred}}
		if cred.Type == scan.CredPassword {
			a.Password = scan.Password{Status: "usable", Algorithm: "yescrypt"}
		}
		if priv {
			a.Privileged, a.PrivilegeReasons = true, []string{"member of sudo"}
			a.Groups = []string{"sudo"}
		}
		return a
	}
	rep := &scan.Report{
		SchemaVersion: scan.SchemaVersion,
		Scanner:       scan.Scanner{Name: "strength", Version: "1"},
		Host: scan.Host{Hostname: "bastion-1", MachineID: strings.Repeat("b2", 16), ScannedAt: now.Add(-time.Minute), Root: "/", Live: true,
			OS: scan.OS{ID: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)"}},
		Accounts: []scan.Account{
			person("alice", 1000, true, scan.Credential{Type: scan.CredSSHAuthorizedKey, Location: "/home/alice/.ssh/authorized_keys:1",
				Fingerprint: "SHA256:83ny0sBD6XvpUfb31f8h4vb4GZRmF5WvKEmNe8GtLQU", Algorithm: scan.KeyAlgoSKEd25519}),
			person("bob", 1001, true, scan.Credential{Type: scan.CredPassword, Location: "/etc/shadow:3", Fingerprint: fp("P"), Algorithm: "yescrypt"}),
			person("dave", 1002, false, scan.Credential{Type: scan.CredPassword, Location: "/etc/shadow:4", Fingerprint: fp("Q"), Algorithm: "yescrypt"}),
			{Name: "metrics", UID: 990, GID: 990, Home: "/var/lib/metrics", Shell: "/usr/sbin/nologin",
				Kind: scan.KindService, KindEvidence: []string{"runs metrics.service"}, Password: scan.Password{Status: "none"},
				UsedBy: []scan.Usage{{Type: scan.UsageSystemd, Name: "metrics.service", Enabled: true, Detail: "/usr/bin/metrics"}}},
		},
	}
	if code, body := g.do(t, "POST", "/v1/scans", string(mustMarshal(t, rep))); code != 200 {
		t.Fatalf("scan: %d %s", code, body)
	}
	if code, body := g.do(t, "PUT", "/v1/accounts/metrics/owner", `{"name":"team-obs"}`); code != 200 {
		t.Fatalf("owner: %d %s", code, body)
	}
	code, body := g.do(t, "POST", "/v1/enrollments", `{"host":"bastion-1","account":"metrics"}`)
	var ticket struct{ Token string }
	if err := json.Unmarshal(body, &ticket); code != 201 || err != nil || ticket.Token == "" {
		t.Fatalf("enrollment: %d %v %s", code, err, body)
	}
	if code, body := g.do(t, "POST", "/v1/enroll", string(mustMarshal(t, map[string]string{"token": ticket.Token, "csr": goldenCSR(t)}))); code != 200 && code != 201 {
		t.Fatalf("enroll: %d %s", code, body)
	}
	code, body = g.do(t, "GET", "/v1/report?format=json", "")
	var got api.Report
	if err := json.Unmarshal(body, &got); code != 200 || err != nil {
		t.Fatalf("report: %d %v %s", code, err, body)
	}
	for _, tc := range []struct {
		tier   int
		want   map[string]int
		people map[string]int
	}{
		{1, map[string]int{}, map[string]int{"hardware_bound": 1, "static_password": 1}},
		{2, map[string]int{}, nil},
		{3, map[string]int{}, nil},
		{4, map[string]int{"short_lived_cert": 1}, nil},
	} {
		ts := got.Tiers[tc.tier-1]
		if !maps.Equal(ts.ByStrength, tc.want) {
			t.Errorf("tier %d: by strength %v, want %v", tc.tier, ts.ByStrength, tc.want)
		}
		switch {
		case tc.people == nil && ts.People != nil:
			t.Errorf("tier %d: people %+v", tc.tier, ts.People)
		case tc.people != nil && (ts.People == nil || ts.People.Accounts != 2 || !maps.Equal(ts.People.ByStrength, tc.people)):
			t.Errorf("tier %d: people %+v, want 2 accounts %v", tc.tier, ts.People, tc.people)
		}
		if ts.Target != "" || ts.BelowTarget != nil {
			t.Errorf("tier %d: target %q below %v, want none before phases", tc.tier, ts.Target, ts.BelowTarget)
		}
	}
	if got.Humans != 3 {
		t.Errorf("people's accounts %d, want 3", got.Humans)
	}
	code, body = g.do(t, "GET", "/v1/report?format=table", "")
	for _, w := range []string{"1 privileged: people", "hardware_bound"} {
		if code != 200 || !strings.Contains(string(body), w) {
			t.Errorf("report table lacks %q: %d\n%s", w, code, body)
		}
	}
}

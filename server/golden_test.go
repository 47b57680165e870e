package server

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGoldenAPI drives the real server ([Run], on 127.0.0.1) through a fixed
// sequence of operator, enrollment and refused calls and compares each
// response (status, content type, scrubbed body) with
// testdata/golden/NAME.golden. Run with -update to rewrite them.
//
// The test uses only Run and HTTP, so that it stays the same whichever
// package serves the API: the goldens pin paths and bodies, not code.
func TestGoldenAPI(t *testing.T) {
	g := startGoldenServer(t)
	now := time.Now().UTC().Truncate(time.Second)

	viewer := g.call(t, "token-create", "POST", "/v1/tokens", g.admin, `{"name":"auditor","role":"viewer"}`)
	var vt struct{ Token string }
	if err := json.Unmarshal(viewer, &vt); err != nil || vt.Token == "" {
		t.Fatalf("viewer token: %v %s", err, viewer)
	}
	g.call(t, "scan-submit", "POST", "/v1/scans", g.admin, string(mustMarshal(t, goldenReport(now.Add(-time.Minute)))))
	g.call(t, "owner-set", "PUT", "/v1/accounts/billing/owner", g.admin, `{"name":"team-billing","contact":"billing@example.com"}`)
	g.call(t, "host-tag", "POST", "/v1/hosts/web-1/tags", g.admin, `{"add":["rack-7"]}`)
	// An exception needs an owner on its account (the exception's owner
	// answers for the exception, not for the account).
	g.call(t, "owner-set-deploy", "PUT", "/v1/accounts/deploy/owner", g.admin, `{"name":"team-ops"}`)
	g.call(t, "exception-add", "POST", "/v1/exceptions", g.admin,
		`{"account":"deploy","reason":"vendor appliance","owner":"team-ops","expires":"`+now.AddDate(0, 0, 10).Format("2006-01-02")+`"}`)
	g.call(t, "tier-set", "PUT", "/v1/accounts/metrics/tier", g.admin, `{"tier":3,"reason":"feeds the on-call dashboards"}`)
	// An account no scan finds (registered.go), and a purpose.
	g.call(t, "account-add", "POST", "/v1/accounts", g.admin,
		`{"name":"ledger-batch","system":"mainframe ledger","kind":"legacy","credential":"static_password","owner":"team-ledger","remedy":"gateway","purpose":"nightly ledger export"}`)
	g.call(t, "account-import-dry", "POST", "/v1/accounts/import?format=json", g.admin,
		"name,system,kind,credential,tier\nora-report,oracle-fin,database,static_password,3\n")
	g.call(t, "error-account-import", "POST", "/v1/accounts/import?format=json", g.admin,
		"name,system,kind,credential\nora-report,oracle-fin,databse,static_password\nbilling,x,legacy,static_password\n")
	g.call(t, "error-account-add-level", "POST", "/v1/accounts", g.admin,
		`{"name":"fw-admin","system":"edge firewall","kind":"appliance","credential":"static_pasword"}`)
	g.call(t, "account-purpose", "PUT", "/v1/accounts/billing/purpose", g.admin, `{"purpose":"charges customers nightly"}`)
	g.call(t, "account-show-registered-table", "GET", "/v1/accounts/ledger-batch?format=table", g.admin, "")

	body := g.call(t, "enrollment-create", "POST", "/v1/enrollments", g.admin, `{"host":"web-1","account":"billing"}`)
	var ticket struct{ Token string }
	if err := json.Unmarshal(body, &ticket); err != nil || ticket.Token == "" {
		t.Fatalf("enrollment: %v %s", err, body)
	}
	csr := goldenCSR(t)
	g.call(t, "enroll", "POST", "/v1/enroll", "", string(mustMarshal(t, map[string]string{"token": ticket.Token, "csr": csr})))

	for _, f := range []string{"json", "table"} {
		g.call(t, "report-"+f, "GET", "/v1/report?format="+f, g.admin, "")
		g.call(t, "accounts-list-"+f, "GET", "/v1/accounts?format="+f, g.admin, "")
		g.call(t, "account-show-"+f, "GET", "/v1/accounts/billing?format="+f, g.admin, "")
		g.call(t, "audit-list-"+f, "GET", "/v1/audit?format="+f, g.admin, "")
	}
	g.call(t, "hosts-list-json", "GET", "/v1/hosts?format=json", g.admin, "")
	g.call(t, "audit-verify", "GET", "/v1/audit/verify", vt.Token, "")
	// Passkeys: none registered (that takes a browser: webpasskey_test.go);
	// a viewer may list its own only.
	g.call(t, "passkeys-list-table", "GET", "/v1/passkeys", g.admin, "")
	g.call(t, "error-passkeys-other", "GET", "/v1/passkeys?token=admin", vt.Token, "")
	g.call(t, "error-passkey-revoke-unknown", "DELETE", "/v1/passkeys/pk-0000", vt.Token, "")

	// Refusals: the operator API's error body, and the step-compatible one.
	g.call(t, "error-viewer-write", "PUT", "/v1/accounts/billing/owner", vt.Token, `{"name":"someone"}`)
	g.call(t, "error-no-token", "GET", "/v1/report", "", "")
	g.call(t, "error-unknown-account", "GET", "/v1/accounts/nobody?format=json", g.admin, "")
	g.call(t, "error-unknown-field", "PUT", "/v1/accounts/billing/owner", g.admin, `{"nmae":"x"}`)
	g.call(t, "error-enroll-replay", "POST", "/v1/enroll", "", string(mustMarshal(t, map[string]string{"token": ticket.Token, "csr": csr})))
	g.call(t, "error-renew-no-cert", "POST", "/1.0/renew", "", "")
	g.call(t, "error-plan-history-range", "GET", "/v1/plan/history?format=json&from=2026-03-01&to=2026-02-01", vt.Token, "")

	// The plan: the ordering rule's refusal, a phase, an extension, the
	// plan read.
	rfc := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	day := 24 * time.Hour
	g.call(t, "error-plan-order", "PUT", "/v1/plan/2", g.admin, `{"target":"short_lived_cert","owner":"net-team","start":"`+rfc(0)+`","end":"`+rfc(90*day)+`"}`)
	g.call(t, "plan-set", "PUT", "/v1/plan/1", g.admin,
		`{"target":"short_lived_cert","owner":"sec-team","start":"`+rfc(-day)+`","end":"`+rfc(30*day)+`","max_exception":"20d","note":"privileged first"}`)
	var exc struct{ ID string }
	if err := json.Unmarshal(g.call(t, "exceptions-list-json", "GET", "/v1/exceptions?format=json", g.admin, ""), &[]any{&exc}); err != nil || exc.ID == "" {
		t.Fatalf("exception list: %v", err)
	}
	g.call(t, "exception-extend", "POST", "/v1/exceptions/"+exc.ID+"/extend", g.admin, `{"expires":"`+rfc(20*day)+`","reason":"appliance replaced next month"}`)
	for _, f := range []string{"json", "table"} {
		g.call(t, "plan-"+f, "GET", "/v1/plan?format="+f, g.admin, "")
	}

	// SSH grants and policy (sshsign.go).
	g.call(t, "ssh-allow", "POST", "/v1/ssh/grants", g.admin, `{"identity":"deploy","as":"billing","host":"web-1"}`)
	g.call(t, "ssh-allow-env", "POST", "/v1/ssh/grants", g.admin, `{"identity":"deploy","as":"billing","env":"default"}`)
	g.call(t, "error-ssh-allow-no-owner", "POST", "/v1/ssh/grants", g.admin, `{"identity":"metrics","as":"billing","host":"web-1"}`)
	g.call(t, "ssh-grants-json", "GET", "/v1/ssh/grants?host=web-1&format=json", g.admin, "")
	g.call(t, "ssh-grants-table", "GET", "/v1/ssh/grants", g.admin, "")
	g.call(t, "ssh-migration-json", "GET", "/v1/ssh/migration?account=deploy&host=web-1&format=json", g.admin, "")
	g.call(t, "ssh-deny", "POST", "/v1/ssh/grants/remove", g.admin, `{"identity":"deploy","as":"billing","env":"default"}`)
	g.call(t, "error-ssh-deny-unknown", "POST", "/v1/ssh/grants/remove", g.admin, `{"identity":"deploy","as":"billing","env":"default"}`)
	g.call(t, "ssh-policy", "PUT", "/v1/accounts/deploy/ssh-policy", g.admin, `{"permit":["pty","agent-forwarding"]}`)
	g.call(t, "error-ssh-policy-source-address", "PUT", "/v1/accounts/deploy/ssh-policy", g.admin, `{"permit":["pty"],"source_address":true}`)
	g.call(t, "error-ssh-sign-no-cert", "POST", "/v1/ssh/sign", "", `{"public_key":"ssh-ed25519 AAAA"}`)

	// An operator's account kind (last: it changes the counts).
	g.call(t, "account-kind", "PUT", "/v1/accounts/metrics/kind", g.admin, `{"kind":"human"}`)
	g.call(t, "account-show-kind-table", "GET", "/v1/accounts/metrics?format=table", g.admin, "")
	g.call(t, "error-account-kind-unknown", "PUT", "/v1/accounts/metrics/kind", g.admin, `{"kind":"humn"}`)
}

type goldenServer struct {
	url, admin string
	hc         *http.Client
}

// startGoldenServer runs Run on a fresh data directory and waits for its
// banner.
func startGoldenServer(t *testing.T) *goldenServer {
	t.Helper()
	return startServerValidity(t, time.Hour)
}

// startServerValidity is startGoldenServer with certificates valid for
// validity by default.
func startServerValidity(t *testing.T, validity time.Duration) *goldenServer {
	t.Helper()
	return startServerConfig(t, Config{DefaultValidity: validity})
}

// startServerConfig is startGoldenServer with cfg's store, logger and
// default validity (an hour if unset).
func startServerConfig(t *testing.T, cfg Config) *goldenServer {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg.DataDir, cfg.Listen, cfg.TrustDomain, cfg.Out = dir, "127.0.0.1:0", "roster.local", pw
	cfg.DefaultValidity = cmp.Or(cfg.DefaultValidity, time.Hour)
	cfg.MinValidity, cfg.MaxValidity = 5*time.Minute, 24*time.Hour
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	go func() {
		done <- Run(ctx, cfg)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	url := ""
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "roster server listening on "); ok {
			url = u
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if url == "" {
		t.Fatal("server did not print its listening line")
	}
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.ReadFile(filepath.Join(dir, "root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(root)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &goldenServer{url: url, admin: strings.TrimSpace(string(tok)), hc: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// call sends one request, compares the response with the golden file name
// and returns the raw body.
func (g *goldenServer) call(t *testing.T, name, method, path, token, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	ct := resp.Header.Get("Content-Type")
	got := fmt.Sprintf("%s %s\n%d %s\n\n%s", method, path, resp.StatusCode, ct, scrub(string(raw), !strings.HasPrefix(ct, "application/json")))
	file := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return raw
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%s: %v (run with -update to create it)", name, err)
	}
	if got != string(want) {
		t.Errorf("%s: response differs from %s\n--- got\n%s\n--- want\n%s", name, file, got, want)
	}
	return raw
}

// scrubbers replace, in order, what differs from run to run and nothing
// else: PEM blocks (keys and certificates are new each run), one-time
// enrollment and operator tokens and token IDs (random), SHA-256 hex
// (root fingerprint, audit hashes), certificate serials (random, 15+
// digits), timestamps and dates (the clock), relative ages and durations
// derived from the clock in tables, and the listener's port. In text
// (tables), runs of spaces become two: column widths follow the scrubbed
// values' lengths.
var scrubbers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`-----BEGIN ([A-Z ]+)-----(\\n|\n)[A-Za-z0-9+/=\\n\n]+-----END [A-Z ]+-----(\\n|\n)?`), "<PEM $1>"},
	{regexp.MustCompile(`ret_[A-Za-z0-9_-]{43}`), "<enroll-token>"},
	{regexp.MustCompile(`\brst_[A-Za-z0-9_-]{43}`), "<operator-token>"},
	{regexp.MustCompile(`tok-[0-9a-f]{8,}`), "<token-id>"},
	{regexp.MustCompile(`\b[0-9a-f]{64}\b`), "<sha256>"},
	{regexp.MustCompile(`\b[0-9]{15,}\b`), "<serial>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?`), "<time>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\d`), "<date>"},
	{regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s|m|h|d)( ?\d+(\.\d+)?(ns|µs|ms|s|m|h|d))*( ago)?\b`), "<duration>"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:<port>"},
}

var spaceRun = regexp.MustCompile(` {2,}`)

func scrub(s string, text bool) string {
	for _, sc := range scrubbers {
		s = sc.re.ReplaceAllString(s, sc.with)
	}
	if text {
		s = spaceRun.ReplaceAllString(s, "  ")
	}
	return s
}

func TestScrub(t *testing.T) {
	in := `{"serial":"123456789012345678901","at":"2026-05-01T10:00:00.123Z","fp":"` + strings.Repeat("ab", 32) +
		`","token":"ret_` + strings.Repeat("A", 43) + `","op":"rst_` + strings.Repeat("b", 43) + `","first_seen":"x","id":"tok-0123abcd","url":"https://127.0.0.1:4431/x","age":"3m ago","in":"9d 23h"}`
	want := `{"serial":"<serial>","at":"<time>","fp":"<sha256>","token":"<enroll-token>","op":"<operator-token>","first_seen":"x","id":"<token-id>","url":"https://127.0.0.1:<port>/x","age":"<duration>","in":"<duration>"}`
	if got := scrub(in, false); got != want {
		t.Errorf("scrub:\n got %s\nwant %s", got, want)
	}
	if got := scrub("uid 1001, tier 3", false); got != "uid 1001, tier 3" {
		t.Errorf("scrub touched plain numbers: %s", got)
	}
	if got := scrub("A    B  C\n  D", true); got != "A  B  C\n  D" {
		t.Errorf("scrub of a table: %q", got)
	}
}

// goldenReport is a fixed scan of host web-1: a service account with a
// password used by a unit, a deploy account with an SSH key and sudo, and
// an account with nothing static.
func goldenReport(at time.Time) *scan.Report {
	fp := func(c string) string { return "hmac-sha256:" + strings.Repeat(c, 43) }
	return &scan.Report{
		SchemaVersion: scan.SchemaVersion,
		Scanner:       scan.Scanner{Name: "golden", Version: "1"},
		Host: scan.Host{Hostname: "web-1", MachineID: strings.Repeat("a1", 16), ScannedAt: at, Root: "/", Live: true,
			OS: scan.OS{ID: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)"}},
		Accounts: []scan.Account{
			{
				Name: "billing", UID: 1001, GID: 1001, Home: "/srv/billing", Shell: "/bin/bash", LoginShell: true,
				Kind: scan.KindService, KindEvidence: []string{"runs billing.service"},
				Password:    scan.Password{Status: "usable", Algorithm: "yescrypt"},
				Credentials: []scan.Credential{{Type: scan.CredPassword, Location: "/etc/shadow:20", Fingerprint: fp("B"), Algorithm: "yescrypt"}},
				UsedBy:      []scan.Usage{{Type: scan.UsageSystemd, Name: "billing.service", Enabled: true, Detail: "/usr/bin/billing"}},
			},
			{
				Name: "deploy", UID: 1002, GID: 1002, Home: "/home/deploy", Shell: "/bin/bash", LoginShell: true,
				Kind: scan.KindService, KindEvidence: []string{"authorized key, no password"},
				Privileged: true, PrivilegeReasons: []string{"sudo ALL"},
				Sudo:        []scan.SudoRule{{Source: "/etc/sudoers.d/deploy:1", Via: "user", Hosts: []string{"ALL"}, Commands: []string{"ALL"}, NoPassword: true}},
				Password:    scan.Password{Status: "none"},
				Credentials: []scan.Credential{{Type: scan.CredSSHAuthorizedKey, Location: "/home/deploy/.ssh/authorized_keys:1", Fingerprint: fp("D")}},
				Exposure:    scan.Exposure{SSH: true, SSHReasons: []string{"authorized key"}},
			},
			{
				Name: "metrics", UID: 1003, GID: 1003, Home: "/var/lib/metrics", Shell: "/usr/sbin/nologin",
				Kind: scan.KindService, KindEvidence: []string{"runs metrics.service"},
				Password: scan.Password{Status: "none"},
				UsedBy:   []scan.Usage{{Type: scan.UsageSystemd, Name: "metrics.service", Enabled: true}},
			},
		},
	}
}

func goldenCSR(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/scan"
)

// apiClient is a raw HTTPS client for the tests, trusting only the
// server's root.
type apiClient struct {
	t    testing.TB
	base string
	hc   *http.Client
}

func newAPIClient(t testing.TB, s *serverProc) *apiClient {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(s.dataDir, "root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("root.crt holds no certificate")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &apiClient{t: t, base: s.URL, hc: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// do sends a request and returns status and body.
func (c *apiClient) do(method, path, token string, body []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// testReport builds a scan report of host with the given service accounts,
// each holding one static password whose fingerprint is derived from seed.
func testReport(host string, at time.Time, accounts ...string) *scan.Report {
	r := &scan.Report{
		SchemaVersion: scan.SchemaVersion,
		Scanner:       scan.Scanner{Name: "test", Version: "0"},
		Host:          scan.Host{Hostname: host, MachineID: fmt.Sprintf("%x", sha256.Sum256([]byte(host)))[:32], ScannedAt: at, Root: "/"},
	}
	for i, a := range accounts {
		r.Accounts = append(r.Accounts, scan.Account{
			Name: a, UID: 1000 + i, GID: 1000 + i, Shell: "/bin/bash", LoginShell: true,
			Kind: scan.KindService, KindEvidence: []string{"runs " + a + ".service"},
			Password: scan.Password{Status: "usable", Algorithm: "yescrypt"},
			Credentials: []scan.Credential{{
				Type: scan.CredPassword, Location: "/etc/shadow:" + fmt.Sprint(i+1),
				Fingerprint: "hmac-sha256:" + strings.Repeat("A", 42) + a[:1], Algorithm: "yescrypt",
			}},
			UsedBy: []scan.Usage{{Type: scan.UsageSystemd, Name: a + ".service", Detail: "/usr/bin/" + a}},
		})
	}
	return r
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestServerInitAndRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, "--scan-on-start=false")
	for _, f := range []string{"root.crt", "admin.token"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if f == "admin.token" && fi.Mode().Perm() != 0o600 {
			t.Errorf("admin.token mode %v, want 0600", fi.Mode().Perm())
		}
	}
	if !strings.Contains(s.out.String(), "root fingerprint: ") {
		t.Errorf("banner lacks the root fingerprint:\n%s", s.out.String())
	}
	token := s.adminToken()
	c := newAPIClient(t, s)
	if st, body := c.do("GET", "/healthz", "", nil); st != 200 {
		t.Fatalf("healthz: %d %s", st, body)
	}
	if st, _ := c.do("GET", "/v1/report", "", nil); st != http.StatusUnauthorized {
		t.Errorf("report without token: %d, want 401", st)
	}
	if st, body := c.do("GET", "/v1/report?format=json", token, nil); st != 200 {
		t.Fatalf("report: %d %s", st, body)
	}
	tokenBefore, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
	s.stop()
	s.restart()
	tokenAfter, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
	if !bytes.Equal(tokenBefore, tokenAfter) {
		t.Error("restart rewrote admin.token")
	}
	if strings.Count(s.out.String(), "first admin token") != 0 {
		t.Error("restart claims a first start")
	}
	c = newAPIClient(t, s)
	if st, body := c.do("GET", "/v1/whoami", token, nil); st != 200 {
		t.Fatalf("admin token after restart: %d %s", st, body)
	}
}

func TestServerRefusesForeignDataDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	bin, _ := buildBinaries(t)
	out, err := runWithTimeout(bin, "server", "--data", dir, "--listen", "127.0.0.1:0", "--scan-on-start=false")
	if err == nil {
		t.Fatalf("server started on a foreign data dir:\n%s", out)
	}
	if !strings.Contains(out, "roster: error:") || !strings.Contains(out, "not empty") {
		t.Errorf("unclear error:\n%s", out)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "precious.txt")); string(data) != "keep me" {
		t.Error("foreign file changed")
	}
}

func runWithTimeout(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := execCommand(ctx, bin, args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestAPIAccessControlAndErrors(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--scan-on-start=false")
	admin := s.adminToken()
	c := newAPIClient(t, s)

	st, body := c.do("POST", "/v1/tokens", admin, []byte(`{"name":"ro","role":"viewer"}`))
	if st != 200 && st != 201 {
		t.Fatalf("create viewer token: %d %s", st, body)
	}
	var created struct{ Token string }
	json.Unmarshal(body, &created)
	if !strings.HasPrefix(created.Token, "rst_") {
		t.Fatalf("token %q lacks prefix", created.Token)
	}
	st, body = c.do("GET", "/v1/tokens?format=json", admin, nil)
	if st != 200 || bytes.Contains(body, []byte(created.Token)) || bytes.Contains(body, []byte("hash")) {
		t.Errorf("token list leaks secrets or failed: %d %s", st, body)
	}

	rep := mustJSON(t, testReport("web-1", time.Now().UTC(), "billing", "deploy"))
	if st, body := c.do("POST", "/v1/scans", created.Token, rep); st != http.StatusForbidden {
		t.Errorf("viewer scan submit: %d %s, want 403", st, body)
	}
	st, body = c.do("PUT", "/v1/accounts/billing/owner", created.Token, []byte(`{"name":"team-a"}`))
	if st != http.StatusForbidden || !strings.Contains(string(body), "role") {
		t.Errorf("viewer write: %d %s, want 403 naming the role", st, body)
	}
	if st, body := c.do("POST", "/v1/scans", admin, rep); st != 200 {
		t.Fatalf("submit scan: %d %s", st, body)
	}

	bad := []struct {
		desc, method, path, body string
		status                   int
		mention                  string
	}{
		{"malformed json scan", "POST", "/v1/scans", `{"schema_version":1,`, 400, ""},
		{"unknown schema version", "POST", "/v1/scans", `{"schema_version":99,"host":{"hostname":"x"}}`, 400, "schema_version"},
		{"bad credential type", "POST", "/v1/scans", `{"schema_version":1,"host":{"hostname":"x","scanned_at":"2026-01-01T00:00:00Z"},"accounts":[{"name":"a","kind":"service","credentials":[{"type":"nope","fingerprint":"x"}]}]}`, 400, "accounts[0].credentials[0].type"},
		{"owner unknown field", "PUT", "/v1/accounts/billing/owner", `{"nmae":"x"}`, 400, "nmae"},
		{"exception without owner", "POST", "/v1/exceptions", `{"account":"billing","reason":"legacy","expires":"` + time.Now().AddDate(0, 1, 0).Format("2006-01-02") + `"}`, 400, "owner"},
		{"exception without expiry", "POST", "/v1/exceptions", `{"account":"billing","reason":"legacy","owner":"ops"}`, 400, "expires"},
		{"exception too far", "POST", "/v1/exceptions", `{"account":"billing","reason":"legacy","owner":"ops","expires":"` + time.Now().AddDate(2, 0, 0).Format("2006-01-02") + `"}`, 400, "180"},
		{"unknown account", "PUT", "/v1/accounts/nobody/owner", `{"name":"x"}`, 404, ""},
	}
	for _, tc := range bad {
		st, body := c.do(tc.method, tc.path, admin, []byte(tc.body))
		if st != tc.status || !strings.Contains(string(body), tc.mention) || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s: %d %s, want %d mentioning %q", tc.desc, st, body, tc.status, tc.mention)
		}
	}
	// Nothing stored was lost by the refused requests.
	st, body = c.do("GET", "/v1/accounts?format=json", admin, nil)
	if st != 200 || !strings.Contains(string(body), "billing") || !strings.Contains(string(body), "deploy") {
		t.Errorf("accounts after bad requests: %d %s", st, body)
	}
	big := bytes.Repeat([]byte(" "), 9<<20)
	if st, _ := c.do("POST", "/v1/scans", admin, big); st != http.StatusRequestEntityTooLarge {
		t.Errorf("9 MiB scan: %d, want 413", st)
	}
}

// TestCrashDuringIngest kills the server with SIGKILL while clients stream
// scan reports, restarts it, and checks that every acknowledged report is
// there.
func TestCrashDuringIngest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, "--scan-on-start=false")
	admin := s.adminToken()
	c := newAPIClient(t, s)

	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				host := fmt.Sprintf("crash-%d-%d", w, i)
				body := mustJSON(t, testReport(host, time.Now().UTC(), "svc", "batch"))
				req, _ := http.NewRequest("POST", c.base+"/v1/scans", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+admin)
				resp, err := c.hc.Do(req)
				if err != nil {
					return // the server is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					acked[host] = true
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	s.kill()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no report was acknowledged before the kill")
	}
	s.restart()
	c = newAPIClient(t, s)
	st, body := c.do("GET", "/v1/hosts?format=json", admin, nil)
	if st != 200 {
		t.Fatalf("hosts after restart: %d %s", st, body)
	}
	for host := range acked {
		if !strings.Contains(string(body), `"`+host+`"`) {
			t.Errorf("acknowledged report of %s lost after kill -9", host)
		}
	}
	t.Logf("%d acknowledged reports survived kill -9", len(acked))
}

// TestServerKeyPassphrase encrypts the CA keys at init; a later start
// without the passphrase, or with another one, is a clear error that
// changes nothing.
func TestServerKeyPassphrase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	pass := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600)
	s := startServer(t, dir, "--scan-on-start=false", "--key-passphrase-file", pass)
	s.stop()
	keys, _ := filepath.Glob(filepath.Join(dir, "secrets", "*.key"))
	for _, k := range keys {
		if data, _ := os.ReadFile(k); bytes.Contains(data, []byte("BEGIN EC PRIVATE KEY")) || bytes.Contains(data, []byte("BEGIN PRIVATE KEY")) {
			if !strings.Contains(k, "server") {
				t.Errorf("%s is not encrypted", k)
			}
		}
	}
	bin, _ := buildBinaries(t)
	wrong := filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(wrong, []byte("tr0ub4dor&3\n"), 0o600)
	for _, args := range [][]string{{}, {"--key-passphrase-file", wrong}} {
		out, err := runWithTimeout(bin, append([]string{"server", "--data", dir, "--listen", "127.0.0.1:0", "--scan-on-start=false"}, args...)...)
		if err == nil || !strings.Contains(out, "roster: error:") || strings.Contains(out, "correct horse") {
			t.Errorf("start with %v: %v\n%s", args, err, out)
		}
	}
	s.restart()
	if st, _ := newAPIClient(t, s).do("GET", "/v1/whoami", s.adminToken(), nil); st != 200 {
		t.Errorf("after refused starts, the right passphrase no longer works: %d", st)
	}
}

package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/internal/pgtest"
	"github.com/rosterhq/roster/issuer/issuertest"
	"github.com/rosterhq/roster/store"
)

// TestReadyzDatabaseDown runs the server on a private PostgreSQL server
// with a password in its store URL, stops the database (fast shutdown) and
// starts it again on the same port: /healthz stays 200 throughout;
// /readyz and a write answer 503 with the one error body naming the
// database while it is down, and the password is in no answer and no log
// line; once it is back /readyz is 200, the token acknowledged before the
// outage is still there, a new write succeeds and /metrics counts the
// store's retries.
func TestReadyzDatabaseDown(t *testing.T) {
	const password = "hunter2-not-sent"
	pg := pgtest.Start(t, pgtest.Options{})
	_, url := pg.NewDatabase()
	url = strings.Replace(url, "postgres:///", "postgres://postgres:"+password+"@/", 1)
	logs := &issuertest.SyncBuffer{}
	g := startServerConfig(t, Config{Store: url, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	data := filepath.Join(pg.Dir, "data")

	expect := func(when, method, path, body string, status int, contains string) []byte {
		t.Helper()
		st, raw := g.do(t, method, path, body)
		if st != status || !strings.Contains(string(raw), contains) {
			t.Fatalf("%s: %s %s: %d %s, want %d with %q", when, method, path, st, raw, status, contains)
		}
		return raw
	}
	expect("database up", "GET", "/readyz", "", 200, `"ok"`)
	expect("database up", "POST", "/v1/tokens", `{"name":"before","role":"viewer"}`, 201, "before")

	pg.Run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
	expect("database down", "GET", "/healthz", "", 200, `"ok"`)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/readyz", ""},
		{"POST", "/v1/tokens", `{"name":"during","role":"viewer"}`},
		{"GET", "/v1/tokens", ""},
	} {
		start := time.Now()
		raw := expect("database down", c.method, c.path, c.body, http.StatusServiceUnavailable, "the database is unreachable")
		if d := time.Since(start); d > time.Minute { // bounded retries, not a speed target
			t.Errorf("%s %s took %v with the database down", c.method, c.path, d)
		}
		var e api.Error
		if err := json.Unmarshal(raw, &e); err != nil || e.Error == "" {
			t.Errorf("%s %s: not the error body: %s (%v)", c.method, c.path, raw, err)
		}
		if strings.Contains(string(raw), password) {
			t.Errorf("%s %s: the answer holds the store URL's password: %s", c.method, c.path, raw)
		}
	}
	if !strings.Contains(logs.String(), "request failed") {
		t.Errorf("the outage was not logged:\n%s", logs.String())
	}

	pg.Run("pg_ctl", "-D", data, "-l", filepath.Join(pg.Dir, "log"), "-w", "start")
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, raw := g.do(t, "GET", "/readyz", "")
		if st == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after the database returned: %d %s", st, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	expect("database back", "POST", "/v1/tokens", `{"name":"after","role":"viewer"}`, 201, "after")
	list := expect("database back", "GET", "/v1/tokens?format=json", "", 200, "before")
	for _, want := range []string{"before", "after"} {
		if !strings.Contains(string(list), fmt.Sprintf("%q", want)) {
			t.Errorf("token %s missing after the outage: %s", want, list)
		}
	}
	if strings.Contains(string(list), `"during"`) {
		t.Errorf("the write refused during the outage was kept: %s", list)
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("a log line holds the store URL's password")
	}
	// The store's own retries of the lost connections are counted.
	raw := expect("database back", "GET", "/metrics", "", 200, "roster_store_transaction_retries_total")
	if n := parseScrape(t, raw).value("roster_store_transaction_retries_total"); n < 1 {
		t.Errorf("roster_store_transaction_retries_total is %v after an outage", n)
	}
}

// TestRunOnStandby: a server pointed at a real streaming standby refuses to
// start, saying to use the primary, and creates nothing: no data directory,
// no schema.
func TestRunOnStandby(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	name, url := pg.NewDatabase()
	s, err := store.OpenPostgres(context.Background(), url, store.PostgresOptions{}) // the schema, on the primary
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	sb := pg.Standby()
	dir := filepath.Join(t.TempDir(), "data")
	err = Run(context.Background(), Config{DataDir: dir, Listen: "127.0.0.1:0", TrustDomain: "roster.local", Out: io.Discard,
		Store: sb.URL(name), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "read-only") || !strings.Contains(err.Error(), "primary") {
		t.Fatalf("Run on a standby: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the data directory was created: %v", err)
	}
}

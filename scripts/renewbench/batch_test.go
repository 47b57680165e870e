package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rosterhq/roster/agent"
	"github.com/rosterhq/roster/issuer/issuertest"
	"github.com/rosterhq/roster/server"
)

// rosterTarget runs the real roster server on 127.0.0.1 with hosts h0..
// each holding its host identity and size account identities, written as
// roster-agent writes them under the returned directory.
func rosterTarget(t *testing.T, hosts, size int) (url, dir string) {
	t.Helper()
	e := issuertest.New(t, true)
	s, err := server.New(server.Options{Inventory: e.Inv, Issuer: e.Iss, CA: e.CA, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := e.CA.ServerTLSConfig([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Listener = tls.NewListener(srv.Listener, cfg)
	srv.Start()
	t.Cleanup(srv.Close)
	dir = t.TempDir()
	for h := range hosts {
		host := fmt.Sprintf("h%d", h)
		var accounts []string
		for a := range size {
			accounts = append(accounts, fmt.Sprintf("h%da%d", h, a))
		}
		e.Ingest(host, accounts...)
		for _, a := range append([]string{""}, accounts...) {
			if a != "" {
				e.Owner(a, "team")
			}
			key, chain := e.Enroll(host, a)
			st, err := agent.OpenDir(filepath.Join(dir, host+"-"+cmpOr(a, "host")), "", true)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Save(t.Context(), &agent.Credential{Chain: chain, Key: key}); err != nil {
				t.Fatal(err)
			}
			if err := st.SaveRoot(e.CA.Root()); err != nil {
				t.Fatal(err)
			}
		}
	}
	return "https://" + srv.Listener.Addr().String(), dir
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestBatchMode: against the real server, batch mode renews every
// identity of each host in one request per batch over a new connection,
// side by side with one by one, and saves what it got.
func TestBatchMode(t *testing.T) {
	url, dir := rosterTarget(t, 2, 3)
	var out strings.Builder
	err := run([]string{"--target", "roster," + url + "," + dir, "--modes", "fresh,batch", "--batch", "3", "--clients", "2", "--n", "12", "--warmup", "1"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := out.String()
	b := rows(got, "roster", "batch/3")
	f := rows(got, "roster", "fresh")
	if len(b) != 1 || len(f) != 1 {
		t.Fatalf("rows: %q %q\n%s", b, f, got)
	}
	// 12 identities in batches of 3: 4 connections, every one a new certificate.
	if b[0][6] != "100" || b[0][7] != "4" {
		t.Errorf("batch row %q: want new 100%%, 4 connections", b[0])
	}
	if !strings.Contains(got, "batch:  each client is a host") || !strings.Contains(got, "saved the current certificates of 6 identities") {
		t.Errorf("output:\n%s", got)
	}
	// The directories hold what the server considers current: a second run renews them again.
	out.Reset()
	if err := run([]string{"--target", "roster," + url + "," + dir, "--modes", "batch", "--batch", "3", "--clients", "2", "--n", "6"}, &out); err != nil {
		t.Fatalf("second run: %v\n%s", err, out.String())
	}
	// Too few identities per host.
	if err := run([]string{"--target", "roster," + url + "," + dir, "--modes", "batch", "--batch", "4", "--clients", "2"}, &out); err == nil ||
		!strings.Contains(err.Error(), "needs 2 host identities with 4 identities") {
		t.Errorf("batch larger than a host: %v", err)
	}
}

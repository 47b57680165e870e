package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent"
	"github.com/rosterhq/roster/agent/agenttest"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args []string
		err  string // empty: accepted
	}{
		{[]string{"--target", "a,https://127.0.0.1:1,/ids"}, ""},
		{[]string{"--target", "a,https://127.0.0.1:1,/ids,42", "--target", "b,https://h,/x", "--repeat", "3"}, ""},
		{nil, "--target NAME,URL,IDS[,PID] is required"},
		{[]string{"--target", "a,https://h"}, "want NAME,URL,IDS[,PID]"},
		{[]string{"--target", "a,http://h,/ids"}, "is not an https:// URL"},
		{[]string{"--target", "a,https://h,/ids,pid"}, "is not a process id"},
		{[]string{"--target", "a,https://h,/ids", "--clients", "1,x"}, `--clients: "x"`},
		{[]string{"--target", "a,https://h,/ids", "--clients", "0"}, `--clients: "0"`},
		{[]string{"--target", "a,https://h,/ids", "--modes", "fresh,slow"}, `unknown mode "slow"`},
		{[]string{"--target", "a,https://h,/ids", "--n", "0"}, "--n and --repeat"},
		{[]string{"--target", "a,https://h,/ids", "extra"}, `unexpected argument "extra"`},
		{[]string{"--bogus"}, "flag provided but not defined"},
	}
	for _, tc := range tests {
		_, err := parseFlags(tc.args)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got %v, want an error containing %q", tc.args, err, tc.err)
		}
	}
}

// TestRun measures two targets, both the test CA over real HTTPS on
// 127.0.0.1, in both modes, with identities enrolled by the agent.
func TestRun(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	ids := t.TempDir()
	for i := range 2 {
		name := fmt.Sprintf("svc%d", i)
		o := agent.EnrollOptions{Server: ca.URL, RootFingerprint: ca.Fingerprint, Token: ca.Token("db1", name), Dir: filepath.Join(ids, name)}
		if _, err := agent.Enroll(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	target := ca.URL + "," + ids
	err := run([]string{"--target", "a," + target, "--target", "b," + target, "--clients", "1,2", "--n", "6", "--repeat", "2"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"renewals/s", "a          fresh", "b          keepalive", "median/2", "a/b fresh 2 clients:", "a/b keepalive 1 clients:"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// 2 modes x 2 client counts x 2 rounds x 2 targets x (6 + warm-up 2 per client).
	if n, want := ca.Calls("/1.0/renew"), 2*2*2*((6+2*1)+(6+2*2)); n != want {
		t.Errorf("%d renewals reached the server, want %d", n, want)
	}

	// More clients than identities, and a server that refuses: errors.
	if err := run([]string{"--target", "a," + target, "--clients", "3"}, &out); err == nil || !strings.Contains(err.Error(), "3 clients need 3 identities") {
		t.Errorf("too few identities: %v", err)
	}
	ca.SetDown(true)
	if err := run([]string{"--target", "a," + target, "--clients", "1", "--warmup", "0"}, &out); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("server down: %v", err)
	}
}

// TestNullRenew: the null server answers with the client's own chain in
// the shape the agent decodes, and refuses a request without a certificate.
func TestNullRenew(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	dir := filepath.Join(t.TempDir(), "svc")
	o := agent.EnrollOptions{Server: ca.URL, RootFingerprint: ca.Fingerprint, Token: ca.Token("db1", "svc"), Dir: dir}
	if _, err := agent.Enroll(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	st, _ := agent.OpenDir(dir, "", false)
	cred, err := st.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/1.0/renew", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: cred.Chain}
	w := httptest.NewRecorder()
	nullRenew(w, r)
	got, err := agent.DecodeSignResponse(w.Body.Bytes())
	if w.Code != http.StatusCreated || err != nil || len(got) != len(cred.Chain) || !got[0].Equal(cred.Leaf()) {
		t.Errorf("null renewal: %d, %v, %d certificates", w.Code, err, len(got))
	}
	w = httptest.NewRecorder()
	nullRenew(w, httptest.NewRequest("POST", "/1.0/renew", nil))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("without a client certificate: %d", w.Code)
	}
	for _, args := range [][]string{{"--cert", "x"}, {"--listen"}, {"--cert", "/nonexistent", "--key", "/nonexistent"}} {
		if err := serveNull(args, io.Discard); err == nil {
			t.Errorf("serve-null %q: no error", args)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// request is one request the CLI sent to fakeAPI.
type request struct {
	Method, Path, Query string
	Body                map[string]any
}

// fakeAPI is an HTTPS server standing in for roster's API: it records what
// the CLI sends and answers with reply (200 {"status":"ok"} by default).
// The operator commands are thin, so what they send and print is what
// these tests check; the end-to-end tests run the real server.
type fakeAPI struct {
	mu    sync.Mutex
	reqs  []request
	reply func(r request) (int, any)
}

// startFakeAPI starts a fakeAPI and points the CLI's environment at it.
func startFakeAPI(t *testing.T, reply func(r request) (int, any)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{reply: reply}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		req := request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
		if len(data) > 0 {
			if err := json.Unmarshal(data, &req.Body); err != nil {
				t.Errorf("%s %s: body is not a JSON object: %s", r.Method, r.URL.Path, data)
			}
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		code, body := http.StatusOK, any(map[string]string{"status": "ok"})
		if f.reply != nil {
			code, body = f.reply(req)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	root := filepath.Join(dir, "root.crt")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(root, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ROSTER_SERVER", srv.URL)
	t.Setenv("ROSTER_CA_ROOT", root)
	t.Setenv("ROSTER_TOKEN", "rst_test")
	t.Setenv("XDG_CONFIG_HOME", dir)
	return f
}

// requests returns what the CLI sent so far and forgets it.
func (f *fakeAPI) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}

// runCLI runs the roster CLI in process, as main does, and returns stdout
// and the error main would print.
func runCLI(args ...string) (string, error) {
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, io.Discard
	err := app.Run(interspersed(app, append([]string{"roster"}, args...)))
	return out.String(), err
}

// opCase is one operator command: what it must send (nothing when send is
// nil), print, or refuse.
type opCase struct {
	desc  string
	args  []string
	send  *request
	reply any    // the server's 200 answer (default {"status":"ok"})
	out   string // a substring of stdout
	err   string // a substring of the error ("" for success)
	hint  string // a substring of the error's hint
}

func runOpCases(t *testing.T, cases []opCase) {
	t.Helper()
	var reply any
	f := startFakeAPI(t, func(request) (int, any) {
		if reply != nil {
			return http.StatusOK, reply
		}
		return http.StatusOK, map[string]string{"status": "ok"}
	})
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			reply = tc.reply
			out, err := runCLI(tc.args...)
			sent := f.requests()
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("roster %s: %v", strings.Join(tc.args, " "), err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("roster %s: error %v, want one saying %q", strings.Join(tc.args, " "), err, tc.err)
			case tc.hint != "" && !strings.Contains(hintOf(err), tc.hint):
				t.Errorf("hint %q, want one saying %q", hintOf(err), tc.hint)
			}
			if !strings.Contains(out, tc.out) {
				t.Errorf("stdout %q lacks %q", out, tc.out)
			}
			if tc.send == nil {
				if len(sent) != 0 {
					t.Errorf("sent %+v, want nothing", sent)
				}
				return
			}
			if len(sent) != 1 {
				t.Fatalf("sent %+v, want one %s %s", sent, tc.send.Method, tc.send.Path)
			}
			g, _ := json.Marshal(sent[0])
			w, _ := json.Marshal(tc.send)
			if string(g) != string(w) {
				t.Errorf("sent\n %s\nwant\n %s", g, w)
			}
		})
	}
}

func hintOf(err error) string {
	var h interface{ Hint() string }
	if !errors.As(err, &h) {
		return ""
	}
	return h.Hint()
}

func TestOpsAccountSplit(t *testing.T) {
	runOpCases(t, []opCase{
		{desc: "separate confirms without moving",
			args:  []string{"account", "split", "billing-batch@staging", "--separate"},
			send:  &request{Method: "POST", Path: "/v1/accounts/billing-batch@staging/split", Body: map[string]any{"separate": true}},
			reply: map[string]string{"name": "billing-batch@staging"},
			out:   "billing-batch@staging confirmed as an identity of its own"},
		{desc: "host and env name the new account",
			args:  []string{"account", "split", "web", "--host", "p2", "--env", "legacy"},
			send:  &request{Method: "POST", Path: "/v1/accounts/web/split", Body: map[string]any{"host": "p2", "env": "legacy"}},
			reply: map[string]string{"name": "web@legacy"},
			out:   "instance of web on p2 is now service account web@legacy"},
		{desc: "env defaults on the server",
			args: []string{"account", "split", "web", "--host", "p2"},
			send: &request{Method: "POST", Path: "/v1/accounts/web/split", Body: map[string]any{"host": "p2"}}},
		{desc: "--as is gone: it set the group, not the name",
			args: []string{"account", "split", "web", "--host", "p2", "--as", "legacy"},
			err:  "flag provided but not defined: -as"},
		{desc: "neither host nor separate",
			args: []string{"account", "split", "web"},
			err:  "needs --host HOST", hint: "roster account split --help"},
		{desc: "separate with a host",
			args: []string{"account", "split", "web", "--separate", "--host", "p2"},
			err:  "takes no --host or --env"},
	})
}

func TestOpsEnroll(t *testing.T) {
	runOpCases(t, []opCase{
		{desc: "NAME@ENV goes to the server as given",
			args: []string{"enroll", "billing-batch@staging", "--host", "s1"},
			send: &request{Method: "POST", Path: "/v1/enrollments", Body: map[string]any{"account": "billing-batch@staging", "host": "s1"}},
			reply: map[string]string{"identity": "spiffe://roster.local/host/s1/sa/billing-batch", "token": "ret_x",
				"command": "roster-agent enroll --token ret_x --dir /var/lib/roster-agent/billing-batch --user billing-batch"},
			out: "identity:         spiffe://roster.local/host/s1/sa/billing-batch"},
	})
}

func TestOpsHostTagRegrouping(t *testing.T) {
	runOpCases(t, []opCase{
		{desc: "an account that moved as a whole",
			args: []string{"hosts", "tag", "db-billing-01", "env=prod"},
			send: &request{Method: "POST", Path: "/v1/hosts/db-billing-01/tags", Body: map[string]any{"add": []any{"env=prod"}, "remove": nil}},
			reply: map[string]any{"status": "ok", "moved": []map[string]string{
				{"from": "svc-report@default", "to": "svc-report@prod", "carried": "owner team-r, 1 exception(s)"}}},
			out: "db-billing-01 tagged [env=prod]\nservice account svc-report@default is now svc-report@prod, with its owner team-r, 1 exception(s)\n"},
		{desc: "a new account that needs an owner",
			args: []string{"hosts", "tag", "h1", "env=prod"},
			send: &request{Method: "POST", Path: "/v1/hosts/h1/tags", Body: map[string]any{"add": []any{"env=prod"}, "remove": nil}},
			reply: map[string]any{"status": "ok", "need_owner": []map[string]string{
				{"account": "svc-report@prod", "sibling": "svc-report@default", "sibling_owner": "team-r"}}},
			out: "new service account svc-report@prod needs an owner (svc-report@default is owned by team-r): roster owner set svc-report@prod OWNER\n"},
		{desc: "account tags answer with the status only",
			args: []string{"account", "tag", "svc-report", "critical"},
			send: &request{Method: "POST", Path: "/v1/accounts/svc-report/tags", Body: map[string]any{"add": []any{"critical"}, "remove": nil}},
			out:  "svc-report tagged [critical]\n"},
	})
}

func TestOpsUnretire(t *testing.T) {
	runOpCases(t, []opCase{
		{desc: "with a reason",
			args: []string{"account", "unretire", "billing-batch@prod", "--reason", "back in use"},
			send: &request{Method: "POST", Path: "/v1/accounts/billing-batch@prod/unretire", Body: map[string]any{"reason": "back in use"}},
			out:  "billing-batch@prod is no longer retired"},
		{desc: "without one",
			args: []string{"account", "unretire", "billing-batch"},
			send: &request{Method: "POST", Path: "/v1/accounts/billing-batch/unretire", Body: map[string]any{"reason": ""}}},
	})
}

func TestOpsExceptionClose(t *testing.T) {
	runOpCases(t, []opCase{
		{desc: "with a reason",
			args: []string{"exception", "close", "exc-3", "--reason", "password removed"},
			send: &request{Method: "DELETE", Path: "/v1/exceptions/exc-3", Query: "reason=password+removed"},
			out:  "exception exc-3 closed"},
		{desc: "without one",
			args: []string{"exception", "close", "exc-3"},
			send: &request{Method: "DELETE", Path: "/v1/exceptions/exc-3"}},
	})
}

package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/notify"
	"github.com/rosterhq/roster/scan"
)

// hookReceiver is a webhook on 127.0.0.1 that checks every post's
// signature and keeps the notices.
type hookReceiver struct {
	t      *testing.T
	secret []byte
	now    func() time.Time
	url    string
	mu     sync.Mutex
	got    []api.Notice
	ids    []string // X-Roster-Event-Id of each post
}

func newHookReceiver(t *testing.T, secret []byte, now func() time.Time) *hookReceiver {
	h := &hookReceiver{t: t, secret: secret, now: now}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			t.Errorf("receiver: %v", err)
			return
		}
		if err := notify.Verify(secret, r.Header.Get(notify.SignatureHeader), body, now(), 0); err != nil {
			t.Errorf("receiver: signature of %s: %v", body, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var n api.Notice
		if err := json.Unmarshal(body, &n); err != nil || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Roster-Event-Id") != n.ID {
			t.Errorf("receiver: body %s, headers %v: %v", body, r.Header, err)
		}
		h.mu.Lock()
		h.got = append(h.got, n)
		h.ids = append(h.ids, r.Header.Get("X-Roster-Event-Id"))
		h.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/roster"
	return h
}

// wait returns the notices received once pred holds of them (10 s at most).
func (h *hookReceiver) wait(what string, pred func([]api.Notice) bool) []api.Notice {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		got := append([]api.Notice(nil), h.got...)
		h.mu.Unlock()
		if pred(got) {
			return got
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("receiver: no %s in %d notices: %+v", what, len(got), got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countID(ns []api.Notice, id string) int {
	n := 0
	for _, x := range ns {
		if x.ID == id {
			n++
		}
	}
	return n
}

// newNotifyEnv is the server env with a webhook to a new receiver, the
// delivery worker and the notice loop running.
func newNotifyEnv(t *testing.T) (*env, *hookReceiver) {
	t.Helper()
	secret := []byte("test-webhook-secret")
	var rc *hookReceiver
	e := newEnvOpts(t, true, nil, func(o *Options) {
		rc = newHookReceiver(t, secret, time.Now)
		ob, err := notify.New(notify.Config{Store: o.Inventory.Store(), URLs: []string{rc.url}, Secret: secret,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		o.Notify = ob
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { e.s.notify.Run(ctx); done <- struct{}{} }()
	go func() { e.s.noticeLoop(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	return e, rc
}

func operatorToken(t *testing.T, e *env) string {
	t.Helper()
	plain, _, err := access.New(e.inv.Store(), nil).Create(audit.WithActor(context.Background(), "test"), "ops", access.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

func (e *env) callAs(token, method, path, body string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client(nil, nil, false).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestNotifyScanAndTest: a scan that finds an ownerless privileged account
// queues its notice at once (no sweep), delivered signed to a real
// receiver; POST /v1/notify/test queues a test notice, audited.
func TestNotifyScanAndTest(t *testing.T) {
	e, rc := newNotifyEnv(t)
	tok := operatorToken(t, e)
	root := inventorytest.Account("deploy", 0, inventorytest.Cred(scan.CredSSHAuthorizedKey, "/root/.ssh/authorized_keys:1", "key"))
	root.Privileged, root.PrivilegeReasons = true, []string{"uid 0"}
	rep := inventorytest.NewReport("db1", "mid-db1", e.clock.Now().UTC(), root)
	if code, body := e.callAs(tok, "POST", "/v1/scans", mustJSONString(t, rep)); code != http.StatusOK {
		t.Fatalf("scan: %d %s", code, body)
	}
	const id = "account-ownerless-privileged/deploy@default"
	got := rc.wait("ownerless notice", func(ns []api.Notice) bool { return countID(ns, id) > 0 })
	for _, n := range got {
		if n.ID != id {
			continue
		}
		if n.Kind != "account.ownerless_privileged" || n.Owner != nil || n.Tier != 1 || n.Account != "deploy@default" ||
			!strings.Contains(n.Action, "roster owner set deploy@default OWNER") {
			t.Errorf("ownerless notice: %+v", n)
		}
	}

	code, body := e.callAs(tok, "POST", "/v1/notify/test", "")
	if code != http.StatusCreated {
		t.Fatalf("notify test: %d %s", code, body)
	}
	var tr api.NotifyTestResponse
	if err := json.Unmarshal(body, &tr); err != nil || !strings.HasPrefix(tr.ID, "test/") || tr.Webhooks != 1 {
		t.Fatalf("notify test response %s: %v", body, err)
	}
	got = rc.wait("test notice", func(ns []api.Notice) bool { return countID(ns, tr.ID) > 0 })
	if countID(got, tr.ID) != 1 || countID(got, id) != 1 {
		t.Errorf("notices: %+v", got)
	}
	if a := e.audits(); !strings.Contains(a, "notify.test") {
		t.Errorf("audit has no notify.test:\n%s", a)
	}
	// A second test is a notice of its own.
	_, body2 := e.callAs(tok, "POST", "/v1/notify/test", "")
	var tr2 api.NotifyTestResponse
	if err := json.Unmarshal(body2, &tr2); err != nil || tr2.ID == tr.ID {
		t.Errorf("second test notice %s, first %s: %v", body2, tr.ID, err)
	}
	rc.wait("second test notice", func(ns []api.Notice) bool { return countID(ns, tr2.ID) == 1 })
	// Delivered: nothing left in the outbox (once the worker has recorded
	// the receiver's answer).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, body := e.callAs(tok, "GET", "/v1/notify/outbox?format=json", "")
		if code == 200 && strings.TrimSpace(string(body)) == "[]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox: %d %s", code, body)
		}
	}
}

// TestNotifyExpiringOnce: sweeps as the clock moves towards an
// exception's expiry queue each threshold's notice once, however many
// sweeps run.
func TestNotifyExpiringOnce(t *testing.T) {
	e, rc := newNotifyEnv(t)
	ctx := context.Background()
	exc, err := e.inv.AddException(audit.WithActor(ctx, "test"), inventory.Exception{Account: "billing-batch", Reason: "vendor tool", Owner: "team-billing",
		Expires: e.clock.Now().Add(10 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	date := exc.Expires.Format(time.DateOnly)
	id14 := "exception-expiring-14d/" + exc.ID + "/" + date
	id7 := "exception-expiring-7d/" + exc.ID + "/" + date
	for range 3 {
		e.s.Sweep(ctx)
	}
	rc.wait("14-day notice", func(ns []api.Notice) bool { return countID(ns, id14) == 1 })
	e.clock.Advance(4 * 24 * time.Hour) // 6 days left
	for range 3 {
		e.s.Sweep(ctx)
		e.clock.Advance(time.Hour)
	}
	rc.wait("7-day notice", func(ns []api.Notice) bool { return countID(ns, id7) == 1 })
	for range 2 {
		e.s.Sweep(ctx)
	}
	time.Sleep(200 * time.Millisecond)
	rc.mu.Lock()
	got := append([]api.Notice(nil), rc.got...)
	rc.mu.Unlock()
	if countID(got, id14) != 1 || countID(got, id7) != 1 {
		t.Errorf("notices after many sweeps: %+v", got)
	}
	for _, n := range got {
		if n.ID == id7 && (n.Kind != "exception.expiring" || n.Owner == nil || n.Owner.Name != "team-billing" || n.Details["exception_id"] != exc.ID || n.Details["within_days"] != "7") {
			t.Errorf("7-day notice: %+v", n)
		}
	}
}

// TestNotifyTestWithoutWebhook: the refusal names the flag.
func TestNotifyTestWithoutWebhook(t *testing.T) {
	e := newEnv(t, true)
	code, body := e.callAs(operatorToken(t, e), "POST", "/v1/notify/test", "")
	if er := errBody(t, body); code != http.StatusConflict || !strings.Contains(er.Hint, "roster server --notify-url URL") {
		t.Errorf("without webhook: %d %s", code, body)
	}
}

// TestConvertNotice: every field of an inventory.Notice reaches the wire
// under the same name and encoding (as TestConvertKeepsEveryField).
func TestConvertNotice(t *testing.T) {
	for _, n := range []inventory.Notice{filled[inventory.Notice](), {ID: "x"}} {
		w, _ := json.Marshal(n)
		g, _ := json.Marshal(apiNotice(n))
		if string(w) != string(g) {
			t.Errorf("Notice:\n inventory %s\n       api %s", w, g)
		}
	}
}

package notify

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/store"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "n.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// receiver is a webhook on 127.0.0.1 that answers status (200 unless set)
// and keeps what it received, checking each signature with secret.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret []byte
	now    func() time.Time
	mu     sync.Mutex
	status int
	got    []received
}

type received struct {
	eventID, deliveryID, kind, contentType string
	body                                   []byte
	sigErr                                 error
}

func newReceiver(t *testing.T, secret []byte, now func() time.Time) *receiver {
	r := &receiver{t: t, secret: secret, now: now, status: http.StatusOK}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rc := received{eventID: req.Header.Get("X-Roster-Event-Id"), deliveryID: req.Header.Get("X-Roster-Delivery-Id"),
			kind: req.Header.Get("X-Roster-Event-Kind"), contentType: req.Header.Get("Content-Type"), body: body}
		if secret != nil {
			rc.sigErr = Verify(secret, req.Header.Get(SignatureHeader), body, now(), 0)
		}
		r.mu.Lock()
		r.got = append(r.got, rc)
		st := r.status
		r.mu.Unlock()
		w.WriteHeader(st)
		io.WriteString(w, strings.Repeat("x", 1<<20)) // a large answer: read 64 KiB at most
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setStatus(s int) { r.mu.Lock(); r.status = s; r.mu.Unlock() }
func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func newOutbox(t *testing.T, st store.Store, clk *clock, secret []byte, urls ...string) *Outbox {
	t.Helper()
	o, err := New(Config{Store: st, URLs: urls, Secret: secret, Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func enqueue(t *testing.T, st store.Store, o *Outbox, n api.Notice) (bool, error) {
	t.Helper()
	var queued bool
	err := st.Update(context.Background(), func(tx store.Tx) error {
		var err error
		queued, err = o.Enqueue(tx, n)
		return err
	})
	return queued, err
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt  int
		r        float64
		min, max time.Duration
	}{
		{1, 0, 2 * time.Second, 2 * time.Second},
		{1, 0.999, time.Second, 2 * time.Second},
		{2, 0, 4 * time.Second, 4 * time.Second},
		{5, 0.5, 24 * time.Second, 24 * time.Second},
		{12, 0, time.Hour, time.Hour},
		{40, 0.999, 30 * time.Minute, time.Hour},
		{1000, 0, time.Hour, time.Hour},
	} {
		got := Backoff(tc.attempt, DefaultBaseDelay, DefaultMaxDelay, tc.r)
		if got < tc.min || got > tc.max {
			t.Errorf("Backoff(%d, r=%v) = %s, want within [%s, %s]", tc.attempt, tc.r, got, tc.min, tc.max)
		}
	}
	// The default schedule gives up within a day: MaxAttempts attempts
	// with the longest delays take more than MaxAge, so MaxAge ends it.
	var total time.Duration
	for a := 1; a < DefaultMaxAttempts; a++ {
		total += Backoff(a, DefaultBaseDelay, DefaultMaxDelay, 0)
	}
	if total < 12*time.Hour || total > 2*DefaultMaxAge {
		t.Errorf("full schedule %s, want between 12 h and 48 h", total)
	}
}

func TestSignVerify(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"id":"x"}`)
	h := Sign(secret, t0, body)
	if !strings.HasPrefix(h, "t=1772366400,v1=") || len(h) != len("t=1772366400,v1=")+64 {
		t.Fatalf("Sign = %q", h)
	}
	for _, tc := range []struct {
		desc   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		ok     bool
	}{
		{"valid", secret, h, body, t0, true},
		{"valid, 4 minutes later", secret, h, body, t0.Add(4 * time.Minute), true},
		{"a rotated secret beside it", secret, h + ",v1=" + strings.Repeat("0", 64), body, t0, true},
		{"replayed 6 minutes later", secret, h, body, t0.Add(6 * time.Minute), false},
		{"from the future", secret, h, body, t0.Add(-6 * time.Minute), false},
		{"another secret", []byte("other"), h, body, t0, false},
		{"body changed", secret, h, []byte(`{"id":"y"}`), t0, false},
		{"timestamp changed", secret, strings.Replace(h, "t=1772366400", "t=1772366401", 1), body, t0, false},
		{"no signature", secret, "t=1772366400", body, t0, false},
		{"garbage", secret, "nonsense", body, t0, false},
		{"empty", secret, "", body, t0, false},
	} {
		err := Verify(tc.secret, tc.header, tc.body, tc.now, 0)
		if (err == nil) != tc.ok {
			t.Errorf("%s: Verify = %v, want ok %v", tc.desc, err, tc.ok)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(Sign([]byte("k"), t0, []byte("{}")), []byte("{}"))
	f.Add("t=,v1=", []byte(""))
	f.Add("t=99999999999999999999,v1=zz,v1=00", []byte("x"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		_ = Verify([]byte("k"), header, body, t0, 0)
	})
}

func TestValidateURL(t *testing.T) {
	for _, tc := range []struct {
		url, err string
	}{
		{"https://hooks.example.com/roster", ""},
		{"http://127.0.0.1:9000/", ""},
		{"ftp://example.com/", "want an http:// or https:// URL"},
		{"example.com/hook", "want an http:// or https:// URL"},
		{"https:///path", "no host"},
		{"https://example.com/#frag", "fragment"},
		{"https://exa mple.com/", "invalid character"},
	} {
		err := ValidateURL(tc.url)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ValidateURL(%q) = %v, want %q", tc.url, err, tc.err)
		}
	}
	if got := Redact("https://hooks.example.com/services/T000/B000/XXXXSECRET?x=1"); got != "https://hooks.example.com/…" {
		t.Errorf("Redact = %q", got)
	}
	if err := ValidateURL("https://user:pw@exa mple.com/secret-path"); err == nil || strings.Contains(err.Error(), "secret-path") || strings.Contains(err.Error(), "pw") {
		t.Errorf("ValidateURL of a bad URL: %v (must not show its path or user info)", err)
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if b, err := ReadSecretFile(write("ok", "hunter2-long-secret\n", 0o600)); err != nil || string(b) != "hunter2-long-secret" {
		t.Errorf("ok: %q, %v", b, err)
	}
	for _, tc := range []struct {
		desc, path, err string
	}{
		{"world-readable", write("world", "hunter2-long-secret\n", 0o644), "readable by every user (mode 0644): chmod o-r"},
		{"empty", write("empty", "\n", 0o600), "is empty"},
		{"too large", write("large", strings.Repeat("a", 5000), 0o600), "larger than"},
		{"missing", filepath.Join(dir, "none"), "no such file"},
		{"a directory", dir, "not a regular file"},
	} {
		_, err := ReadSecretFile(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: %v, want %q", tc.desc, err, tc.err)
		}
	}
}

// TestEnqueueDedup: an ID is queued once, to each webhook once, whatever
// the number of calls; a full outbox records nothing.
func TestEnqueueDedup(t *testing.T) {
	st, clk := openStore(t), &clock{t: t0}
	o := newOutbox(t, st, clk, nil, "http://127.0.0.1:1/a", "http://127.0.0.1:1/b", "http://127.0.0.1:1/a")
	n := api.Notice{ID: "exception-expiring-7d/exc-1/2026-03-08", Kind: "exception.expiring", Time: t0, Summary: "s"}
	for i := range 3 {
		queued, err := enqueue(t, st, o, n)
		if err != nil || queued != (i == 0) {
			t.Errorf("enqueue #%d: queued %v, %v", i, queued, err)
		}
	}
	list, err := o.List(context.Background())
	if err != nil || len(list) != 2 || list[0].EventID != n.ID || list[0].ID == list[1].ID || list[0].URL != "http://127.0.0.1:1/…" {
		t.Fatalf("outbox: %+v, %v", list, err)
	}
	small, err := New(Config{Store: openStore(t), URLs: []string{"http://127.0.0.1:1/"}, MaxOutbox: 2, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"", "", "outbox full"} {
		_, err := enqueue(t, small.cfg.Store, small, api.Notice{ID: "n" + string(rune('0'+i)), Kind: "test"})
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("enqueue %d in a small outbox: %v, want %q", i, err, want)
		}
	}
	// A refused notice is not recorded as seen: queued once there is room.
	if err := small.cfg.Store.Update(context.Background(), func(tx store.Tx) error {
		return removeDelivery(tx, deliveryID("n0", "http://127.0.0.1:1/"))
	}); err != nil {
		t.Fatal(err)
	}
	if queued, err := enqueue(t, small.cfg.Store, small, api.Notice{ID: "n2", Kind: "test"}); !queued || err != nil {
		t.Errorf("after room was made: queued %v, %v", queued, err)
	}
	// No webhook: nothing queued, nothing recorded.
	none := newOutbox(t, openStore(t), clk, nil)
	if queued, err := enqueue(t, none.cfg.Store, none, n); queued || err != nil {
		t.Errorf("no webhook: queued %v, %v", queued, err)
	}
}

// TestDeliverRetry: a receiver that fails gets the notice again after the
// backoff, the same event and delivery ID, signed; on 2xx the delivery
// leaves the outbox; a receiver failing for good ends failed.
func TestDeliverRetry(t *testing.T) {
	st, clk := openStore(t), &clock{t: t0}
	secret := []byte("webhook-secret")
	rc := newReceiver(t, secret, clk.Now)
	rc.setStatus(http.StatusServiceUnavailable)
	o := newOutbox(t, st, clk, secret, rc.srv.URL+"/hook")
	n := api.Notice{ID: "test/1", Kind: "test", Time: t0, Summary: "a test notice"}
	if _, err := enqueue(t, st, o, n); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	next, err := o.DeliverDue(ctx)
	if err != nil || next.Before(t0.Add(time.Second)) || next.After(t0.Add(2*time.Second)) {
		t.Fatalf("after a 503: next %s, %v", next, err)
	}
	list, _ := o.List(ctx)
	if len(list) != 1 || list[0].Attempts != 1 || list[0].LastError != "HTTP 503" || list[0].State != "pending" {
		t.Fatalf("outbox after a 503: %+v", list)
	}
	// Not due yet: nothing posted.
	if _, err := o.DeliverDue(ctx); err != nil || len(rc.received()) != 1 {
		t.Fatalf("before the backoff: %d posts, %v", len(rc.received()), err)
	}
	clk.Advance(2 * time.Second)
	rc.setStatus(http.StatusNoContent)
	if next, err := o.DeliverDue(ctx); err != nil || !next.IsZero() {
		t.Fatalf("second pass: next %s, %v", next, err)
	}
	got := rc.received()
	if len(got) != 2 {
		t.Fatalf("%d posts, want 2", len(got))
	}
	for _, g := range got {
		var body api.Notice
		if err := json.Unmarshal(g.body, &body); err != nil || body.ID != n.ID || g.eventID != n.ID || g.kind != "test" ||
			g.contentType != "application/json" || g.deliveryID != got[0].deliveryID || g.sigErr != nil {
			t.Errorf("post: %+v (body %s, %v)", g, g.body, err)
		}
	}
	if list, _ := o.List(ctx); len(list) != 0 {
		t.Errorf("outbox after delivery: %+v", list)
	}

	// A receiver that never accepts: failed after MaxAttempts.
	o2, err := New(Config{Store: st, URLs: []string{rc.srv.URL + "/hook"}, Now: clk.Now, MaxAttempts: 3, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rc.setStatus(http.StatusFound)
	if _, err := enqueue(t, st, o2, api.Notice{ID: "test/2", Kind: "test"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := o2.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
	}
	list, _ = o2.List(ctx)
	if len(list) != 1 || list[0].State != "failed" || list[0].Attempts != 3 || !strings.Contains(list[0].LastError, "HTTP 302: redirects are not followed") {
		t.Errorf("after 3 redirects: %+v", list)
	}
	// A week later it is dropped.
	clk.Advance(8 * 24 * time.Hour)
	if _, err := o2.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if list, _ = o2.List(ctx); len(list) != 0 {
		t.Errorf("a week later: %+v", list)
	}
	if err := st.View(ctx, func(tx store.Tx) error {
		n, err := outboxCount(tx)
		if n != 0 {
			t.Errorf("outbox count %d, want 0", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestDeliverUnconfigured: a delivery to a URL no longer configured fails
// at once.
func TestDeliverUnconfigured(t *testing.T) {
	st, clk := openStore(t), &clock{t: t0}
	old := newOutbox(t, st, clk, nil, "http://127.0.0.1:1/old")
	if _, err := enqueue(t, st, old, api.Notice{ID: "x", Kind: "test"}); err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, nil, clk.Now)
	o := newOutbox(t, st, clk, nil, rc.srv.URL)
	if _, err := o.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	list, _ := o.List(context.Background())
	if len(list) != 1 || list[0].State != "failed" || !strings.Contains(list[0].LastError, "no longer configured") || len(rc.received()) != 0 {
		t.Errorf("outbox: %+v, %d posts", list, len(rc.received()))
	}
}

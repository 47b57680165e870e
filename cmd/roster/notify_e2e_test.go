package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/notify"
)

// webhook is a receiver on 127.0.0.1 that refuses (503) until accept is
// set, and keeps every post it gets.
type webhook struct {
	srv    *httptest.Server
	secret []byte
	mu     sync.Mutex
	accept bool
	posts  []webhookPost
}

type webhookPost struct {
	eventID, deliveryID string
	notice              api.Notice
	sigErr              error
	accepted            bool
}

func newWebhook(t *testing.T, secret []byte) *webhook {
	w := &webhook{secret: secret}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		p := webhookPost{eventID: r.Header.Get("X-Roster-Event-Id"), deliveryID: r.Header.Get("X-Roster-Delivery-Id"),
			sigErr: notify.Verify(secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), 0)}
		if err := json.Unmarshal(body, &p.notice); err != nil {
			t.Errorf("webhook body %q: %v", body, err)
		}
		w.mu.Lock()
		p.accepted = w.accept && p.sigErr == nil
		w.posts = append(w.posts, p)
		w.mu.Unlock()
		if !p.accepted {
			rw.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rw.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) setAccept(v bool) { w.mu.Lock(); w.accept = v; w.mu.Unlock() }

// waitFor returns the posts once pred holds of them, within d.
func (w *webhook) waitFor(t *testing.T, what string, d time.Duration, pred func([]webhookPost) bool) []webhookPost {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		w.mu.Lock()
		posts := append([]webhookPost(nil), w.posts...)
		w.mu.Unlock()
		if pred(posts) {
			return posts
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook: no %s within %s; posts: %+v", what, d, posts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNotifySurvivesKill9: a test notice queued while the webhook refuses
// is delivered after roster is killed with SIGKILL and started again on the
// same data directory: one event ID (the one `roster notify test`
// printed), signed, one delivery ID however many attempts.
func TestNotifySurvivesKill9(t *testing.T) {
	tmp := t.TempDir()
	secret := []byte("e2e-webhook-secret-0123456789")
	secretFile := filepath.Join(tmp, "webhook.secret")
	if err := os.WriteFile(secretFile, append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	wh := newWebhook(t, secret)
	s := startServer(t, filepath.Join(tmp, "data"), "--scan-on-start=false",
		"--notify-url", wh.srv.URL+"/roster", "--notify-secret-file", secretFile)
	admin := s.adminToken()

	id := strings.TrimSpace(s.mustCLI(admin, "notify", "test"))
	if !strings.HasPrefix(id, "test/") {
		t.Fatalf("roster notify test printed %q, want a test/ id", id)
	}
	// The first attempt was refused: the notice stays queued.
	wh.waitFor(t, "refused attempt", 30*time.Second, func(ps []webhookPost) bool { return len(ps) > 0 })
	// The server records the refusal just after the receiver answers.
	waitStatus := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			out := s.mustCLI(admin, "notify", "status")
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(out, w)
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("notify status lacks %q:\n%s", want, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitStatus(id, "pending", "HTTP 503")

	s.kill()
	wh.setAccept(true)
	s.restart()

	posts := wh.waitFor(t, "accepted delivery", 60*time.Second, func(ps []webhookPost) bool {
		for _, p := range ps {
			if p.accepted {
				return true
			}
		}
		return false
	})
	deliveryID := posts[0].deliveryID
	for _, p := range posts {
		if p.eventID != id || p.notice.ID != id || p.notice.Kind != "test" {
			t.Errorf("post of event %q (body id %q, kind %q), want only %q", p.eventID, p.notice.ID, p.notice.Kind, id)
		}
		if p.sigErr != nil {
			t.Errorf("post %s: signature: %v", p.deliveryID, p.sigErr)
		}
		if p.deliveryID != deliveryID || !strings.HasPrefix(deliveryID, "d-") {
			t.Errorf("delivery IDs %q and %q for one event and webhook", deliveryID, p.deliveryID)
		}
	}
	// Delivered: the outbox is empty.
	waitStatus("0 deliveries waiting or failed; 1 webhook configured")
	if a := s.mustCLI(admin, "audit", "export"); !strings.Contains(a, `"notify.test"`) || !strings.Contains(a, id) {
		t.Errorf("audit lacks the test request:\n%s", a)
	}
}

// TestNotifyFlagsRefused: a bad --notify-url or a secret file others may
// read stops the server at start, naming the flag.
func TestNotifyFlagsRefused(t *testing.T) {
	bin, _ := buildBinaries(t)
	tmp := t.TempDir()
	world := filepath.Join(tmp, "world.secret")
	if err := os.WriteFile(world, []byte("s3cret-value\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(world, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(tmp, "empty.secret")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--notify-url", "ftp://hooks.example.com/x"}, `--notify-url: webhook URL "ftp://hooks.example.com/…": want an http:// or https:// URL`},
		{[]string{"--notify-url", "https://hooks.example.com/x", "--notify-secret-file", world}, "--notify-secret-file: " + world + " is readable by every user"},
		{[]string{"--notify-url", "https://hooks.example.com/x", "--notify-secret-file", empty}, "--notify-secret-file: " + empty + " is empty"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := execCommand(ctx, bin, append([]string{"server", "--data", filepath.Join(tmp, "data"), "--listen", "127.0.0.1:0", "--scan-on-start=false"}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "s3cret") {
			t.Errorf("server %v: %v\n%s\nwant %q", tc.args, err, out, tc.want)
		}
	}
}

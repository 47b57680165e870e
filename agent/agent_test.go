package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent/agenttest"
)

// harness runs an agent against a test CA.
type harness struct {
	t     *testing.T
	ca    *agenttest.Server
	logs  *agenttest.LogBuffer
	force chan struct{}
	done  chan error
	stop  context.CancelFunc
}

// enroll enrolls account on host db1 into a new directory.
func enroll(t *testing.T, ca *agenttest.Server, account string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), account)
	if _, err := Enroll(context.Background(), enrollOpts(ca, dir, ca.Token("db1", account))); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startAgent(t *testing.T, ca *agenttest.Server, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, ca: ca, logs: &agenttest.LogBuffer{}, force: make(chan struct{}), done: make(chan error, 1)}
	cfg.Logger = slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.rand == nil {
		cfg.rand = randMin // no jitter: renew at exactly two thirds, retry every second
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go func() { h.done <- Run(ctx, cfg, h.force) }()
	t.Cleanup(func() {
		cancel()
		if err := <-h.done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", h.logs)
		}
	})
	return h
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func leafOf(t *testing.T, dir string) (serial string, notAfter time.Time) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, CertFile))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ParseCertificates(b)
	if err != nil {
		t.Fatalf("cert.pem is not a complete chain: %v", err)
	}
	return Serial(certs[0]), certs[0].NotAfter
}

func readStatusFile(t *testing.T, dir string) Status {
	t.Helper()
	s := &DirStore{dir: dir}
	st, err := s.LoadStatus()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return st
}

// writeScript writes an executable shell script.
func writeScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "script.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// TestRunRenewsShortLivedCertificates: a 9 s certificate is renewed over and
// over, the reload action runs after each renewal with the identity's
// files in its environment, and each renewal logs one line with identity,
// serial and not_after.
func TestRunRenewsShortLivedCertificates(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, 9*time.Second)
	dir := enroll(t, ca, "billing")
	calls := filepath.Join(t.TempDir(), "reloads")
	script := writeScript(t, `echo "$ROSTER_IDENTITY $ROSTER_CERT_FILE $1" >> `+calls)
	first, _ := leafOf(t, dir)
	h := startAgent(t, ca, Config{Identities: []Identity{{
		Name: "billing", Dir: dir,
		Reload: []ReloadAction{{Exec: []string{script, "--graceful"}}},
	}}})
	waitFor(t, "two reloads", func() bool { return countLines(calls) >= 2 })
	renewed := h.logs.Lines("renewed")
	if len(renewed) < 2 {
		t.Fatalf("%d renewal log lines, want at least 2", len(renewed))
	}
	seen := map[any]bool{}
	for _, l := range renewed {
		if l["identity"] != "billing" || l["serial"] == nil || l["not_after"] == nil || l["next_renewal"] == nil {
			t.Errorf("renewal log line lacks fields: %v", l)
		}
		seen[l["serial"]] = true
	}
	if len(seen) != len(renewed) || seen[first] {
		t.Errorf("serials repeat: %v", seen)
	}
	b, _ := os.ReadFile(calls)
	if !strings.HasPrefix(string(b), "billing "+filepath.Join(dir, CertFile)+" --graceful\n") {
		t.Errorf("reload action saw %q", b)
	}
	st := readStatusFile(t, dir)
	if st.Serial == "" || st.LastRenewal.IsZero() || st.NextRenewal.IsZero() || st.LastError != "" {
		t.Errorf("status.json = %+v", st)
	}
}

// TestRunOutage: the CA answers 503 across the renewal time; the agent
// retries with backoff, logs louder, keeps the old certificate in place
// (valid, complete) and renews once the CA is back, before expiry.
func TestRunOutage(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, 24*time.Second)
	dir := enroll(t, ca, "billing")
	oldSerial, oldNotAfter := leafOf(t, dir)
	ca.SetDown(true)
	h := startAgent(t, ca, Config{Identities: []Identity{{Name: "billing", Dir: dir}}})
	waitFor(t, "three failed attempts", func() bool {
		serial, notAfter := leafOf(t, dir)
		if serial != oldSerial || !time.Now().Before(notAfter) {
			t.Fatalf("certificate changed or expired during the outage")
		}
		return len(h.logs.Lines("renewal failed; the current certificate stays in place")) >= 3
	})
	st := readStatusFile(t, dir)
	if !strings.Contains(st.LastError, "503") || st.Refused || st.Serial != oldSerial {
		t.Errorf("status during outage = %+v", st)
	}
	if got := ReadStatus(Config{Identities: []Identity{{Name: "billing", Dir: dir}}}, time.Now()); got[0].State != StateFailing || !got[0].Healthy() {
		t.Errorf("ReadStatus during outage: %+v", got[0])
	}
	ca.SetDown(false)
	waitFor(t, "renewal after the outage", func() bool {
		serial, _ := leafOf(t, dir)
		return serial != oldSerial
	})
	if !time.Now().Before(oldNotAfter) {
		t.Error("the old certificate expired before the agent recovered: outage longer than the test allows")
	}
	for _, l := range h.logs.Lines("renewal failed; the current certificate stays in place") {
		if l["level"] != "WARN" && l["level"] != "ERROR" {
			t.Errorf("failure logged at %v", l["level"])
		}
	}
}

// TestRunExpiredWhileDown: an identity whose certificate expired while the
// agent was not running says it needs re-enrollment, with the commands;
// the other identity carries on; re-enrolling in place brings it back.
func TestRunExpiredWhileDown(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, 9*time.Second)
	live := enroll(t, ca, "billing")
	ca.SetValidity(time.Hour)
	dead := enroll(t, ca, "reports")
	// Rewrite "reports" with a certificate that expired an hour ago.
	s, _ := OpenDir(dead, "", false)
	cred, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	chain, err := ca.Issue(cred.Key.Public(), "spiffe://"+agenttest.TrustDomain+"/host/db1/sa/reports", now.Add(-2*time.Hour), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(context.Background(), &Credential{Chain: chain, Key: cred.Key}); err != nil {
		t.Fatal(err)
	}
	ca.SetValidity(9 * time.Second)
	cfg := Config{Identities: []Identity{{Name: "billing", Dir: live}, {Name: "reports", Dir: dead, User: ""}}}
	h := startAgent(t, ca, cfg)
	liveSerial, _ := leafOf(t, live)
	waitFor(t, "the live identity to renew", func() bool { return len(h.logs.Lines("renewed")) >= 1 })
	var msg map[string]any
	for _, l := range h.logs.Lines(fmt.Sprintf("certificate expired at %s: needs re-enrollment", chain[0].NotAfter.UTC().Format(time.RFC3339))) {
		msg = l
	}
	if msg == nil || msg["identity"] != "reports" || msg["level"] != "ERROR" {
		t.Fatalf("no needs re-enrollment error for reports")
	}
	hint, _ := msg["hint"].(string)
	for _, want := range []string{"roster enroll reports --host db1", "roster-agent enroll --server URL --root-fingerprint FP --token TOKEN --dir " + dead} {
		if !strings.Contains(hint, want) {
			t.Errorf("hint %q lacks %q", hint, want)
		}
	}
	if n := len(h.logs.Lines(msg["msg"].(string))); n != 1 {
		t.Errorf("expiry logged %d times, want once", n)
	}
	st := readStatusFile(t, dead)
	if !st.NeedsReenrollment || !strings.Contains(st.LastError, "needs re-enrollment") {
		t.Errorf("status.json of the expired identity = %+v", st)
	}
	if s, _ := leafOf(t, live); s == liveSerial {
		t.Error("the live identity did not renew")
	}
	got := ReadStatus(cfg, time.Now())
	if got[0].State != StateOK || got[1].State != StateExpired || got[1].Healthy() {
		t.Errorf("ReadStatus = %+v", got)
	}
	// The operator re-enrolls in place; the agent picks it up.
	if _, err := Enroll(context.Background(), enrollOpts(ca, dead, ca.Token("db1", "reports"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the re-enrolled identity to renew", func() bool {
		for _, l := range h.logs.Lines("renewed") {
			if l["identity"] == "reports" {
				return true
			}
		}
		return false
	})
}

// TestRunForceAndRefusal: a forced renewal (SIGHUP) renews at once; after
// revocation the server refuses, the old certificate stays, status says
// refused.
func TestRunForceAndRefusal(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, time.Hour)
	dir := enroll(t, ca, "billing")
	first, _ := leafOf(t, dir)
	h := startAgent(t, ca, Config{Identities: []Identity{{Name: "billing", Dir: dir}}})
	waitFor(t, "next renewal scheduled", func() bool { return !readStatusFile(t, dir).NextRenewal.IsZero() })
	h.force <- struct{}{}
	waitFor(t, "forced renewal", func() bool { s, _ := leafOf(t, dir); return s != first })
	second, _ := leafOf(t, dir)
	ca.Revoke(second)
	h.force <- struct{}{}
	waitFor(t, "refusal", func() bool { return readStatusFile(t, dir).Refused })
	if s, _ := leafOf(t, dir); s != second {
		t.Error("a refused renewal replaced the certificate")
	}
	got := ReadStatus(Config{Identities: []Identity{{Name: "billing", Dir: dir}}}, time.Now())[0]
	if got.State != StateRefused || got.Healthy() || !strings.Contains(got.LastError, "revoked") {
		t.Errorf("ReadStatus = %+v", got)
	}
	if l := h.logs.Lines("renewal failed; the current certificate stays in place"); len(l) == 0 || l[0]["hint"] != "enroll the account again" {
		t.Errorf("refusal log lacks the server's hint: %v", l)
	}
}

// TestRunRekey renews with a new key each time; key.pem changes with
// cert.pem and always matches it.
func TestRunRekey(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, 9*time.Second)
	dir := enroll(t, ca, "billing")
	keyBefore, _ := os.ReadFile(filepath.Join(dir, KeyFile))
	h := startAgent(t, ca, Config{Identities: []Identity{{Name: "billing", Dir: dir, Rekey: true}}})
	waitFor(t, "two rekeys", func() bool { return len(h.logs.Lines("renewed")) >= 2 })
	keyAfter, _ := os.ReadFile(filepath.Join(dir, KeyFile))
	if bytes.Equal(keyBefore, keyAfter) {
		t.Error("key.pem did not change")
	}
	mustLoad(t, dir) // fails on a mismatched pair
	if ca.Calls("/1.0/rekey") < 2 || ca.Calls("/1.0/renew") != 0 {
		t.Errorf("rekey calls %d, renew calls %d", ca.Calls("/1.0/rekey"), ca.Calls("/1.0/renew"))
	}
}

// TestRunBackdatedShortCertificate: with the server's one minute backdate
// and a few seconds of validity, two thirds of the lifetime have passed at
// issuance; the agent must not renew in a tight loop.
func TestRunBackdatedShortCertificate(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, 10*time.Second)
	ca.SetBackdate(time.Minute)
	dir := enroll(t, ca, "billing")
	h := startAgent(t, ca, Config{Identities: []Identity{{Name: "billing", Dir: dir}}})
	waitFor(t, "two renewals", func() bool { return len(h.logs.Lines("renewed")) >= 2 })
	start := ca.Calls("/1.0/renew")
	time.Sleep(5 * time.Second)
	// At half the remaining validity (5 s) one or two renewals fit; a
	// loop would make hundreds.
	if n := ca.Calls("/1.0/renew") - start; n > 3 {
		t.Errorf("%d renewals in 5s: renewing in a loop", n)
	}
}

// TestRunMissingIdentity: an identity that was never enrolled is reported
// and the others carry on.
func TestRunMissingIdentity(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, 6*time.Second)
	dir := enroll(t, ca, "billing")
	missing := filepath.Join(t.TempDir(), "never")
	if err := os.Mkdir(missing, 0o700); err != nil {
		t.Fatal(err)
	}
	h := startAgent(t, ca, Config{Identities: []Identity{{Name: "never", Dir: missing}, {Name: "billing", Dir: dir}}})
	waitFor(t, "renewal", func() bool { return len(h.logs.Lines("renewed")) >= 1 })
	if st := readStatusFile(t, missing); !strings.Contains(st.LastError, "not enrolled") {
		t.Errorf("status of the missing identity: %+v", st)
	}
	got := ReadStatus(Config{Identities: []Identity{{Name: "never", Dir: missing}}}, time.Now())[0]
	if got.State != StateMissing || got.Healthy() {
		t.Errorf("ReadStatus = %+v", got)
	}
}

func TestRunValidates(t *testing.T) {
	err := Run(context.Background(), Config{}, nil)
	if err == nil || !strings.Contains(err.Error(), "identities") {
		t.Errorf("Run with no identities: %v", err)
	}
}

// The reload actions run real processes.

func TestReloadExec(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	r := reloader{dir: "/srv/id", identity: "billing", systemctl: "systemctl"}
	ok := writeScript(t, `echo "$@" >> `+out)
	fail := writeScript(t, `echo "cannot reload: config broken" >&2; exit 3`)
	slow := writeScript(t, `sleep 30`)
	ctx := context.Background()
	if err := r.run(ctx, ReloadAction{Exec: []string{ok, "a b", "$HOME"}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "a b $HOME\n" {
		t.Errorf("argv passed through a shell? got %q", b)
	}
	err := r.run(ctx, ReloadAction{Exec: []string{fail}})
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "config broken") {
		t.Errorf("failing exec: %v", err)
	}
	err = r.run(ctx, ReloadAction{Exec: []string{slow}, Timeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("slow exec: %v", err)
	}
	if err := r.run(ctx, ReloadAction{Exec: []string{"/no/such/program"}}); err == nil {
		t.Error("missing program: no error")
	}
}

func TestReloadSystemctl(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	fake := writeScript(t, `echo "$@" >> `+out)
	r := reloader{systemctl: fake}
	if err := r.run(context.Background(), ReloadAction{SystemctlReload: "billing.service"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "reload billing.service\n" {
		t.Errorf("systemctl got %q", b)
	}
	// The real systemctl, where there is one: without a running systemd
	// or without the unit it fails, and the failure is reported.
	if p, err := exec.LookPath("systemctl"); err == nil {
		r := reloader{systemctl: p}
		if err := r.run(context.Background(), ReloadAction{SystemctlReload: "roster-no-such-unit.service"}); err == nil {
			t.Error("systemctl reload of a missing unit succeeded")
		}
	}
}

// TestReloadSignal signals a real child process that traps HUP and USR1.
func TestReloadSignal(t *testing.T) {
	agenttest.Tool(t, "bash")
	// Under nohup, SIGHUP is ignored, the child inherits that and bash
	// cannot trap a signal ignored at its start. Handling it here while the
	// child starts gives the child the default disposition (signal.Ignored
	// cannot tell: after a Stop it reports false though the signal is
	// ignored again).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	ready := filepath.Join(dir, "ready")
	script := writeScript(t, `trap 'echo hup >> `+out+`' HUP
trap 'echo usr1 >> `+out+`' USR1
echo $$ > `+ready+`
while :; do sleep 0.05; done`)
	cmd := exec.Command("bash", script)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, "child ready", func() bool { _, err := os.Stat(ready); return err == nil })
	pidFile := filepath.Join(dir, "pid")
	if err := os.WriteFile(pidFile, []byte(fmt.Sprintf("%d\n", cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := reloader{}
	ctx := context.Background()
	if err := r.run(ctx, ReloadAction{Signal: &SignalAction{PIDFile: pidFile}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "HUP handled", func() bool { b, _ := os.ReadFile(out); return string(b) == "hup\n" })
	if err := r.run(ctx, ReloadAction{Signal: &SignalAction{PID: cmd.Process.Pid, Signal: "SIGUSR1"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "USR1 handled", func() bool { b, _ := os.ReadFile(out); return string(b) == "hup\nusr1\n" })

	os.WriteFile(pidFile, []byte("not a pid"), 0o644)
	if err := r.run(ctx, ReloadAction{Signal: &SignalAction{PIDFile: pidFile}}); err == nil || !strings.Contains(err.Error(), "does not hold a process id") {
		t.Errorf("bad pid file: %v", err)
	}
	if err := r.run(ctx, ReloadAction{Signal: &SignalAction{PIDFile: filepath.Join(dir, "none")}}); err == nil {
		t.Error("missing pid file: no error")
	}
}

func TestReloadActionValidate(t *testing.T) {
	tests := []struct {
		desc    string
		a       ReloadAction
		wantErr string
	}{
		{desc: "exec", a: ReloadAction{Exec: []string{"/bin/true"}}},
		{desc: "signal pid", a: ReloadAction{Signal: &SignalAction{PID: 10, Signal: "usr2"}}},
		{desc: "systemctl", a: ReloadAction{SystemctlReload: "a.service"}},
		{desc: "none", a: ReloadAction{}, wantErr: "exactly one"},
		{desc: "two", a: ReloadAction{Exec: []string{"x"}, SystemctlReload: "a"}, wantErr: "exactly one"},
		{desc: "empty argv0", a: ReloadAction{Exec: []string{""}}, wantErr: "empty command"},
		{desc: "pid and file", a: ReloadAction{Signal: &SignalAction{PID: 1, PIDFile: "/run/x"}}, wantErr: "exactly one of pid and pid_file"},
		{desc: "neither pid", a: ReloadAction{Signal: &SignalAction{}}, wantErr: "exactly one of pid and pid_file"},
		{desc: "bad signal", a: ReloadAction{Signal: &SignalAction{PID: 3, Signal: "KILLALL"}}, wantErr: `signal "KILLALL"`},
		{desc: "option as unit", a: ReloadAction{SystemctlReload: "--all"}, wantErr: "not a unit name"},
		{desc: "negative timeout", a: ReloadAction{Exec: []string{"x"}, Timeout: -1}, wantErr: "negative"},
	}
	for _, tt := range tests {
		err := tt.a.Validate()
		if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.desc, err, tt.wantErr)
		}
	}
}

// TestRunReloadFailureDoesNotBlock: one identity's reload action hangs
// until its timeout and fails, and is retried; meanwhile that identity and
// the other one keep renewing.
func TestRunReloadFailureDoesNotBlock(t *testing.T) {
	t.Parallel()
	ca := agenttest.New(t, 9*time.Second)
	a, b := enroll(t, ca, "stuck"), enroll(t, ca, "fine")
	hang := writeScript(t, "sleep 60")
	h := startAgent(t, ca, Config{Identities: []Identity{
		{Name: "stuck", Dir: a, Reload: []ReloadAction{{Exec: []string{hang}, Timeout: 8 * time.Second}}},
		{Name: "fine", Dir: b},
	}})
	renewals := func(id string) int {
		n := 0
		for _, l := range h.logs.Lines("renewed") {
			if l["identity"] == id {
				n++
			}
		}
		return n
	}
	waitFor(t, "both identities to renew twice while the first reload hangs", func() bool {
		return renewals("stuck") >= 2 && renewals("fine") >= 2
	})
	waitFor(t, "the failing reload to be retried", func() bool {
		return len(h.logs.Lines("reload action failed")) >= 2
	})
}

// TestOnceFollowsWallClock: a day-long certificate is not waited for with
// one long timer; the loop wakes at least every maxSleep and renews as soon
// as the wall clock (here stepped forward, as after a suspend) says so.
func TestOnceFollowsWallClock(t *testing.T) {
	ca := agenttest.New(t, 24*time.Hour)
	dir := enroll(t, ca, "billing")
	first, _ := leafOf(t, dir)
	clock := time.Now()
	cfg := &Config{Now: func() time.Time { return clock }, rand: randMin, Logger: slog.New(slog.NewJSONHandler(&agenttest.LogBuffer{}, nil))}
	r, err := newRunner(cfg, Identity{Name: "billing", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if d := r.once(ctx, false); d != maxSleep {
		t.Fatalf("first wait %v, want %v", d, maxSleep)
	}
	planned := readStatusFile(t, dir).NextRenewal
	if want := clock.Add(16 * time.Hour); planned.Sub(want).Abs() > 2*time.Second {
		t.Errorf("next renewal %v, want about %v", planned, want)
	}
	clock = clock.Add(maxSleep)
	if d := r.once(ctx, false); d != maxSleep || !readStatusFile(t, dir).NextRenewal.Equal(planned) {
		t.Fatalf("second wait %v; the plan moved", d)
	}
	if s, _ := leafOf(t, dir); s != first {
		t.Fatal("renewed early")
	}
	clock = clock.Add(17 * time.Hour) // the host slept
	if d := r.once(ctx, false); d <= 0 || d > maxSleep {
		t.Fatalf("wait after renewal %v", d)
	}
	if s, _ := leafOf(t, dir); s == first {
		t.Fatal("not renewed once the wall clock passed the renewal time")
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent"
	"github.com/rosterhq/roster/agent/agenttest"
)

// cli runs the command line in process and returns exit status and output.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpForEveryCommand(t *testing.T) {
	code, out, _ := cli(t, "--help")
	if code != 0 || !strings.Contains(out, "commands:") {
		t.Fatalf("--help: %d %q", code, out)
	}
	for _, c := range commands {
		code, _, errOut := cli(t, c.name, "--help")
		if code != 0 || !strings.Contains(errOut, "usage: roster-agent "+c.name) {
			t.Errorf("%s --help: exit %d, %q", c.name, code, errOut)
		}
		code, _, errOut = cli(t, "help", c.name)
		if code != 0 || !strings.Contains(errOut, "usage: roster-agent "+c.name) {
			t.Errorf("help %s: exit %d, %q", c.name, code, errOut)
		}
	}
	if code, out, _ := cli(t, "--version"); code != 0 || !strings.HasPrefix(out, "roster-agent dev") {
		t.Errorf("--version: %d %q", code, out)
	}
	if code, _, errOut := cli(t, "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, "enroll", "--server", "https://x"); code != 2 || !strings.Contains(errOut, "--root-fingerprint is required") {
		t.Errorf("missing flag: %d %q", code, errOut)
	}
	if code, _, _ := cli(t, "status", "--bogus"); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
}

func TestEnrollCommandHidesToken(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	dir := filepath.Join(t.TempDir(), "billing")
	tok := ca.Token("db1", "billing")
	t.Setenv("ROSTER_ENROLL_TOKEN", tok)
	code, _, errOut := cli(t, "enroll", "--help")
	if code != 0 || strings.Contains(errOut, tok) {
		t.Fatal("enroll --help shows the token from the environment")
	}
	code, out, errOut := cli(t, "enroll", "--server", ca.URL, "--root-fingerprint", ca.Fingerprint, "--dir", dir)
	if code != 0 {
		t.Fatalf("enroll: %d %s", code, errOut)
	}
	if !strings.Contains(out, "enrolled  spiffe://"+agenttest.TrustDomain+"/host/db1/sa/billing") || strings.Contains(out+errOut, tok) {
		t.Errorf("enroll output %q", out)
	}
	// The token is spent: a second use is refused with the server's hint.
	code, _, errOut = cli(t, "enroll", "--server", ca.URL, "--root-fingerprint", ca.Fingerprint, "--token", tok, "--dir", dir+"2")
	if code != 1 || !strings.Contains(errOut, "roster-agent: error: enroll: server answered 401") || !strings.Contains(errOut, "roster-agent: hint: ") || strings.Contains(errOut, tok) {
		t.Errorf("reused token: %d %q", code, errOut)
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStatusExitCodes(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	enroll := func(account string) string {
		dir := filepath.Join(t.TempDir(), account)
		if _, err := agent.Enroll(context.Background(), agent.EnrollOptions{Server: ca.URL, RootFingerprint: ca.Fingerprint, Token: ca.Token("db1", account), Dir: dir}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	good := enroll("billing")
	expired := enroll("reports")
	// Replace reports' certificate with one that has expired.
	s, _ := agent.OpenDir(expired, "", false)
	cred, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	chain, err := ca.Issue(cred.Key.Public(), "spiffe://"+agenttest.TrustDomain+"/host/db1/sa/reports", time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(context.Background(), &agent.Credential{Chain: chain, Key: cred.Key}); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "never")
	tests := []struct {
		desc     string
		dirs     map[string]string
		wantCode int
		want     []string
	}{
		{desc: "healthy", dirs: map[string]string{"billing": good}, wantCode: 0, want: []string{"billing", "ok"}},
		{desc: "expired", dirs: map[string]string{"billing": good, "reports": expired}, wantCode: 1, want: []string{"reports", "expired", "needs re-enrollment", "reports: hint: on the server run `roster enroll reports --host db1`"}},
		{desc: "missing", dirs: map[string]string{"never": missing}, wantCode: 1, want: []string{"missing", "not enrolled", "never: hint: on the server run `roster enroll ACCOUNT --host HOST`"}},
	}
	for _, tt := range tests {
		var y strings.Builder
		y.WriteString("identities:\n")
		for name, dir := range tt.dirs {
			fmt.Fprintf(&y, "  - {name: %s, dir: %q}\n", name, dir)
		}
		cfg := writeConfig(t, y.String())
		code, out, errOut := cli(t, "status", "--config", cfg)
		if code != tt.wantCode || errOut != "" {
			t.Errorf("%s: exit %d (stderr %q), want %d", tt.desc, code, errOut, tt.wantCode)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: table lacks %q:\n%s", tt.desc, w, out)
			}
		}
		code, out, _ = cli(t, "status", "--config", cfg, "--format", "json")
		var sts []agent.IdentityStatus
		if err := json.Unmarshal([]byte(out), &sts); err != nil || len(sts) != len(tt.dirs) || code != tt.wantCode {
			t.Errorf("%s: json status: exit %d, %v: %s", tt.desc, code, err, out)
		}
	}
	if code, _, errOut := cli(t, "status", "--config", writeConfig(t, "identities:\n  - name: a\n")); code != 1 || !strings.Contains(errOut, "dir is required") {
		t.Errorf("bad config: %d %q", code, errOut)
	}
}

// TestStatusSSH: status lists each identity's SSH certificate (state,
// serial, principals, expiry) under the X.509 table, and an identity with
// an ssh section but no SSH certificate yet needs attention (exit 1).
func TestStatusSSH(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	enroll := func(account string) string {
		dir := filepath.Join(t.TempDir(), account)
		if _, err := agent.Enroll(context.Background(), agent.EnrollOptions{Server: ca.URL, RootFingerprint: ca.Fingerprint, Token: ca.Token("db1", account), Dir: dir}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	deploy, idle := enroll("deploy"), enroll("idle")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Config{Identities: []agent.Identity{{Name: "deploy", Dir: deploy, SSH: &agent.SSHOptions{}}},
			Logger: slog.New(slog.DiscardHandler)}, nil)
	}()
	cert := filepath.Join(deploy, "ssh", "id_ed25519-cert.pub")
	waitUntil(t, "an SSH certificate", func() bool { _, err := os.Stat(cert); return err == nil })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("identities:\n  - {name: deploy, dir: %q, ssh: {}}\n", deploy))
	code, out, errOut := cli(t, "status", "--config", cfg)
	if code != 0 || errOut != "" {
		t.Errorf("status: exit %d %q\n%s", code, errOut, out)
	}
	for _, w := range []string{"SSH CERTIFICATE", "deploy@" + agenttest.SSHEnv, " ok "} {
		if !strings.Contains(out, w) {
			t.Errorf("status lacks %q:\n%s", w, out)
		}
	}
	cfg = writeConfig(t, fmt.Sprintf("identities:\n  - {name: deploy, dir: %q, ssh: {}}\n  - {name: idle, dir: %q, ssh: {}}\n", deploy, idle))
	code, out, _ = cli(t, "status", "--config", cfg, "--format", "json")
	var sts []agent.IdentityStatus
	if err := json.Unmarshal([]byte(out), &sts); err != nil || code != 1 || len(sts) != 2 {
		t.Fatalf("json status: exit %d, %v: %s", code, err, out)
	}
	if s := sts[0].SSH; s == nil || s.State != agent.StateOK || s.Serial == "" || s.NotAfter.IsZero() {
		t.Errorf("deploy's SSH status: %+v", s)
	}
	if s := sts[1].SSH; s == nil || s.State != agent.StateMissing {
		t.Errorf("idle's SSH status: %+v", s)
	}
}

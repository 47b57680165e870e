package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent/agenttest"
)

// batchHost scans a host with three service accounts (billing, reports,
// backup), gives them owners, and enrolls them with roster-agent, with the
// host identity too when withHost is set. It returns the identity
// directories, accounts first.
func batchHost(t *testing.T, s *serverProc, agentBin, tmp string, withHost bool) []string {
	t.Helper()
	fix := filepath.Join(tmp, "host")
	fixtureHost(t, fix, "app1", "$y$j9T$abcdefghijklmnopqrstu.$0123456789abcdefghijklmnopqrstuvwxyzABCDE")
	extra := map[string]string{"etc/passwd": "", "etc/shadow": "", "etc/group": ""}
	for n, a := range []string{"reports", "backup"} {
		extra["etc/passwd"] += fmt.Sprintf("%s:x:%d:%d:%s:/srv/%s:/bin/sh\n", a, 1002+n, 1002+n, a, a)
		extra["etc/shadow"] += a + ":$y$j9T$abcdefghijklmnopqrstu.$0123456789abcdefghijklmnopqrstuvwxyzABCD" + fmt.Sprint(n) + ":19000:0:99999:7:::\n"
		extra["etc/group"] += fmt.Sprintf("%s:x:%d:\n", a, 1002+n)
		unit := filepath.Join(fix, "etc/systemd/system", a+".service")
		if err := os.WriteFile(unit, []byte("[Service]\nUser="+a+"\nExecStart=/usr/local/bin/"+a+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Symlink("/etc/systemd/system/"+a+".service", filepath.Join(fix, "etc/systemd/system/multi-user.target.wants", a+".service"))
	}
	for name, add := range extra {
		f, err := os.OpenFile(filepath.Join(fix, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(add)
		f.Close()
	}
	admin := s.adminToken()
	s.mustCLI(admin, "scan", "--root", fix, "--submit")
	var tickets []enrollTicket
	var dirs []string
	for _, a := range []string{"billing", "reports", "backup"} {
		s.mustCLI(admin, "owner", "set", a, "team-"+a)
		tickets = append(tickets, enroll(t, s, admin, a, "--host", "app1"))
		dirs = append(dirs, filepath.Join(tmp, "id-"+a))
	}
	if withHost {
		tickets = append(tickets, enroll(t, s, admin, "--host", "app1"))
		dirs = append(dirs, filepath.Join(tmp, "id-host"))
	}
	for n, tk := range tickets {
		cmd := exec.Command(agentBin, "enroll", "--server", s.URL, "--root-fingerprint", tk.RootFingerprint, "--token", tk.Token, "--dir", dirs[n])
		cmd.Env = cleanEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("roster-agent enroll: %v\n%s", err, out)
		}
	}
	return dirs
}

// runAgent starts roster-agent run with one identity per directory.
func runAgent(t *testing.T, agentBin, tmp string, dirs []string) *agenttest.LogBuffer {
	t.Helper()
	var cfg strings.Builder
	cfg.WriteString("identities:\n")
	for _, d := range dirs {
		fmt.Fprintf(&cfg, "  - name: %s\n    dir: %s\n", filepath.Base(d), d)
	}
	path := filepath.Join(tmp, "agent.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &agenttest.LogBuffer{}
	agent := exec.Command(agentBin, "run", "--config", path)
	agent.Env = cleanEnv()
	agent.Stdout, agent.Stderr = out, out
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		agent.Process.Kill()
		agent.Wait()
		if t.Failed() {
			t.Logf("agent output:\n%s", out.String())
		}
	})
	return out
}

// batchLines returns the server's "batch renewal" log lines.
func batchLines(s *serverProc) []string {
	var out []string
	for _, l := range strings.Split(s.out.String(), "\n") {
		if strings.Contains(l, "batch renewal") {
			out = append(out, l)
		}
	}
	return out
}

// TestAgentBatchRenewal: an agent holding the host identity and three
// account identities of that host renews all four in one POST
// /v1/renew-batch over one mTLS connection. Renewed together, they stay
// due together, so from the second round on every round is one batch.
func TestAgentBatchRenewal(t *testing.T) {
	_, agentBin := buildBinaries(t)
	tmp := t.TempDir()
	s := startServer(t, filepath.Join(tmp, "data"), "--scan-on-start=false", "--default-validity", "30s", "--min-validity", "1s")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server output:\n%s", s.out.String())
		}
	})
	dirs := batchHost(t, s, agentBin, tmp, true)
	first := make([]string, len(dirs))
	for n, d := range dirs {
		first[n] = leafOf(t, filepath.Join(d, "cert.pem")).SerialNumber.String()
	}
	runAgent(t, agentBin, tmp, dirs)
	full := func() bool {
		for _, l := range batchLines(s) {
			if strings.Contains(l, "entries=4") && strings.Contains(l, "renewed=4") {
				return true
			}
		}
		return false
	}
	waitFor(t, "a batch renewing all four identities", 90*time.Second, full, nil)
	// The server logs the batch before the agent has its answer: wait for
	// the agent to save each new certificate.
	saved := func() bool {
		for n, d := range dirs {
			if leafOf(t, filepath.Join(d, "cert.pem")).SerialNumber.String() == first[n] {
				return false
			}
		}
		return true
	}
	waitFor(t, "every identity's renewed certificate saved", 30*time.Second, saved, nil)
	audit := s.mustCLI(s.adminToken(), "audit", "list", "--format", "json")
	if strings.Contains(audit, `"refused"`) {
		t.Errorf("refusals in the audit log:\n%s", audit)
	}
}

// TestAgentBatchFallback: without the host identity the agent cannot
// batch, and renews each identity by itself with /1.0/renew.
func TestAgentBatchFallback(t *testing.T) {
	_, agentBin := buildBinaries(t)
	tmp := t.TempDir()
	s := startServer(t, filepath.Join(tmp, "data"), "--scan-on-start=false", "--default-validity", "30s", "--min-validity", "1s")
	dirs := batchHost(t, s, agentBin, tmp, false)
	first := make([]string, len(dirs))
	for n, d := range dirs {
		first[n] = leafOf(t, filepath.Join(d, "cert.pem")).SerialNumber.String()
	}
	runAgent(t, agentBin, tmp, dirs)
	waitFor(t, "each identity renewed", 90*time.Second, func() bool {
		for n, d := range dirs {
			if leafOf(t, filepath.Join(d, "cert.pem")).SerialNumber.String() == first[n] {
				return false
			}
		}
		return true
	}, nil)
	if l := batchLines(s); len(l) != 0 {
		t.Errorf("batch requests without a host identity: %q", l)
	}
}

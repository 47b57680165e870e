package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/agent/agenttest"
)

// TestInstallScript runs scripts/install.sh for real into a temp DESTDIR
// with the built agent, checks what it placed and the modes, verifies the
// units with systemd-analyze and reports their exposure scores; a dry run
// changes nothing.
func TestInstallScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, err := buildAgent()
	if err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("../../scripts/install.sh")
	dest := filepath.Join(t.TempDir(), "root")
	out, err := exec.Command(script, "--prefix", dest, "--bin-from", filepath.Dir(bin), "--no-server").CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	for path, mode := range map[string]os.FileMode{
		"usr/local/bin/roster-agent":              0o755,
		"etc/systemd/system/roster-agent.service": 0o644,
		"etc/roster-agent":                        0o755 | os.ModeDir,
		"etc/roster-agent/agent.yaml.example":     0o644,
		"var/lib/roster-agent":                    0o711 | os.ModeDir,
	} {
		fi, err := os.Stat(filepath.Join(dest, path))
		if err != nil {
			t.Errorf("not installed: %v", err)
			continue
		}
		if fi.Mode()&(os.ModeDir|os.ModePerm) != mode {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), mode)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "var/lib/roster")); err == nil {
		t.Error("--no-server still created the server's data directory")
	}
	// The installed binary runs.
	if out, err := exec.Command(filepath.Join(dest, "usr/local/bin/roster-agent"), "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "roster-agent ") {
		t.Errorf("installed binary: %v %s", err, out)
	}

	// A dry run prints the plan for both and writes nothing.
	dry := filepath.Join(t.TempDir(), "dry")
	out, err = exec.Command(script, "--prefix", dry, "--dry-run").CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh --dry-run: %v\n%s", err, out)
	}
	for _, want := range []string{"go build", "/usr/local/bin/roster\n", "roster.service", "install -d -m 0700 " + dry + "/var/lib/roster\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(dry); err == nil {
		t.Error("--dry-run created the destination")
	}
	if out, err := exec.Command(script, "--bogus").CombinedOutput(); err == nil || !strings.Contains(string(out), "unknown option --bogus") {
		t.Errorf("unknown option: %v %s", err, out)
	}

	verifyUnits(t, dest, bin)
}

// verifyUnits runs systemd-analyze verify on both units (with ExecStart
// pointing at real binaries) and logs their offline security exposure.
func verifyUnits(t *testing.T, dest, bin string) {
	analyze := agenttest.Tool(t, "systemd-analyze")
	units := t.TempDir()
	for _, u := range []string{"roster.service", "roster-agent.service"} {
		b, err := os.ReadFile(filepath.Join("../../scripts/systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		// Both units start a binary in /usr/local/bin; point them at the
		// built agent, which exists, so that verify checks everything else.
		s := regexp.MustCompile(`/usr/local/bin/roster(-agent)?`).ReplaceAllString(string(b), bin)
		if err := os.WriteFile(filepath.Join(units, u), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", filepath.Join(units, u)).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", u, err, out)
		}
		out, err = exec.Command(analyze, "security", "--offline=yes", filepath.Join(units, u)).CombinedOutput()
		m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) (\S+)`).FindSubmatch(out)
		if err != nil || m == nil {
			t.Errorf("systemd-analyze security %s: %v\n%s", u, err, out)
			continue
		}
		t.Logf("%s: exposure %s %s", u, m[1], m[2])
		if string(m[2]) != "OK" {
			t.Errorf("%s: exposure %s %s, want OK", u, m[1], m[2])
		}
	}
}

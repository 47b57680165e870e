package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/scan"
)

// fixtureRoot is a committed host root with planted secrets.
var fixtureRoot = filepath.Join("..", "..", "discovery", "testdata", "hosts", "debian-web")

// rosterScan runs the built `roster scan` with args and extra environment,
// returning stdout, stderr and the exit code.
func rosterScan(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	bin, _ := buildBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := execCommand(ctx, bin, append([]string{"scan"}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("roster scan: %v", err)
	}
	return o.String(), e.String(), 0
}

func decodeReport(t *testing.T, data []byte) *scan.Report {
	t.Helper()
	var rep scan.Report
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("decoding report: %v\n%s", err, data)
	}
	return &rep
}

func passwordFingerprint(t *testing.T, rep *scan.Report, account string) string {
	t.Helper()
	for _, a := range rep.Accounts {
		if a.Name != account {
			continue
		}
		for _, c := range a.Credentials {
			if c.Type == scan.CredPassword {
				return c.Fingerprint
			}
		}
	}
	t.Fatalf("no password credential for %s", account)
	return ""
}

func TestScanCommandJSON(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("an operator-chosen fingerprint key"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := rosterScan(t, nil, "--root", fixtureRoot, "--format", "json", "--fingerprint-key", keyFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rep := decodeReport(t, []byte(out))
	if rep.SchemaVersion != scan.SchemaVersion || rep.Host.Hostname != "web1" || rep.Host.Live || len(rep.Accounts) != 28 || len(rep.Shared) != 2 {
		t.Errorf("report: schema %d host %+v, %d accounts, %d shared", rep.SchemaVersion, rep.Host, len(rep.Accounts), len(rep.Shared))
	}
	for _, secret := range []string{"planted-env-token-7f3a9c", "planted-db-password-91c2", "planted-pgpass-secret-55", "planted-netrc-pass", "$6$plantedsalt$"} {
		if strings.Contains(out, secret) || strings.Contains(errOut, secret) {
			t.Errorf("output contains planted secret %q", secret)
		}
	}

	// The key decides the fingerprints: the same key gives the same ones,
	// through --output too.
	outFile := filepath.Join(dir, "report.json")
	if o, e, code := rosterScan(t, nil, "--root", fixtureRoot, "--format", "json", "--fingerprint-key", keyFile, "--output", outFile); code != 0 || o != "" {
		t.Fatalf("--output: exit %d, stdout %q, stderr %s", code, o, e)
	}
	data, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	again := decodeReport(t, data)
	if passwordFingerprint(t, rep, "alice") != passwordFingerprint(t, again, "alice") {
		t.Error("one key gave two fingerprints")
	}
}

func TestScanCommandDefaultKey(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "sub", "fingerprint.key")
	env := []string{"ROSTER_FINGERPRINT_KEY_FILE=" + keyFile}
	out1, errOut, code := rosterScan(t, env, "--root", fixtureRoot, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("no key created: %v", err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Errorf("key file mode %v size %d, want 0600 and 32 bytes", fi.Mode().Perm(), fi.Size())
	}
	out2, _, _ := rosterScan(t, env, "--root", fixtureRoot, "--format", "json")
	fp1 := passwordFingerprint(t, decodeReport(t, []byte(out1)), "alice")
	if fp2 := passwordFingerprint(t, decodeReport(t, []byte(out2)), "alice"); fp1 != fp2 {
		t.Error("the per-installation key changed between scans")
	}

	// Without the variable the key lives in the user config directory.
	cfg := t.TempDir()
	if _, e, code := rosterScan(t, []string{"XDG_CONFIG_HOME=" + cfg}, "--root", fixtureRoot, "--format", "json"); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if _, err := os.Stat(filepath.Join(cfg, "roster", "fingerprint.key")); err != nil {
		t.Errorf("no key in the config dir: %v", err)
	}
}

func TestScanCommandTableAndErrors(t *testing.T) {
	env := []string{"ROSTER_FINGERPRINT_KEY_FILE=" + filepath.Join(t.TempDir(), "key")}
	out, errOut, code := rosterScan(t, env, "--root", fixtureRoot)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "host web1 (Debian GNU/Linux 12 (bookworm))") || !strings.Contains(out, "system accounts hidden") {
		t.Errorf("table:\n%s", out)
	}
	all, _, _ := rosterScan(t, env, "--root", fixtureRoot, "--all")
	if strings.Contains(all, "hidden") || !strings.Contains(all, "\nnobody ") {
		t.Errorf("--all table:\n%s", all)
	}

	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("tiny"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		args []string
		want string
	}{
		{"bad format", []string{"--root", fixtureRoot, "--format", "yaml"}, `roster: error: unknown --format "yaml"`},
		{"missing root", []string{"--root", filepath.Join(t.TempDir(), "nope")}, "roster: error: scan: scan root:"},
		{"root without passwd", []string{"--root", t.TempDir()}, "roster: error: scan: read accounts:"},
		{"short key", []string{"--root", fixtureRoot, "--fingerprint-key", short}, "want at least 16"},
		{"stray argument", []string{"--root", fixtureRoot, "extra"}, `unexpected argument "extra"`},
	}
	for _, tc := range tests {
		out, errOut, code := rosterScan(t, env, tc.args...)
		if code != 1 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and %q", tc.desc, code, out, errOut, tc.want)
		}
	}
}

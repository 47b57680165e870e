package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/scan"
)

var updateSSHGolden = flag.Bool("update-ssh-golden", false, "rewrite testdata/ssh-*.golden")

// checkGolden compares got with testdata/NAME.golden.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *updateSSHGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/roster -run %s -update-ssh-golden)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./cmd/roster -run %s -update-ssh-golden):\n--- got\n%s\n--- want\n%s", name, t.Name(), got, want)
	}
}

// sshTestScans: ci-runner on ci1 holds the private key whose public half
// is line 3 of deploy's authorized_keys on app1.
func sshTestScans(at time.Time) []*scan.Report {
	const fp = "SHA256:0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	ci := testReport("ci1", at, "ci-runner")
	ci.Accounts[0].Credentials = append(ci.Accounts[0].Credentials, scan.Credential{Type: scan.CredSSHPrivateKey,
		Location: "/home/ci-runner/.ssh/id_ed25519", Name: "id_ed25519", Fingerprint: fp, Algorithm: "ssh-ed25519"})
	app := testReport("app1", at, "deploy")
	app.Accounts[0].Credentials = []scan.Credential{{Type: scan.CredSSHAuthorizedKey,
		Location: "/home/deploy/.ssh/authorized_keys:3", Fingerprint: fp, Algorithm: "ssh-ed25519"}}
	return []*scan.Report{ci, app}
}

// The SSH operator commands through the real binaries: grants need owners
// on both sides, list and go away; the policy shows in account show; the
// sshd snippet is the contract's; ssh migrate prints the steps with
// commands that exist.
func TestSSHGrantsEndToEnd(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--scan-on-start=false")
	admin := s.adminToken()
	c := newAPIClient(t, s)
	for _, rep := range sshTestScans(time.Now().UTC()) {
		if st, body := c.do("POST", "/v1/scans", admin, mustJSON(t, rep)); st != 200 {
			t.Fatalf("submit: %d %s", st, body)
		}
	}

	// Owners on both sides.
	_, errOut, code := s.cli(admin, "ssh", "allow", "ci-runner", "--as", "deploy", "--on", "app1")
	if code == 0 || !strings.Contains(errOut, "account ci-runner@default has no owner") || !strings.Contains(errOut, "roster: hint: roster owner set ci-runner@default OWNER") {
		t.Errorf("allow without the identity's owner: exit %d\n%s", code, errOut)
	}
	s.mustCLI(admin, "owner", "set", "ci-runner", "team-ci")
	_, errOut, code = s.cli(admin, "ssh", "allow", "ci-runner", "--as", "deploy", "--on", "app1")
	if code == 0 || !strings.Contains(errOut, "deploy@default") || !strings.Contains(errOut, "roster owner set deploy@default OWNER") {
		t.Errorf("allow without the target's owner: exit %d\n%s", code, errOut)
	}
	s.mustCLI(admin, "owner", "set", "deploy", "team-platform")
	if out := s.mustCLI(admin, "ssh", "allow", "ci-runner", "--as", "deploy", "--on", "app1"); out != "ci-runner@default may log in as deploy on host app1\n" {
		t.Errorf("allow: %q", out)
	}
	s.mustCLI(admin, "ssh", "allow", "ci-runner@default", "--as", "deploy", "--env", "default")
	if _, errOut, code := s.cli(admin, "ssh", "allow", "ci-runner", "--as", "deploy"); code == 0 || !strings.Contains(errOut, "exactly one of --on HOST and --env ENV") {
		t.Errorf("allow without a target: exit %d\n%s", code, errOut)
	}

	out := s.mustCLI(admin, "ssh", "grants")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "IDENTITY") || !strings.Contains(lines[1], "host app1") || !strings.Contains(lines[2], "env default") {
		t.Errorf("ssh grants:\n%s", out)
	}
	var grants []struct{ Identity, As, Host, Env string }
	if err := json.Unmarshal([]byte(s.mustCLI(admin, "ssh", "grants", "--host", "ci1", "--format", "json")), &grants); err != nil || len(grants) != 1 || grants[0].Env != "default" {
		t.Errorf("ssh grants --host ci1 --format json: %+v %v", grants, err)
	}
	if out := s.mustCLI(admin, "ssh", "deny", "ci-runner", "--as", "deploy", "--env", "default"); out != "ci-runner@default may no longer log in as deploy on env default\n" {
		t.Errorf("deny: %q", out)
	}
	if _, errOut, code := s.cli(admin, "ssh", "deny", "ci-runner", "--as", "deploy", "--env", "default"); code == 0 || !strings.Contains(errOut, "roster ssh grants") {
		t.Errorf("deny twice: exit %d\n%s", code, errOut)
	}

	// The policy.
	if out := s.mustCLI(admin, "ssh", "policy", "ci-runner", "--permit", "pty,port-forwarding"); out != "SSH certificates of ci-runner@default permit port-forwarding,pty\n" {
		t.Errorf("policy: %q", out)
	}
	if out := s.mustCLI(admin, "accounts", "show", "ci-runner"); !strings.Contains(out, "ssh:      certificates permit port-forwarding,pty") {
		t.Errorf("account show lacks the SSH policy:\n%s", out)
	}
	if _, errOut, code := s.cli(admin, "ssh", "policy", "ci-runner", "--permit", "pty", "--source-address"); code == 0 || !strings.Contains(errOut, "cannot be honoured") {
		t.Errorf("--source-address: exit %d\n%s", code, errOut)
	}
	if out := s.mustCLI(admin, "ssh", "policy", "ci-runner", "--permit", "none"); !strings.Contains(out, "permit nothing") {
		t.Errorf("policy none: %q", out)
	}

	// The sshd snippet: exactly the contract's, no server needed.
	if out := s.mustCLI("", "ssh", "sshd-config"); out != "TrustedUserCAKeys /etc/ssh/roster/user_ca.pub\n"+
		"AuthorizedPrincipalsFile /etc/ssh/roster/principals/%u\n"+
		"RevokedKeys /etc/ssh/roster/revoked.krl\n"+
		"HostCertificate /etc/ssh/roster/ssh_host_ed25519_key-cert.pub\n" {
		t.Errorf("sshd-config:\n%s", out)
	}
	checkGolden(t, "ssh-sshd-config-dir", s.mustCLI("", "ssh", "sshd-config", "--dir", "/srv/sshd/roster/", "--key-type", "ed25519", "--key-type", "rsa"))

	// ssh migrate: the steps, with commands that exist.
	out = s.mustCLI(admin, "ssh", "migrate", "deploy", "--host", "app1")
	checkGolden(t, "ssh-migrate", out)
	app := newApp()
	n := 0
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		cmd, ok := strings.CutPrefix(l, "roster ")
		if !ok {
			continue
		}
		cmd, _, _ = strings.Cut(cmd, " >") // the shell's redirection
		n++
		if _, err := checkCommandLine(app, cmd); err != nil {
			t.Errorf("ssh migrate prints %q: %v", l, err)
		}
	}
	if n < 5 {
		t.Errorf("ssh migrate printed %d roster commands:\n%s", n, out)
	}
	if _, errOut, code := s.cli(admin, "ssh", "migrate", "nobody", "--host", "app1"); code == 0 || !strings.Contains(errOut, "roster accounts list --host app1") {
		t.Errorf("migrate of an unknown account: exit %d\n%s", code, errOut)
	}
}

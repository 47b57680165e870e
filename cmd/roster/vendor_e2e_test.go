package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVendorEndToEnd runs the real binaries: vendor add, tagging an
// account with a known and an unknown vendor, vendor show, vendor import
// as a dry run with a bad line (nothing written) and with --apply, and
// removal refused while an account is tagged.
func TestVendorEndToEnd(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--scan-on-start=false")
	admin := s.adminToken()
	c := newAPIClient(t, s)
	if st, body := c.do("POST", "/v1/scans", admin, mustJSON(t, testReport("gw1", time.Now().UTC(), "sftp-acme"))); st != 200 {
		t.Fatalf("submit: %d %s", st, body)
	}
	refused := func(want, hint string, args ...string) {
		t.Helper()
		_, errOut, code := s.cli(admin, args...)
		_, hintLine, _ := strings.Cut(errOut, "roster: hint: ")
		if code == 0 || !strings.Contains(errOut, want) || !strings.Contains(hintLine, hint) {
			t.Errorf("roster %s: exit %d, want a refusal saying %q with hint %q:\n%s", strings.Join(args, " "), code, want, hint, errOut)
		}
	}
	contains := func(out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}

	refused("unknown vendor acme", "roster vendor add acme --owner OWNER --contact EMAIL --route ROUTE",
		"account", "tag", "sftp-acme", "third-party=acme")
	refused(`unknown route "vnp"`, "did you mean vpn?",
		"vendor", "add", "acme", "--owner", "team-vendors", "--contact", "ops@acme.example", "--route", "vnp")
	contains(s.mustCLI(admin, "vendor", "add", "acme", "--owner", "team-vendors", "--contact", "ops@acme.example", "--route", "vpn",
		"--factor", "totp", "--on-lapse", "revoke"), "vendor acme added (on lapse: revoke)")
	s.mustCLI(admin, "account", "tag", "sftp-acme", "third-party=acme")
	contains(s.mustCLI(admin, "vendor", "show", "acme"), "vendor acme", "factor:   totp (static password)", "on lapse: revoke",
		"accounts (1, tagged third-party=acme)", "sftp-acme@default  2")
	contains(s.mustCLI(admin, "vendor", "set", "acme", "--route", "sftp"), "vendor acme updated")
	contains(s.mustCLI(admin, "vendor", "list", "--format", "csv"), "acme,team-vendors,ops@acme.example,sftp,totp,static_password")

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	good := filepath.Join(dir, "good.csv")
	if err := os.WriteFile(bad, []byte("name,owner,contact,route,on_lapse\nbeta,team-b,ops@beta.example,ssh,revoke\ngamma,team-g,not-an-address,api,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte("name,owner,contact,route,on_lapse\nbeta,team-b,ops@beta.example,ssh,revoke\ngamma,team-g,ops@gamma.example,api,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	refused(`line 3: contact: "not-an-address" is not an email address`, "fix the rows and run the import again", "vendor", "import", bad, "--apply")
	contains(s.mustCLI(admin, "vendor", "list"), "acme")
	if out := s.mustCLI(admin, "vendor", "list"); strings.Contains(out, "beta") {
		t.Errorf("a failed import wrote:\n%s", out)
	}
	contains(s.mustCLI(admin, "vendor", "import", good), "would write 2 vendors (dry run: add --apply to write)")
	contains(s.mustCLI(admin, "vendor", "import", good, "--apply"), "wrote 2 vendors")
	contains(s.mustCLI(admin, "vendor", "list"), "beta", "gamma")

	refused("vendor acme still has 1 account(s) tagged third-party=acme", "roster account tag sftp-acme@default third-party=acme --remove",
		"vendor", "remove", "acme")
	s.mustCLI(admin, "account", "tag", "sftp-acme@default", "third-party=acme", "--remove")
	contains(s.mustCLI(admin, "vendor", "remove", "acme"), "vendor acme removed")
	refused("vendor acme: not found", "roster vendor add acme", "vendor", "show", "acme")
}

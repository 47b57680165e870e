package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLIAccountKind drives roster account kind through the real
// binaries: an operator marks billing a person's account, accounts list
// leaves it out and account show says who set it, a later scan keeps it,
// an unknown kind is refused with the nearest, and --auto restores the
// scan's kind.
func TestCLIAccountKind(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--scan-on-start=false")
	admin := s.adminToken()
	c := newAPIClient(t, s)
	submit := func() {
		t.Helper()
		if st, body := c.do("POST", "/v1/scans", admin, mustJSON(t, testReport("app-1", time.Now().UTC(), "billing", "deploy"))); st != 200 {
			t.Fatalf("submit: %d %s", st, body)
		}
	}
	submit()
	if out := s.mustCLI(admin, "account", "kind", "billing", "human"); !strings.Contains(out, "kind of billing set to human") {
		t.Errorf("account kind:\n%s", out)
	}
	submit()
	if out := s.mustCLI(admin, "accounts", "list"); strings.Contains(out, "billing@default") || !strings.Contains(out, "deploy@default") {
		t.Errorf("accounts list after marking billing human and a rescan:\n%s", out)
	}
	if out := s.mustCLI(admin, "accounts", "show", "billing"); !strings.Contains(out, "kind:     human (set by an operator)") {
		t.Errorf("accounts show:\n%s", out)
	}
	if _, errOut, code := s.cli(admin, "account", "kind", "billing", "humn"); code == 0 || !strings.Contains(errOut, "service, human, system, auto") ||
		!strings.Contains(errOut, "did you mean human?") {
		t.Errorf("unknown kind: exit %d, stderr:\n%s", code, errOut)
	}
	s.mustCLI(admin, "account", "kind", "billing", "--auto")
	if out := s.mustCLI(admin, "accounts", "list"); !strings.Contains(out, "billing@default") {
		t.Errorf("accounts list after --auto:\n%s", out)
	}
	if out := s.mustCLI(admin, "accounts", "show", "billing"); strings.Contains(out, "kind:") {
		t.Errorf("accounts show after --auto:\n%s", out)
	}
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLIWorkflow drives the operator workflow through the real CLI against
// a real server: owners, the spreadsheet import, exceptions, tiers, tokens,
// reports in every format, and the audit log.
func TestCLIWorkflow(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--scan-on-start=false")
	admin := s.adminToken()
	c := newAPIClient(t, s)
	for _, rep := range []any{
		testReport("app-1", time.Now().UTC(), "billing", "deploy", "backup"),
		testReport("app-2", time.Now().UTC(), "billing", "etl"),
	} {
		if st, body := c.do("POST", "/v1/scans", admin, mustJSON(t, rep)); st != 200 {
			t.Fatalf("submit: %d %s", st, body)
		}
	}

	out := s.mustCLI(admin, "accounts", "list", "--no-owner")
	for _, a := range []string{"billing", "deploy", "backup", "etl"} {
		if !strings.Contains(out, a) {
			t.Errorf("accounts list --no-owner lacks %s:\n%s", a, out)
		}
	}
	s.mustCLI(admin, "owner", "set", "billing", "team-billing", "--contact", "billing@example.com")

	csvPath := filepath.Join(t.TempDir(), "owners.csv")
	os.WriteFile(csvPath, []byte("account,owner,contact\ndeploy,team-platform,#platform\nnobody,team-x,\n"), 0o600)
	_, errOut, code := s.cli(admin, "owner", "import", csvPath, "--apply")
	if code == 0 || !strings.Contains(errOut, "line 3") {
		t.Errorf("import with an unknown account: exit %d, stderr:\n%s", code, errOut)
	}
	os.WriteFile(csvPath, []byte("account,owner,contact\ndeploy,team-platform,#platform\netl,team-data,\n"), 0o600)
	out = s.mustCLI(admin, "owner", "import", csvPath)
	if !strings.Contains(out, "dry run") {
		t.Errorf("import without --apply is not a dry run:\n%s", out)
	}
	if out := s.mustCLI(admin, "accounts", "list", "--no-owner", "--format", "csv"); !strings.Contains(out, "deploy") {
		t.Errorf("dry run wrote owners:\n%s", out)
	}
	s.mustCLI(admin, "owner", "import", csvPath, "--apply")
	out = s.mustCLI(admin, "accounts", "list", "--no-owner", "--format", "json")
	var list []struct{ Name string }
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("accounts list json: %v\n%s", err, out)
	}
	if len(list) != 1 || list[0].Name != "backup" {
		t.Errorf("ownerless after import: %+v, want only backup", list)
	}

	// Exceptions: owner and expiry required, refusals say why.
	_, errOut, code = s.cli(admin, "exception", "add", "backup", "--reason", "vendor appliance", "--expires", "2020-01-01", "--owner", "ops")
	if code == 0 || !strings.Contains(errOut, "roster: error:") {
		t.Errorf("exception in the past accepted: exit %d\n%s", code, errOut)
	}
	_, errOut, code = s.cli(admin, "exception", "add", "backup", "--reason", "vendor appliance", "--expires", time.Now().AddDate(0, 1, 0).Format("2006-01-02"))
	if code == 0 || !strings.Contains(errOut, "owner") {
		t.Errorf("exception without owner: exit %d\n%s", code, errOut)
	}
	// The exception's owner answers for the exception; the account needs its own.
	_, errOut, code = s.cli(admin, "exception", "add", "backup", "--reason", "vendor appliance", "--owner", "ops",
		"--expires", time.Now().AddDate(0, 0, 10).Format("2006-01-02"))
	if code == 0 || !strings.Contains(errOut, "has no owner") || !strings.Contains(errOut, "roster: hint: roster owner set backup@default OWNER") {
		t.Errorf("exception for an account without an owner: exit %d\n%s", code, errOut)
	}
	s.mustCLI(admin, "owner", "set", "backup", "team-backup")
	s.mustCLI(admin, "exception", "add", "backup", "--reason", "vendor appliance", "--owner", "ops",
		"--expires", time.Now().AddDate(0, 0, 10).Format("2006-01-02"))
	if out := s.mustCLI(admin, "exception", "list", "--expiring", "30d"); !strings.Contains(out, "backup") || !strings.Contains(out, "vendor appliance") {
		t.Errorf("exception list --expiring 30d:\n%s", out)
	}

	s.mustCLI(admin, "account", "tier", "etl", "3", "--reason", "feeds the finance warehouse")
	out = s.mustCLI(admin, "accounts", "show", "etl")
	if !strings.Contains(out, "finance warehouse") || !strings.Contains(out, "team-data") {
		t.Errorf("accounts show etl:\n%s", out)
	}
	if out := s.mustCLI(admin, "accounts", "history", "etl"); !strings.Contains(out, "owner set") || !strings.Contains(out, "tier") {
		t.Errorf("history of etl:\n%s", out)
	}

	for _, f := range []string{"table", "json", "csv", "markdown"} {
		out := s.mustCLI(admin, "report", "--format", f)
		if !strings.Contains(strings.ToLower(out), "tier") {
			t.Errorf("report --format %s shows no tiers:\n%s", f, out)
		}
	}
	_, errOut, code = s.cli(admin, "report", "--format", "pdf")
	if code == 0 || !strings.Contains(errOut, "--format") {
		t.Errorf("report --format pdf: exit %d\n%s", code, errOut)
	}

	// Tokens: a viewer reads and is refused writes with a clear message.
	out = s.mustCLI(admin, "token", "create", "--role", "viewer", "--name", "auditor", "--format", "json")
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(out), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token create json: %v\n%s", err, out)
	}
	s.mustCLI(tok.Token, "report")
	_, errOut, code = s.cli(tok.Token, "owner", "set", "backup", "someone")
	if code == 0 || !strings.Contains(errOut, "viewer") || !strings.Contains(errOut, "roster: hint:") {
		t.Errorf("viewer write: exit %d\n%s", code, errOut)
	}
	if out := s.mustCLI(admin, "token", "list"); strings.Contains(out, tok.Token) || !strings.Contains(out, "auditor") {
		t.Errorf("token list:\n%s", out)
	}
	if out := s.mustCLI(admin, "token", "list", "--format", "csv"); !strings.HasPrefix(out, "id,name,role,created_at,created_by,revoked_at\n") ||
		!strings.Contains(out, ",auditor,viewer,") || strings.Contains(out, tok.Token) {
		t.Errorf("token list csv:\n%s", out)
	}
	// Passkeys: none yet; a viewer lists its own only; the report counts
	// the operators in tier 1 by factor.
	if out := s.mustCLI(admin, "token", "passkeys"); !strings.HasPrefix(out, "ID ") || strings.Count(out, "\n") != 1 {
		t.Errorf("token passkeys:\n%s", out)
	}
	if out := s.mustCLI(tok.Token, "token", "passkeys", "--format", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("token passkeys --format json as the viewer:\n%s", out)
	}
	_, errOut, code = s.cli(tok.Token, "token", "passkeys", "admin")
	if code == 0 || !strings.Contains(errOut, "needs role admin") {
		t.Errorf("viewer lists the admin's passkeys: exit %d\n%s", code, errOut)
	}
	_, errOut, code = s.cli(admin, "token", "passkey-revoke", "pk-0000")
	if code == 0 || !strings.Contains(errOut, "not found") || !strings.Contains(errOut, "roster: hint: roster token passkeys") {
		t.Errorf("passkey-revoke of an unknown passkey: exit %d\n%s", code, errOut)
	}
	if out := s.mustCLI(admin, "report"); !strings.Contains(out, "ROSTER OPERATORS (2)") || !strings.Contains(out, "1 privileged: roster's operators") {
		t.Errorf("report lacks roster's operators:\n%s", out)
	}
	s.mustCLI(admin, "token", "revoke", "auditor")
	if _, _, code := s.cli(tok.Token, "report"); code == 0 {
		t.Error("revoked token still reads")
	}

	// Every operator change is in the audit log, and the chain verifies.
	out = s.mustCLI(admin, "audit", "list", "--format", "jsonl")
	if !strings.Contains(out, "owner") || strings.Contains(out, tok.Token) || strings.Contains(out, admin) {
		t.Errorf("audit log lacks owner changes or leaks a token:\n%s", out)
	}
	if out := s.mustCLI(admin, "audit", "list", "--format", "csv"); !strings.HasPrefix(out, "seq,time,actor,action,") || !strings.Contains(out, ",token.revoke,") {
		t.Errorf("audit list csv:\n%s", out)
	}
	if out := s.mustCLI(admin, "audit", "verify"); !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %s", out)
	}

	// No output anywhere carries a token or a fingerprint key.
	if strings.Contains(s.out.String(), admin) {
		t.Error("server output contains the admin token")
	}
}

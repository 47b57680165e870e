package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLIRegisteredAccounts drives the accounts no scan finds through the
// real binaries: account add (and its refusals), account import as a dry
// run with a bad line and then --apply, account purpose, the marker in
// accounts list and account show, the report's tier, and account remove.
func TestCLIRegisteredAccounts(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--scan-on-start=false")
	admin := s.adminToken()
	c := newAPIClient(t, s)
	if st, body := c.do("POST", "/v1/scans", admin, mustJSON(t, testReport("app-1", time.Now().UTC(), "billing"))); st != 200 {
		t.Fatalf("submit: %d %s", st, body)
	}

	out := s.mustCLI(admin, "account", "add", "ledger-batch", "--system", "mainframe ledger", "--kind", "legacy",
		"--credential", "static_password", "--owner", "team-ledger", "--remedy", "gateway", "--purpose", "nightly ledger export")
	if !strings.Contains(out, "registered ledger-batch@default: tier 4, static_password (static)") {
		t.Errorf("account add:\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"account", "add", "fw", "--system", "edge", "--kind", "appliace", "--credential", "static_password"}, "hint: did you mean appliance?"},
		{[]string{"account", "add", "fw", "--system", "edge", "--kind", "appliance", "--credential", "static"}, "want one of shared_secret"},
		{[]string{"account", "add", "billing", "--system", "x", "--kind", "legacy", "--credential", "static_password"}, "billing@default is a scanned account"},
		{[]string{"account", "add", "fw", "--system", "edge", "--kind", "appliance", "--credential", "none", "--owner", "unknown"}, "placeholder"},
	} {
		if _, errOut, code := s.cli(admin, tc.args...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant %q", tc.args, code, errOut, tc.want)
		}
	}

	csvPath := filepath.Join(t.TempDir(), "accounts.csv")
	os.WriteFile(csvPath, []byte("name,system,kind,credential,owner,env,tier,remedy,purpose\n"+
		"ora-fin,oracle finance,database,secret_file,team-fin,,3,replace-client,month-end close\n"+
		"fw-admin,edge firewall,appliance,shared_secret,,,,gatway,\n"), 0o600)
	if _, errOut, code := s.cli(admin, "account", "import", csvPath); code == 0 || !strings.Contains(errOut, "line 3: remedy: unknown remedy") ||
		!strings.Contains(errOut, "nothing written") {
		t.Errorf("import with a bad line: exit %d, stderr:\n%s", code, errOut)
	}
	os.WriteFile(csvPath, []byte("name,system,kind,credential,owner,env,tier,remedy,purpose\n"+
		"ora-fin,oracle finance,database,secret_file,team-fin,,3,replace-client,month-end close\n"+
		"fw-admin,edge firewall,appliance,shared_secret,,,1,gateway,\n"), 0o600)
	out = s.mustCLI(admin, "account", "import", csvPath)
	if !strings.Contains(out, "would register 2 accounts (dry run: add --apply to write)") {
		t.Errorf("import dry run:\n%s", out)
	}
	if _, _, code := s.cli(admin, "accounts", "show", "ora-fin"); code == 0 {
		t.Errorf("the dry run registered ora-fin")
	}
	if out := s.mustCLI(admin, "account", "import", csvPath, "--apply"); !strings.Contains(out, "registered 2 accounts") {
		t.Errorf("import --apply:\n%s", out)
	}

	s.mustCLI(admin, "account", "purpose", "billing", "charges customers nightly")
	out = s.mustCLI(admin, "accounts", "list")
	for _, want := range []string{"ledger-batch@default", "registered,remedy=gateway", "ora-fin@default", "fw-admin@default"} {
		if !strings.Contains(out, want) {
			t.Errorf("accounts list lacks %q:\n%s", want, out)
		}
	}
	out = s.mustCLI(admin, "accounts", "list", "--format", "json")
	var list []struct {
		Key, Purpose string
		Tier         int
		Registered   *struct{ System, Kind, Credential, Remedy string }
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("accounts list json: %v\n%s", err, out)
	}
	got := map[string]int{}
	for i, a := range list {
		got[a.Key] = i
	}
	if a := list[got["ora-fin@default"]]; a.Tier != 3 || a.Registered == nil || a.Registered.Credential != "secret_file" || a.Purpose != "month-end close" {
		t.Errorf("ora-fin in the json list: %+v", a)
	}
	if a := list[got["fw-admin@default"]]; a.Tier != 1 {
		t.Errorf("fw-admin in the json list: %+v", a)
	}
	out = s.mustCLI(admin, "accounts", "show", "billing")
	if !strings.Contains(out, "purpose:  charges customers nightly (operator)") {
		t.Errorf("account show billing:\n%s", out)
	}
	out = s.mustCLI(admin, "accounts", "show", "ledger-batch")
	for _, want := range []string{"registered: legacy account on mainframe ledger, credential static_password, remedy gateway",
		"purpose:  nightly ledger export (operator)", "set by:   registered: static_password on mainframe ledger"} {
		if !strings.Contains(out, want) {
			t.Errorf("account show ledger-batch lacks %q:\n%s", want, out)
		}
	}
	s.mustCLI(admin, "account", "purpose", "billing", "")
	if out := s.mustCLI(admin, "accounts", "show", "billing"); strings.Contains(out, "charges customers") {
		t.Errorf("purpose not cleared:\n%s", out)
	}

	out = s.mustCLI(admin, "report", "--format", "json")
	var rep struct {
		Tiers []struct {
			Accounts   int
			ByStrength map[string]int `json:"by_strength"`
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if t1 := rep.Tiers[0]; t1.ByStrength["shared_secret"] != 1 {
		t.Errorf("tier 1 = %+v, want fw-admin's shared_secret", t1)
	}
	if t4 := rep.Tiers[3]; t4.ByStrength["static_password"] < 1 {
		t.Errorf("tier 4 = %+v, want ledger-batch's static_password", t4)
	}

	if _, errOut, code := s.cli(admin, "account", "remove", "billing"); code == 0 || !strings.Contains(errOut, "roster account retire billing@default") {
		t.Errorf("remove a scanned account: exit %d, stderr:\n%s", code, errOut)
	}
	if out := s.mustCLI(admin, "account", "remove", "ledger-batch", "--reason", "mainframe off"); !strings.Contains(out, "ledger-batch removed") {
		t.Errorf("account remove:\n%s", out)
	}
	if out := s.mustCLI(admin, "accounts", "list"); strings.Contains(out, "ledger-batch") {
		t.Errorf("removed account still listed:\n%s", out)
	}
	if out := s.mustCLI(admin, "audit", "list"); !strings.Contains(out, "account.remove") || !strings.Contains(out, "account.add") {
		t.Errorf("audit list lacks the registered account's actions:\n%s", out)
	}
}

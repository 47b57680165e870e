package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestOpsAccountsEndToEnd walks the account operations through the real
// CLI and server, as an operator would: owners that follow a host's env=
// tag, new accounts that need one, placeholder owners, NAME@ENV at
// enrollment, confirming an identity as separate, splitting an instance
// off with --env, unretiring, and closing an exception with a reason.
func TestOpsAccountsEndToEnd(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--scan-on-start=false", "--placeholder-owners", "unknown,tbd")
	admin := s.adminToken()
	c := newAPIClient(t, s)
	now := time.Now().UTC()
	for _, rep := range []any{
		testReport("db-billing-01", now, "svc-report"),
		testReport("p1", now, "billing-batch"),
		testReport("s1", now, "billing-batch"),
	} {
		if st, body := c.do("POST", "/v1/scans", admin, mustJSON(t, rep)); st != 200 {
			t.Fatalf("submit: %d %s", st, body)
		}
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

	// Placeholder owners are refused, with the server's list.
	refused(`"TBD" is a placeholder, not a person or team (refused as owners: unknown, tbd)`, "roster owner set svc-report OWNER",
		"owner", "set", "svc-report", "TBD")
	s.mustCLI(admin, "owner", "set", "svc-report", "none") // not on this server's list
	s.mustCLI(admin, "owner", "set", "svc-report", "team-r")
	s.mustCLI(admin, "owner", "set", "billing-batch", "team-b")

	// The account moves with its host's env= tag, and its owner with it.
	out := s.mustCLI(admin, "hosts", "tag", "db-billing-01", "env=prod")
	contains(out, "service account svc-report@default is now svc-report@prod, with its owner team-r")
	tk := enroll(t, s, admin, "svc-report", "--host", "db-billing-01")
	if tk.Identity != "spiffe://roster.local/host/db-billing-01/sa/svc-report" {
		t.Errorf("identity %s", tk.Identity)
	}
	// NAME@ENV names it too; the agent's command line has the account name.
	out = s.mustCLI(admin, "enroll", "svc-report@prod", "--host", "db-billing-01", "--format", "json")
	var ticket struct{ Identity, Command string }
	if err := json.Unmarshal([]byte(out), &ticket); err != nil || ticket.Identity != tk.Identity ||
		!strings.Contains(ticket.Command, "--user svc-report") || strings.Contains(ticket.Command, "@") {
		t.Errorf("enroll svc-report@prod: %v %+v", err, ticket)
	}
	refused("account svc-report on host db-billing-01 belongs to svc-report@prod, not svc-report@staging",
		"roster enroll svc-report@prod --host db-billing-01", "enroll", "svc-report@staging", "--host", "db-billing-01")

	// Only some instances move: the new account needs an owner.
	out = s.mustCLI(admin, "hosts", "tag", "p1", "env=prod")
	contains(out, "new service account billing-batch@prod needs an owner (billing-batch@default is owned by team-b): roster owner set billing-batch@prod OWNER")
	contains(s.mustCLI(admin, "report"), "ACCOUNTS NEEDING AN OWNER (1)", "billing-batch@prod  (billing-batch@default is owned by team-b)")
	out = s.mustCLI(admin, "hosts", "tag", "s1", "env=staging")
	contains(out, "service account billing-batch@default is now billing-batch@staging, with its owner team-b")
	s.mustCLI(admin, "owner", "set", "billing-batch@prod", "team-b")

	// billing-batch is in prod and staging: the refusal names the confirmation.
	refused("account billing-batch is shared across environments", "if billing-batch@staging is an identity of its own",
		"enroll", "billing-batch@staging", "--host", "s1")
	contains(s.mustCLI(admin, "account", "split", "billing-batch@staging", "--separate"), "billing-batch@staging confirmed as an identity of its own")
	enroll(t, s, admin, "billing-batch@staging", "--host", "s1")
	enroll(t, s, admin, "billing-batch", "--host", "p1") // prod is alone in its name now

	// An instance split off with --env takes the owner along.
	contains(s.mustCLI(admin, "account", "split", "billing-batch@prod", "--host", "p1", "--env", "legacy"),
		"instance of billing-batch@prod on p1 is now service account billing-batch@legacy")
	var acct struct {
		Owner            struct{ Name string }
		SharedAcrossEnvs bool `json:"shared_across_envs"`
	}
	if err := json.Unmarshal([]byte(s.mustCLI(admin, "accounts", "show", "billing-batch@legacy", "--format", "json")), &acct); err != nil ||
		acct.Owner.Name != "team-b" || acct.SharedAcrossEnvs {
		t.Errorf("billing-batch@legacy: %v %+v", err, acct)
	}

	// Retire, refuse, unretire.
	s.mustCLI(admin, "account", "retire", "svc-report", "--reason", "replaced")
	refused("account svc-report is retired", "a retired account gets no certificate; if it is in use again: roster account unretire svc-report@prod",
		"enroll", "svc-report", "--host", "db-billing-01")
	contains(s.mustCLI(admin, "account", "unretire", "svc-report@prod", "--reason", "still runs the nightly report"), "svc-report@prod is no longer retired")
	enroll(t, s, admin, "svc-report", "--host", "db-billing-01")

	// Exceptions: on an owned account with a static credential; closed with a reason.
	out = s.mustCLI(admin, "exception", "add", "svc-report", "--reason", "vendor tool", "--owner", "team-r",
		"--expires", now.AddDate(0, 0, 10).Format("2006-01-02"))
	id := regexp.MustCompile(`exc-\d+`).FindString(out)
	if id == "" {
		t.Fatalf("exception add: %s", out)
	}
	s.mustCLI(admin, "exception", "close", id, "--reason", "password removed")

	out = s.mustCLI(admin, "audit", "list", "--format", "jsonl")
	contains(out, `"action":"account.move"`, `"action":"account.unretire"`, `"detail":"unretired: still runs the nightly report"`,
		`"reason":"password removed"`, `"detail":"`+id+` closed: password removed"`)
	if out := s.mustCLI(admin, "audit", "verify"); !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %s", out)
	}
}

package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPlanEndToEnd sets the rollout plan through the real CLI and server:
// tier 2 refused (with the command that fixes it) until tier 1 has an end,
// the plan shown as a table and CSV, an exception capped by its tier's
// phase and accepted past the phase end only with --beyond-phase, and a
// third extension shown as a violation in exception list and report, and
// a phase removed only from the last tier.
func TestPlanEndToEnd(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--scan-on-start=false")
	admin := s.adminToken()
	c := newAPIClient(t, s)
	now := time.Now().UTC()
	if st, body := c.do("POST", "/v1/scans", admin, mustJSON(t, testReport("app-1", now, "svc-batch"))); st != 200 {
		t.Fatalf("submit: %d %s", st, body)
	}
	s.mustCLI(admin, "owner", "set", "svc-batch", "team-batch")
	date := func(days int) string { return now.AddDate(0, 0, days).Format(time.DateOnly) }
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
	set := func(tier string, extra ...string) []string {
		return append([]string{"plan", "set", tier, "--target", "short_lived_cert", "--owner", "sec-team", "--start", date(0)}, extra...)
	}

	refused("tier 1 has no phase: every earlier tier's phase needs an end date before tier 2's phase is set", "roster plan set 1 --target LEVEL --owner OWNER --start DATE --end DATE",
		set("2", "--end", date(90))...)
	contains(s.mustCLI(admin, set("1")...), "phase of tier 1 set: target short_lived_cert, owner sec-team, "+date(0)+"T00:00:00Z to no end yet")
	refused("tier 1's phase has no end date: every earlier", "roster plan set 1 --target LEVEL --owner OWNER --start DATE --end DATE",
		set("2", "--end", date(90))...)
	refused(`unknown level "best"`, "--target short_lived_cert", "plan", "set", "1", "--target", "best", "--owner", "o", "--start", date(0))
	refused(`tier "9": expected 1, 2, 3 or 4`, "roster plan set --help", set("9")...)
	s.mustCLI(admin, set("1", "--end", date(30), "--note", "root logins first")...)
	s.mustCLI(admin, set("2", "--end", date(90))...)
	s.mustCLI(admin, set("3", "--end", date(120))...)
	contains(s.mustCLI(admin, set("4", "--end", date(20), "--max-exception", "15d")...), "phase of tier 4 set")

	out := s.mustCLI(admin, "plan")
	contains(out, "roster plan, ", "TIER  ", "DAYS LEFT", "4 other ", "TIER 1 PRIVILEGED (DONE, owner sec-team): root logins first",
		"TIER 4 OTHER (ACTIVE, owner sec-team)", "below target (short_lived_cert): 1 of 1 account(s)",
		"svc-batch@default  static password: password at /etc/shadow:1 on app-1  owner team-batch")
	if !regexp.MustCompile(`4 other\s+active\s+short_lived_cert\s+sec-team\s+` + date(0) + `\s+` + date(20) + `\s+21\s+0/1 \(0%\)\s+1\s+0\s+15d`).MatchString(out) {
		t.Errorf("plan table row of tier 4:\n%s", out)
	}
	contains(s.mustCLI(admin, "plan", "--format", "csv"), "section,tier,name,state,target,owner,start,end,days_left",
		"below_target,4,svc-batch@default,static_password,")
	contains(s.mustCLI(admin, "plan", "--format", "markdown"), "# roster plan", "## Tier 4 other: active")
	contains(s.mustCLI(admin, "plan", "--format", "json"), `"state": "active"`, `"below_target": 1`)
	refused(`--format "xml"`, "", "plan", "--format", "xml")

	// Exceptions in tier 4: at most 15 days; not past the phase end (day
	// 20) without --beyond-phase.
	exc := func(days int, extra ...string) []string {
		return append([]string{"exception", "add", "svc-batch", "--owner", "team-batch", "--reason", "vendor", "--expires", date(days)}, extra...)
	}
	refused("exceptions in tier 4 last at most 15d (tier 4's phase)", "choose a date on or before", exc(16)...)
	s.mustCLI(admin, "plan", "set", "4", "--target", "short_lived_cert", "--owner", "sec-team", "--start", date(0), "--end", date(10))
	refused("after tier 4's phase ends ("+date(10)+")", "--beyond-phase", exc(12)...)
	out = s.mustCLI(admin, exc(12, "--beyond-phase")...)
	id := regexp.MustCompile(`exception (exc-\d+) added`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("exception add: %s", out)
	}
	for i, d := range []int{13, 14, 15} {
		contains(s.mustCLI(admin, "exception", "extend", id[1], "--expires", date(d), "--reason", "vendor late"),
			"exception "+id[1]+" extended to "+date(d)+"T23:59:59Z (extension "+string(rune('1'+i))+")")
	}
	contains(s.mustCLI(admin, "exception", "list"), "OVER-EXTENDED 3x")
	contains(s.mustCLI(admin, "report"), "EXCEPTIONS EXTENDED MORE THAN 2 TIMES (violations: temporary exceptions that do not end): 1")
	refused("not after its current end", "roster exception close "+id[1]+" --reason TEXT", "exception", "extend", id[1], "--expires", date(14))
	s.mustCLI(admin, "exception", "close", id[1], "--reason", "credential removed")
	refused("tier 1 would have no phase while tier 4 has a phase", "roster plan set 1 --target LEVEL", "plan", "remove", "1")
	contains(s.mustCLI(admin, "plan", "remove", "4"), "phase of tier 4 removed")
	contains(s.mustCLI(admin, "audit", "list"), "exception.extend", "plan.set", "plan.remove")
}

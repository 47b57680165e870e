package render

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
)

func TestExceptionStateAndRendering(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	closed := now.Add(-time.Hour)
	list := []inventory.Exception{
		{ID: "exc-1", Account: "a@default", Owner: "ops", Reason: "vendor, \"legacy\" box", Expires: now.Add(90 * 24 * time.Hour)},
		{ID: "exc-2", Account: "b@default", Owner: "ops", Reason: "r", Expires: now.Add(10 * 24 * time.Hour)},
		{ID: "exc-3", Account: "c@default", Owner: "ops", Reason: "r", Expires: now.Add(-time.Hour)},
		{ID: "exc-4", Account: "d@default", Owner: "ops", Reason: "r", Expires: now.Add(time.Hour), Closed: &closed},
	}
	for i, want := range []string{"valid", "expiring", "EXPIRED", "closed"} {
		if got := list[i].State(now); got != want {
			t.Errorf("%s: state %s, want %s", list[i].ID, got, want)
		}
	}
	var b bytes.Buffer
	if err := Exceptions(&b, list, FormatCSV, now); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 5 || rows[1][6] != `vendor, "legacy" box` || rows[3][5] != "EXPIRED" {
		t.Errorf("csv round trip: %v %q", err, rows)
	}
	b.Reset()
	if err := Exceptions(&b, list, FormatTable, now); err != nil || !strings.Contains(b.String(), "exc-3") {
		t.Errorf("table: %v\n%s", err, b.String())
	}
	if err := Exceptions(&b, list, "pdf", now); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestWriteHostsCSV(t *testing.T) {
	var b bytes.Buffer
	hosts := []inventory.Host{{Hostname: "web-1", Env: "prod", Tags: []string{"env=prod", "external"}, Accounts: 3}}
	if err := Hosts(&b, hosts, FormatCSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][0] != "web-1" || rows[1][4] != "env=prod external" || rows[1][5] != "3" {
		t.Errorf("hosts csv: %v %q", err, rows)
	}
}

func TestAuditJSONL(t *testing.T) {
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	all := []audit.Event{
		{Seq: 1, Time: t1, Actor: "test", Action: "cert.issue", Account: "app", Host: "h", Serial: "01", Hash: "aa"},
		{Seq: 2, Time: t1.Add(time.Hour), Actor: "test", Action: "cert.renew", Account: "app", PrevHash: "aa", Hash: "bb"},
		{Seq: 3, Time: t1.Add(2 * time.Hour), Actor: "test", Action: "owner.set", Account: "db@prod", PrevHash: "bb", Hash: "cc"},
	}
	var buf strings.Builder
	if err := AuditJSONL(&buf, all); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"actor":"test"`) || !strings.Contains(lines[1], `"prev_hash":"`+all[0].Hash) {
		t.Errorf("jsonl:\n%s", buf.String())
	}
}

func TestReportNeedOwner(t *testing.T) {
	r := &inventory.Report{NeedOwner: []inventory.OwnerNeeded{{Account: "svc@prod", Sibling: "svc@default", SiblingOwner: "team-r"}}}
	for f, want := range map[string]string{
		FormatTable:    "svc@prod  (svc@default is owned by team-r): roster owner set svc@prod OWNER",
		FormatCSV:      "need_owner,svc@prod,svc@default,team-r",
		FormatMarkdown: "- `svc@prod` (`svc@default` is owned by team-r)",
		FormatJSON:     `"need_owner": [`,
	} {
		var b bytes.Buffer
		if err := Report(&b, r, f); err != nil || !strings.Contains(b.String(), want) {
			t.Errorf("%s: %v, lacks %q:\n%s", f, err, want, b.String())
		}
	}
	var b bytes.Buffer
	if err := Report(&b, &inventory.Report{}, FormatMarkdown); err != nil || strings.Contains(b.String(), "needing an owner") {
		t.Errorf("empty section shown: %v\n%s", err, b.String())
	}
}

// TestReportStrengthDistribution renders the per-tier distribution in
// every format: counts per level by machine name, tier 1's privileged
// people on their own line, and target columns only where a tier has one.
func TestReportStrengthDistribution(t *testing.T) {
	below := 2
	rep := func(target bool) *inventory.Report {
		r := &inventory.Report{GeneratedAt: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), Tiers: []inventory.TierStats{
			{Tier: 1, Name: "1 privileged", Accounts: 3, ByStrength: map[string]int{"static_password": 2, "short_lived_cert": 1},
				People: &inventory.PeopleStats{Accounts: 2, ByStrength: map[string]int{"hardware_bound": 1, "static_password": 1}}},
			{Tier: 4, Name: "4 other", Accounts: 1, ByStrength: map[string]int{"none": 1}},
		}}
		if target {
			r.Tiers[0].Target, r.Tiers[0].BelowTarget = inventory.StrengthShortLivedCert, &below
		}
		return r
	}
	for _, tc := range []struct {
		format   string
		target   bool
		want     []string
		unwanted []string
	}{
		{"table", false, []string{
			"TIER                  shared_secret  empty_password  static_password  static_ssh_key  secret_file  long_lived_cert  short_lived_cert  hardware_bound  none\n",
			"1 privileged          0              0               2                0               0            0                1                 0               0\n",
			"1 privileged: people  0              0               1                0               0            0                0                 1               0\n",
			"4 other               0              0               0                0               0            0                0                 0               1\n",
		}, []string{"target"}},
		{"table", true, []string{"  none  target            below target\n", "  0     short_lived_cert  2\n", "  1     -                 -\n"}, nil},
		{"csv", false, []string{"strength,1 privileged,service_accounts,static_password,2\n",
			"strength,1 privileged,privileged_people,hardware_bound,1\n", "strength,4 other,service_accounts,none,1\n"},
			[]string{"strength_target", "4 other,privileged_people"}},
		{"csv", true, []string{"strength_target,1 privileged,short_lived_cert,2\n"}, nil},
		{"markdown", false, []string{"## Strength per tier\n", "| tier | shared_secret | empty_password |",
			"| 1 privileged: people | 0 | 0 | 1 | 0 | 0 | 0 | 0 | 1 | 0 |\n"}, []string{"below target"}},
		{"markdown", true, []string{"| none | target | below target |\n", "| 0 | short_lived_cert | 2 |\n"}, nil},
	} {
		t.Run(fmt.Sprintf("%s target=%v", tc.format, tc.target), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Report(&buf, rep(tc.target), tc.format); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("missing %q in\n%s", w, buf.String())
				}
			}
			for _, w := range tc.unwanted {
				if strings.Contains(buf.String(), w) {
					t.Errorf("unexpected %q in\n%s", w, buf.String())
				}
			}
		})
	}
}

package render

import (
	"bytes"
	"encoding/csv"
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

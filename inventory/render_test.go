package inventory

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

func TestExceptionStateAndRendering(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	closed := now.Add(-time.Hour)
	list := []Exception{
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
	if err := WriteExceptions(&b, list, FormatCSV, now); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 5 || rows[1][6] != `vendor, "legacy" box` || rows[3][5] != "EXPIRED" {
		t.Errorf("csv round trip: %v %q", err, rows)
	}
	b.Reset()
	if err := WriteExceptions(&b, list, FormatTable, now); err != nil || !strings.Contains(b.String(), "exc-3") {
		t.Errorf("table: %v\n%s", err, b.String())
	}
	if err := WriteExceptions(&b, list, "pdf", now); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestWriteHostsCSV(t *testing.T) {
	var b bytes.Buffer
	hosts := []Host{{Hostname: "web-1", Env: "prod", Tags: []string{"env=prod", "external"}, Accounts: 3}}
	if err := WriteHosts(&b, hosts, FormatCSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][0] != "web-1" || rows[1][4] != "env=prod external" || rows[1][5] != "3" {
		t.Errorf("hosts csv: %v %q", err, rows)
	}
}

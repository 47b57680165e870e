package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/internal/svgtest"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// readmeChart is the README's burndown image, written by
// TestPlanChartThroughServer with -update.
const readmeChart = "../docs/plan-chart.svg"

// TestPlanChartThroughServer runs a rollout of 70 days on the moved clock:
// phases for the four tiers set through the server, one account's static
// credential removed every few days, the server's sweep snapshotting each
// day. The chart the server draws has a panel per tier, one point per day,
// and each phase's end as a line. With -update it is written to
// docs/plan-chart.svg, the README's image.
func TestPlanChartThroughServer(t *testing.T) {
	e := newEnv(t, true)
	ctx := audit.WithActor(context.Background(), "test")
	s, err := New(Options{Inventory: e.inv, Issuer: e.iss, CA: e.ca, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	op, _, err := access.New(e.inv.Store(), nil).Create(ctx, "planner", access.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string) []byte {
		t.Helper()
		code, b := e.operatorCall(op, method, path, body)
		if code != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, code, b)
		}
		return b
	}

	// The estate: privileged accounts with SSH keys (tier 1), a vendor's
	// accounts with SSH keys (tier 2), critical batch jobs
	// (tier 3) and the rest (tier 4), each with a static credential.
	type acct struct {
		host, name string
		tier       inventory.Tier
		gone       int // the day its static credential is removed (0: never)
	}
	estate := []acct{
		{"db1", "dbadmin", 1, 9}, {"db1", "backup", 1, 17}, {"db1", "ops", 1, 26},
		{"edge1", "sftp-acme", 2, 20}, {"edge1", "partner-api", 2, 31}, {"edge1", "ci-deploy", 2, 38}, {"edge1", "mirror", 2, 61},
		{"batch1", "ledger", 3, 33}, {"batch1", "payroll", 3, 44}, {"batch1", "reports", 3, 52}, {"batch1", "archive", 3, 0},
		{"app1", "metrics", 4, 41}, {"app1", "cache", 4, 47}, {"app1", "mailer", 4, 55}, {"app1", "indexer", 4, 0}, {"app1", "thumbs", 4, 0},
	}
	scanHost := func(host string, day int) {
		t.Helper()
		var accounts []scan.Account
		for i, a := range estate {
			if a.host != host {
				continue
			}
			var creds []scan.Credential
			if a.gone == 0 || day < a.gone {
				typ, where := scan.CredPassword, "/etc/shadow:1"
				if a.tier <= 2 {
					typ, where = scan.CredSSHAuthorizedKey, "/home/"+a.name+"/.ssh/authorized_keys:1"
				}
				creds = append(creds, inventorytest.Cred(typ, where, a.name+"-secret"))
			}
			sa := inventorytest.Account(a.name, 2000+i, creds...)
			sa.UsedBy = []scan.Usage{{Type: scan.UsageSystemd, Name: a.name + ".service"}}
			if a.tier == 1 {
				sa.Privileged, sa.PrivilegeReasons = true, []string{"sudo: ALL"}
			}
			accounts = append(accounts, sa)
		}
		if _, err := e.inv.Ingest(ctx, inventorytest.NewReport(host, "", e.clock.Now(), accounts...)); err != nil {
			t.Fatal(err)
		}
	}
	hosts := []string{"db1", "edge1", "batch1", "app1"}
	for _, h := range hosts {
		scanHost(h, 0)
	}
	// Tier 2: a vendor's accounts (tagging a host external would only
	// hold while its SSH keys are there).
	if _, err := e.inv.AddVendor(ctx, inventory.Vendor{Name: "acme", Owner: "team-vendors", Contact: "ops@acme.example", Route: "sftp"}); err != nil {
		t.Fatal(err)
	}
	for _, a := range estate {
		if a.tier == 2 {
			if err := e.inv.TagAccount(ctx, a.name, []string{inventory.TagThirdPart + "acme"}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := e.inv.TagHost(ctx, "batch1", []string{inventory.TagCritical}, nil); err != nil {
		t.Fatal(err)
	}

	start := e.clock.Now().UTC()
	date := func(days int) string { return start.AddDate(0, 0, days).Format(time.DateOnly) }
	for _, p := range []struct {
		tier       int
		owner      string
		start, end int
	}{{1, "team-security", 0, 30}, {2, "team-network", 7, 45}, {3, "team-finance-apps", 14, 60}, {4, "team-platform", 21, 80}} {
		call("PUT", fmt.Sprintf("/v1/plan/%d", p.tier), fmt.Sprintf(`{"target":"short_lived_cert","owner":%q,"start":%q,"end":%q}`,
			p.owner, date(p.start), date(p.end)))
	}
	const days = 70
	for day := 0; day < days; day++ {
		for _, h := range hosts {
			scanHost(h, day)
		}
		s.Sweep(ctx)
		e.clock.Advance(24 * time.Hour)
	}

	b := call("GET", "/v1/plan/chart", "")
	root, err := svgtest.Parse(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	panels := root.Tiers()
	if len(panels) != 4 {
		t.Fatalf("%d panels, want one per tier:\n%s", len(panels), b)
	}
	for i, p := range panels {
		lines := p.All("polyline")
		// One point a day, and today's, taken when the chart is read.
		if len(lines) == 0 || lines[0].Points() != days+1 {
			t.Errorf("tier %d: want a burndown of %d points: %d polylines", i+1, days+1, len(lines))
		}
		if !strings.Contains(strings.Join(p.Texts(), " "), date([]int{30, 45, 60, 80}[i])) {
			t.Errorf("tier %d: the phase end %s is not drawn: %q", i+1, date([]int{30, 45, 60, 80}[i]), p.Texts())
		}
	}
	if *update {
		if err := os.WriteFile(filepath.FromSlash(readmeChart), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

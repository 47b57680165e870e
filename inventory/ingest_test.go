package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func open(t *testing.T) (*inventory.Inventory, *clock) {
	t.Helper()
	c := &clock{t: t0}
	inv, _ := inventorytest.Open(t, inventory.Options{Now: c.Now})
	return inv, c
}

var ctx = audit.WithActor(context.Background(), "test")

func mustIngest(t *testing.T, inv *inventory.Inventory, r *scan.Report) inventory.IngestResult {
	t.Helper()
	res, err := inv.Ingest(ctx, r)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return res
}

func kinds(evs []inventory.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

func TestIngestSequence(t *testing.T) {
	inv, clk := open(t)
	key1 := inventorytest.Cred(scan.CredSSHAuthorizedKey, "/home/app/.ssh/authorized_keys:1", "k1")
	key2 := inventorytest.Cred(scan.CredSSHAuthorizedKey, "/home/app/.ssh/authorized_keys:2", "k2")
	pw := inventorytest.Cred(scan.CredPassword, "/etc/shadow:3", "pw")
	steps := []struct {
		desc   string
		report *scan.Report
		want   inventory.IngestResult
		// after the step: app's live instances, its static credentials, and its history
		instances, static int
		history           []string
	}{
		{desc: "first scan", report: inventorytest.NewReport("web1", "m1", t0, inventorytest.Account("app", 1001, key1, pw), inventorytest.Account("db", 1002)),
			want:      inventory.IngestResult{Accounts: 2, AccountsNew: 2, CredentialsNew: 2, Events: 2},
			instances: 1, static: 2, history: []string{inventory.EventAccountAppeared}},
		{desc: "same report again changes nothing", report: inventorytest.NewReport("web1", "m1", t0, inventorytest.Account("app", 1001, key1, pw), inventorytest.Account("db", 1002)),
			want:      inventory.IngestResult{Accounts: 2, Unchanged: true},
			instances: 1, static: 2, history: []string{inventory.EventAccountAppeared}},
		{desc: "key rotated, password gone, db gone", report: inventorytest.NewReport("web1", "m1", t0.Add(time.Hour), inventorytest.Account("app", 1001, key2)),
			want:      inventory.IngestResult{Accounts: 1, AccountsGone: 1, CredentialsNew: 1, CredentialsGone: 2, Events: 4},
			instances: 1, static: 1, history: []string{inventory.EventAccountAppeared, inventory.EventCredentialAppeared, inventory.EventCredentialGone, inventory.EventCredentialGone}},
		{desc: "older report is stale", report: inventorytest.NewReport("web1", "m1", t0.Add(30*time.Minute), inventorytest.Account("app", 1001, key1, pw)),
			want:      inventory.IngestResult{Accounts: 1, Stale: true},
			instances: 1, static: 1, history: []string{inventory.EventAccountAppeared, inventory.EventCredentialAppeared, inventory.EventCredentialGone, inventory.EventCredentialGone}},
		{desc: "app gone", report: inventorytest.NewReport("web1", "m1", t0.Add(2*time.Hour), inventorytest.Account("db", 1002)),
			want:      inventory.IngestResult{Accounts: 1, AccountsNew: 1, AccountsGone: 1, CredentialsGone: 1, Events: 2},
			instances: 0, static: 0, history: []string{inventory.EventAccountAppeared, inventory.EventCredentialAppeared, inventory.EventCredentialGone, inventory.EventCredentialGone, inventory.EventAccountGone}},
		{desc: "renamed host with the same machine-id is the same host", report: inventorytest.NewReport("web1.example", "m1", t0.Add(3*time.Hour), inventorytest.Account("app", 1001, key2)),
			want:      inventory.IngestResult{Accounts: 1, AccountsNew: 1, AccountsGone: 1, Events: 2},
			instances: 1, static: 1, history: []string{inventory.EventAccountAppeared, inventory.EventCredentialAppeared, inventory.EventCredentialGone, inventory.EventCredentialGone, inventory.EventAccountGone, inventory.EventAccountAppeared}},
	}
	for _, s := range steps {
		clk.Set(s.report.Host.ScannedAt) // received when scanned
		res := mustIngest(t, inv, s.report)
		res.HostID, res.Hostname = "", ""
		if res != s.want {
			t.Errorf("%s: result %+v, want %+v", s.desc, res, s.want)
		}
		a, err := inv.GetAccount(ctx, "app")
		if err != nil {
			t.Fatalf("%s: %v", s.desc, err)
		}
		if a.AccountSummary.Instances != s.instances || a.Static != s.static {
			t.Errorf("%s: app has %d instances, %d static, want %d, %d", s.desc, a.AccountSummary.Instances, a.Static, s.instances, s.static)
		}
		h, err := inv.AccountHistory(ctx, "app")
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(kinds(h)); got != fmt.Sprint(s.history) {
			t.Errorf("%s: history %v, want %v", s.desc, got, s.history)
		}
	}
	hosts, err := inv.ListHosts(ctx)
	if err != nil || len(hosts) != 1 || hosts[0].Hostname != "web1.example" || hosts[0].Accounts != 1 {
		t.Errorf("hosts = %+v, %v; want one host web1.example with 1 account", hosts, err)
	}
	d, err := inv.GetHost(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	gone := 0
	for _, in := range d.Instances {
		if in.GoneAt != nil {
			gone++
			if in.Account != "db" || !in.GoneAt.Equal(t0.Add(3*time.Hour)) {
				t.Errorf("gone instance %s at %v", in.Account, in.GoneAt)
			}
		}
	}
	if gone != 1 || len(d.Instances) != 2 {
		t.Errorf("host has %d instances, %d gone; want 2, 1", len(d.Instances), gone)
	}
}

func TestIngestRefusesInvalidReport(t *testing.T) {
	inv, _ := open(t)
	r := inventorytest.NewReport("web1", "", t0, inventorytest.Account("app", 1))
	r.Accounts[0].Credentials = []scan.Credential{{Type: "x", Location: "/x", Fingerprint: inventorytest.FP("s")}}
	_, err := inv.Ingest(ctx, r)
	var ve *scan.ValidationError
	if !errors.As(err, &ve) || ve.Field != "accounts[0].credentials[0].type" {
		t.Fatalf("err = %v, want a validation error on accounts[0].credentials[0].type", err)
	}
	if hosts, _ := inv.ListHosts(ctx); len(hosts) != 0 {
		t.Errorf("refused report wrote hosts: %+v", hosts)
	}
}

func TestIngestConcurrentSameAndDistinctHosts(t *testing.T) {
	inv, _ := open(t)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 40; i++ {
		for _, r := range []*scan.Report{inventorytest.Generate(i%20, 12, t0.Add(time.Duration(i/20)*time.Minute)), inventorytest.Generate(100+i, 12, t0)} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := inv.Ingest(ctx, r); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	hosts, err := inv.ListHosts(ctx)
	if err != nil || len(hosts) != 60 {
		t.Fatalf("%d hosts, %v; want 60", len(hosts), err)
	}
	for _, h := range hosts {
		if h.Hostname < "host00020" && !h.LastScan.Equal(t0.Add(time.Minute)) {
			t.Errorf("host %s last scan %v, want the newest report's", h.Hostname, h.LastScan)
		}
	}
	// storetest's cleanup checks summaries against instances.
}

func TestSharedCredentials(t *testing.T) {
	inv, clk := open(t)
	same := inventorytest.Cred(scan.CredSecretFile, "/home/a/.pgpass", "the-same-secret")
	mustIngest(t, inv, inventorytest.NewReport("h1", "", t0, inventorytest.Account("etl", 1, same), inventorytest.Account("solo", 2, inventorytest.Cred(scan.CredPassword, "/etc/shadow:2", "unique"))))
	mustIngest(t, inv, inventorytest.NewReport("h2", "", t0, inventorytest.Account("report", 1, same)))
	shared, err := inv.SharedCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(shared) != 1 || shared[0].HolderCount != 2 || shared[0].Fingerprint != same.Fingerprint ||
		fmt.Sprint(shared[0].Accounts) != "[etl@default report@default]" {
		t.Fatalf("shared = %+v", shared)
	}
	for _, tc := range []struct {
		account string
		want    inventory.Strength
	}{{"etl", inventory.StrengthSharedSecret}, {"report", inventory.StrengthSharedSecret}, {"solo", inventory.StrengthStaticPassword}} {
		a, err := inv.GetAccount(ctx, tc.account)
		if err != nil {
			t.Fatal(err)
		}
		if a.Strength != tc.want {
			t.Errorf("%s strength %v, want %v", tc.account, a.Strength, tc.want)
		}
	}
	// The secret disappears from h2: nothing is shared any more.
	clk.Set(t0.Add(time.Hour))
	mustIngest(t, inv, inventorytest.NewReport("h2", "", t0.Add(time.Hour), inventorytest.Account("report", 1)))
	if shared, _ := inv.SharedCredentials(ctx); len(shared) != 0 {
		t.Errorf("after removal shared = %+v", shared)
	}
}

func TestStrengthOrder(t *testing.T) {
	for _, tc := range []struct {
		creds []scan.Credential
		want  inventory.Strength
	}{
		{nil, inventory.StrengthNone},
		{[]scan.Credential{inventorytest.Cred(scan.CredSecretEnv, "unit x", "a")}, inventory.StrengthSecretFile},
		{[]scan.Credential{inventorytest.Cred(scan.CredSecretEnv, "unit x", "a"), inventorytest.Cred(scan.CredSSHPrivateKey, "/k", "b")}, inventory.StrengthStaticSSHKey},
		{[]scan.Credential{inventorytest.Cred(scan.CredSSHAuthorizedKey, "/k", "b"), inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", "c")}, inventory.StrengthStaticPassword},
		{[]scan.Credential{{Type: scan.CredEmptyPassword, Location: "/etc/shadow:1"}, inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", "c")}, inventory.StrengthEmptyPassword},
	} {
		t.Run(tc.want.String(), func(t *testing.T) {
			inv, _ := open(t)
			mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("a", 1, tc.creds...)))
			a, err := inv.GetAccount(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			if a.Strength != tc.want {
				t.Errorf("strength %v, want %v", a.Strength, tc.want)
			}
		})
	}
}

func TestFingerprintKeyIsStable(t *testing.T) {
	c := &clock{t: t0}
	inv, path := inventorytest.Open(t, inventory.Options{Now: c.Now})
	k1, err := inv.FingerprintKey(ctx)
	if err != nil || len(k1) != 32 {
		t.Fatalf("key %d bytes, %v", len(k1), err)
	}
	k2, _ := inv.FingerprintKey(ctx)
	inventorytest.CheckClose(t, inv)
	inv, err = inventory.Open(ctx, path, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inventorytest.CheckClose(t, inv)
	k3, _ := inv.FingerprintKey(ctx)
	if string(k1) != string(k2) || string(k1) != string(k3) {
		t.Error("fingerprint key changed")
	}
	other, _ := inventorytest.Open(t, inventory.Options{})
	if k4, _ := other.FingerprintKey(ctx); string(k4) == string(k1) {
		t.Error("two inventories share a fingerprint key")
	}
}

func TestListAccountsFilters(t *testing.T) {
	inv, _ := open(t)
	mustIngest(t, inv, inventorytest.Generate(0, 12, t0))
	mustIngest(t, inv, inventorytest.Generate(1, 12, t0))
	if err := inv.SetOwner(ctx, "root", inventory.Owner{Name: "ops"}); err != nil {
		t.Fatal(err)
	}
	count := func(f inventory.Filter) int {
		t.Helper()
		l, err := inv.ListAccounts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	for _, tc := range []struct {
		desc string
		f    inventory.Filter
		want int
	}{
		{"all", inventory.Filter{}, 10},                                  // sys08, sys09 are unused system accounts
		{"all with system accounts", inventory.Filter{System: true}, 12}, // listed on request
		{"tier 1", inventory.Filter{Tier: 1}, 2},                         // root, deploy
		{"tier 2", inventory.Filter{Tier: 2}, 2},                         // postgres, nginx listen
		{"no owner", inventory.Filter{NoOwner: true}, 9},                 // root has one
		{"static", inventory.Filter{Static: true}, 9},                    // all but nginx
		{"host", inventory.Filter{Host: "host00001"}, 10},                // same accounts on both
		{"tier 1 without owner", inventory.Filter{Tier: 1, NoOwner: true}, 1},
		{"unknown env", inventory.Filter{Env: "prod"}, 0},
	} {
		if got := count(tc.f); got != tc.want {
			t.Errorf("%s: %d accounts, want %d", tc.desc, got, tc.want)
		}
	}
	if _, err := inv.ListAccounts(ctx, inventory.Filter{Host: "nope"}); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("unknown host filter: %v", err)
	}
}

// TestReportsFromTheFuture is issue 15's fourth finding: a report with
// scanned_at far ahead was accepted and its host's later scans were all
// "stale". Reports more than Options.MaxClockSkew ahead are refused.
func TestReportsFromTheFuture(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		skew    time.Duration // Options.MaxClockSkew
		ahead   time.Duration
		refused bool
	}{
		{"2099", 0, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).Sub(t0), true},
		{"six minutes ahead", 0, 6 * time.Minute, true},
		{"four minutes ahead", 0, 4 * time.Minute, false},
		{"an hour ahead with a skew of two allowed", 2 * time.Hour, time.Hour, false},
		{"three hours ahead with a skew of two allowed", 2 * time.Hour, 3 * time.Hour, true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := &clock{t: t0}
			inv, _ := inventorytest.Open(t, inventory.Options{Now: c.Now, MaxClockSkew: tc.skew})
			mustIngest(t, inv, inventorytest.NewReport("app1", "m1", t0.Add(-time.Hour), inventorytest.Account("billing", 5)))
			if err := inv.RecordIssued(ctx, "app1", "", "c1", t0, t0.Add(time.Hour), false); err != nil {
				t.Fatal(err)
			}
			at := t0.Add(tc.ahead)
			_, err := inv.IngestAs(ctx, inventorytest.NewReport("app1", "m1", at), inventory.Submitter{Host: "app1"})
			if !tc.refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ve *scan.ValidationError
			if !errors.As(err, &ve) || ve.Field != "host.scanned_at" || !strings.Contains(err.Error(), t0.Format(time.RFC3339)) ||
				!strings.Contains(err.Error(), at.Format(time.RFC3339)) {
				t.Fatalf("err = %v, want a refusal of host.scanned_at naming it and the server's time", err)
			}
			if e := lastAudit(t, inv); e.Outcome != audit.OutcomeRefused || e.Actor != "host:app1" || !strings.Contains(e.Reason, "host.scanned_at") {
				t.Errorf("audit %+v", e)
			}
			// The host is not frozen: the next real scan is taken.
			c.Set(t0.Add(time.Minute))
			if res := mustIngest(t, inv, inventorytest.NewReport("app1", "m1", t0.Add(time.Minute))); res.Stale || res.AccountsGone != 1 {
				t.Errorf("next scan: %+v", res)
			}
		})
	}
}

// TestScansOrderedByReceiveTime: a host whose clock runs ahead (within the
// allowed skew) or behind is ordered by when the inventory received its
// reports, so it cannot freeze itself.
func TestScansOrderedByReceiveTime(t *testing.T) {
	inv, clk := open(t)
	steps := []struct {
		desc      string
		recv      time.Time
		scannedAt time.Time
		accounts  []scan.Account
		stale     bool
		live      int
	}{
		{"clock four minutes ahead", t0, t0.Add(4 * time.Minute), []scan.Account{inventorytest.Account("a", 1), inventorytest.Account("b", 2)}, false, 2},
		{"clock set right: scanned before the last scan, received after", t0.Add(time.Minute), t0.Add(time.Minute), []scan.Account{inventorytest.Account("a", 1)}, false, 1},
		{"clock an hour behind", t0.Add(2 * time.Minute), t0.Add(-time.Hour), []scan.Account{inventorytest.Account("a", 1), inventorytest.Account("b", 2)}, false, 2},
		{"received before the newest (a delayed request)", t0.Add(90 * time.Second), t0.Add(-2 * time.Hour), nil, true, 2},
	}
	for _, s := range steps {
		clk.Set(s.recv)
		res := mustIngest(t, inv, inventorytest.NewReport("h", "m", s.scannedAt, s.accounts...))
		d, err := inv.GetHost(ctx, "h")
		if err != nil {
			t.Fatal(err)
		}
		if res.Stale != s.stale || d.Accounts != s.live {
			t.Errorf("%s: %+v, host has %d accounts; want stale %v, %d", s.desc, res, d.Accounts, s.stale, s.live)
		}
	}
}

// TestIngestAudited is issue 15's ninth finding: every accepted and
// refused report is in the audit log, with who sent it, the host and what
// it changed.
func TestIngestAudited(t *testing.T) {
	inv, clk := open(t)
	if err := inv.RecordIssued(ctx, "app1", "", "c1", t0, t0.Add(time.Hour), false); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("enrolling an unknown host: %v", err)
	}
	pw := inventorytest.Cred(scan.CredPassword, "/etc/shadow:3", "pw")
	invalid := inventorytest.NewReport("app1", "m1", t0, inventorytest.Account("app", 5))
	invalid.Accounts[0].Credentials = []scan.Credential{{Type: "x", Location: "/x", Fingerprint: inventorytest.FP("s")}}
	for _, tc := range []struct {
		desc   string
		do     func() error
		actor  string
		host   string
		ok     bool
		detail string // in Detail (accepted) or Reason (refused)
	}{
		{"accepted from an operator", func() error {
			_, err := inv.IngestAs(ctx, inventorytest.NewReport("app1", "m1", t0, inventorytest.Account("app", 5, pw), inventorytest.Account("db", 6)),
				inventory.Submitter{Operator: "ops"})
			return err
		}, "token:ops", "app1", true, "2 accounts, 2 new, 0 gone; credentials 1 new, 0 gone"},
		{"the same report again", func() error {
			_, err := inv.IngestAs(ctx, inventorytest.NewReport("app1", "m1", t0, inventorytest.Account("app", 5, pw), inventorytest.Account("db", 6)),
				inventory.Submitter{Operator: "ops"})
			return err
		}, "token:ops", "app1", true, "unchanged"},
		{"accepted from the context's actor", func() error {
			clk.Set(t0.Add(time.Minute))
			_, err := inv.Ingest(ctx, inventorytest.NewReport("app1", "m1", t0.Add(time.Minute), inventorytest.Account("app", 5)))
			return err
		}, "test", "app1", true, "1 accounts, 0 new, 1 gone; credentials 0 new, 1 gone"},
		{"refused: invalid", func() error {
			_, err := inv.IngestAs(ctx, invalid, inventory.Submitter{Host: "app1"})
			return err
		}, "host:app1", "app1", false, "accounts[0].credentials[0].type"},
		{"refused: no report", func() error {
			_, err := inv.IngestAs(ctx, nil, inventory.Submitter{Operator: "ops"})
			return err
		}, "token:ops", "", false, "report: missing"},
		{"refused before the inventory", func() error {
			return inv.AuditRefusedScan(ctx, inventory.Submitter{Host: "app1"}, "request body: unexpected EOF "+strings.Repeat("x", 4000))
		}, "host:app1", "app1", false, "unexpected EOF"},
	} {
		before, _ := audit.List(ctx, inv, audit.Filter{})
		err := tc.do()
		if tc.ok && err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		after, _ := audit.List(ctx, inv, audit.Filter{})
		if len(after) != len(before)+1 {
			t.Errorf("%s: %d audit records added, want 1", tc.desc, len(after)-len(before))
			continue
		}
		e := after[len(after)-1]
		text := e.Reason
		if tc.ok {
			text = e.Detail
		}
		outcome := audit.OutcomeRefused
		if tc.ok {
			outcome = audit.OutcomeOK
		}
		if e.Action != audit.ActionScanIngest || e.Outcome != outcome || e.Actor != tc.actor || e.Host != tc.host ||
			!strings.Contains(text, tc.detail) || len(e.Reason) > 1100 {
			t.Errorf("%s: audit record %+v", tc.desc, e)
		}
	}
	if _, err := audit.Verify(ctx, inv); err != nil {
		t.Error(err)
	}
}

// TestReportCannotStopAnotherHostsRenewals is issue 15's third finding: a
// scan from app2 (staging) listing an account named billing made
// billing@prod on app1, enrolled, "shared across environments", and its
// renewals were refused. The new name waits for review instead.
func TestReportCannotStopAnotherHostsRenewals(t *testing.T) {
	inv, clk := open(t)
	for host, env := range map[string]string{"app1": "prod", "app2": "staging"} {
		if err := inv.TagHost(ctx, host, []string{"env=" + env}, nil); err != nil {
			t.Fatal(err)
		}
	}
	mustIngest(t, inv, inventorytest.NewReport("app1", "m1", t0, inventorytest.Account("billing", 501)))
	if err := inv.SetOwner(ctx, "billing", inventory.Owner{Name: "payments"}); err != nil {
		t.Fatal(err)
	}
	if err := inv.RecordIssued(ctx, "app1", "billing", "b1", t0, t0.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(time.Minute))
	res := mustIngest(t, inv, inventorytest.NewReport("app2", "m2", t0.Add(time.Minute), inventorytest.Account("billing", 501)))
	if res.PendingReview != 1 {
		t.Errorf("ingest result %+v, want 1 pending review", res)
	}
	for _, tc := range []struct {
		host                  string
		shared, pending       bool
		serviceAccount, owner string
	}{
		{"app1", false, false, "billing@prod", "payments"}, // keeps renewing
		{"app2", true, true, "billing@staging", ""},        // cannot enroll until an operator decides
	} {
		s, err := inv.Identity(ctx, tc.host, "billing")
		if err != nil {
			t.Fatal(err)
		}
		owner := ""
		if s.Owner != nil {
			owner = s.Owner.Name
		}
		if s.SharedAcrossEnvs != tc.shared || s.PendingReview != tc.pending || s.ServiceAccount != tc.serviceAccount || owner != tc.owner {
			t.Errorf("Identity(%s, billing) = %+v", tc.host, s)
		}
	}
	// A renewal of the enrolled identity goes through.
	if err := inv.RecordIssued(ctx, "app1", "billing", "b2", t0, t0.Add(2*time.Hour), true); err != nil {
		t.Error(err)
	}
	// The operator is told: a report line and a history event.
	rep, err := inv.Report(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.PendingReview) != 1 {
		t.Fatalf("report pending review: %+v", rep.PendingReview)
	}
	pr := rep.PendingReview[0]
	if pr.Account != "billing@staging" || pr.Name != "billing" || pr.Env != "staging" || fmt.Sprint(pr.Established) != "[prod]" ||
		fmt.Sprint(pr.Hosts) != "[app2]" || pr.Instances != 1 {
		t.Errorf("report line %+v", pr)
	}
	h, err := inv.AccountHistory(ctx, "billing@staging")
	if err != nil {
		t.Fatal(err)
	}
	last := h[len(h)-1]
	if last.Kind != inventory.EventPendingReview || !strings.Contains(last.Detail, "roster account merge billing@prod billing@staging") {
		t.Errorf("history %+v", h)
	}
	if h, _ := inv.AccountHistory(ctx, "billing@prod"); strings.Contains(kindsText(h), inventory.EventPendingReview) {
		t.Errorf("the established identity's history changed: %v", kindsText(h))
	}
	// The operator decides: the same identity. Nothing is pending or shared.
	if err := inv.Merge(ctx, "billing@staging", "billing@prod"); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"app1", "app2"} {
		if s, _ := inv.Identity(ctx, host, "billing"); s.SharedAcrossEnvs || s.PendingReview || s.ServiceAccount != "billing@prod" {
			t.Errorf("after the merge Identity(%s, billing) = %+v", host, s)
		}
	}
	if rep, _ := inv.Report(ctx, clk.Now()); len(rep.PendingReview) != 0 {
		t.Errorf("after the merge: %+v", rep.PendingReview)
	}
	// A later scan of app2 keeps it merged and raises nothing.
	clk.Set(t0.Add(2 * time.Minute))
	if res := mustIngest(t, inv, inventorytest.NewReport("app2", "m2", t0.Add(2*time.Minute), inventorytest.Account("billing", 501))); res.PendingReview != 0 {
		t.Errorf("rescan: %+v", res)
	}
}

func TestSubmitterIsOneOrTheOther(t *testing.T) {
	inv, _ := open(t)
	_, err := inv.IngestAs(ctx, inventorytest.NewReport("h", "", t0), inventory.Submitter{Host: "h", Operator: "ops"})
	var ie *inventory.InvalidError
	if !errors.As(err, &ie) || ie.Field != "submitter" {
		t.Errorf("err = %v", err)
	}
	for _, s := range []struct {
		sub  inventory.Submitter
		want string
	}{{inventory.Submitter{Host: "h"}, "host:h"}, {inventory.Submitter{Operator: "ops"}, "token:ops"}, {inventory.Submitter{}, "test"}} {
		if got := s.sub.Actor(ctx); got != s.want {
			t.Errorf("%+v.Actor = %q, want %q", s.sub, got, s.want)
		}
	}
}

package inventory_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/render"
	"github.com/rosterhq/roster/scan"
)

func TestAddExceptionRefusals(t *testing.T) {
	inv, _ := open(t)
	pw := func(s string) scan.Credential { return inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", s) }
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("billing-batch", 5, pw("p")),
		inventorytest.Account("ownerless", 6, pw("q")), inventorytest.Account("nocred", 7)))
	// An exception's owner answers for the exception; the account needs its own.
	for _, a := range []string{"billing-batch", "nocred"} {
		if err := inv.SetOwner(ctx, a, inventory.Owner{Name: "team-billing"}); err != nil {
			t.Fatal(err)
		}
	}
	ok := inventory.Exception{Account: "billing-batch", Reason: "vendor tool", Owner: "team-billing", Expires: t0.AddDate(0, 0, 90)}
	for _, tc := range []struct {
		desc  string
		edit  func(e *inventory.Exception)
		field string
		says  string
	}{
		{"no owner", func(e *inventory.Exception) { e.Owner = "" }, "owner", "an exception without an owner becomes permanent"},
		{"placeholder owner", func(e *inventory.Exception) { e.Owner = "TBD" }, "owner", `"TBD" is a placeholder`},
		{"the account as owner", func(e *inventory.Exception) { e.Owner = "billing-batch" }, "owner", "the account's own name"},
		{"account without an owner", func(e *inventory.Exception) { e.Account = "ownerless" }, "account", "account ownerless@default has no owner"},
		{"account without a static credential", func(e *inventory.Exception) { e.Account = "nocred" }, "account", "holds no static credential: nothing to except"},
		{"credential type the account lacks", func(e *inventory.Exception) { e.Credential = scan.CredSSHAuthorizedKey }, "credential",
			"holds no ssh_authorized_key credential: nothing to except (it holds password)"},
		{"no expiry", func(e *inventory.Exception) { e.Expires = time.Time{} }, "expires", "needs --expires"},
		{"in the past", func(e *inventory.Exception) { e.Expires = t0.Add(-time.Hour) }, "expires", "not in the future"},
		{"too far ahead", func(e *inventory.Exception) { e.Expires = t0.AddDate(0, 0, 181) }, "expires", "more than 180 days"},
		{"no reason", func(e *inventory.Exception) { e.Reason = " " }, "reason", "needs --reason"},
		{"unknown credential type", func(e *inventory.Exception) { e.Credential = "magic" }, "credential", "unknown credential type"},
	} {
		e := ok
		tc.edit(&e)
		_, err := inv.AddException(ctx, e)
		var ie *inventory.InvalidError
		if !errors.As(err, &ie) || ie.Field != tc.field || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: err = %v, want field %s saying %q", tc.desc, err, tc.field, tc.says)
		}
	}
	for account, hint := range map[string]string{"ownerless": "roster owner set ownerless@default OWNER", "nocred": "roster accounts show nocred@default"} {
		_, err := inv.AddException(ctx, inventory.Exception{Account: account, Reason: "r", Owner: "team-billing", Expires: t0.AddDate(0, 0, 9)})
		var ie *inventory.InvalidError
		if !errors.As(err, &ie) || !strings.Contains(ie.Hint(), hint) {
			t.Errorf("%s: hint of %v, want %q", account, err, hint)
		}
	}
	if _, err := inv.AddException(ctx, ok); err != nil {
		t.Fatal(err)
	}
	// The policy can allow longer exceptions.
	c := &clock{t: t0}
	inv2, _ := inventorytest.Open(t, inventory.Options{Now: c.Now, MaxExceptionDays: 365})
	mustIngest(t, inv2, inventorytest.NewReport("h", "", t0, inventorytest.Account("a", 5, pw("p"))))
	if err := inv2.SetOwner(ctx, "a", inventory.Owner{Name: "o"}); err != nil {
		t.Fatal(err)
	}
	// Without a phase tier 4's default (180 days) caps it; a phase's
	// --max-exception allows more, within MaxExceptionDays.
	if _, err := inv2.AddException(ctx, inventory.Exception{Account: "a", Reason: "r", Owner: "o", Expires: t0.AddDate(0, 0, 300)}); err == nil {
		t.Errorf("300 days in tier 4 without a phase: accepted")
	}
	setPhases(t, inv2, t0, 4, 365*24*time.Hour)
	if _, err := inv2.AddException(ctx, inventory.Exception{Account: "a", Reason: "r", Owner: "o", Expires: t0.AddDate(0, 0, 300)}); err != nil {
		t.Errorf("300 days with MaxExceptionDays 365 and a 365d phase: %v", err)
	}
}

// TestExceptionLifecycleAndReport walks an account from static through
// exception, expired exception, enrolled, managed and lapsed, checking the
// status and the per-tier report at each step.
func TestExceptionLifecycleAndReport(t *testing.T) {
	inv, clk := open(t)
	pw := inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", "p")
	root := inventorytest.Account("root", 0, inventorytest.Cred(scan.CredPassword, "/etc/shadow:0", "r"))
	root.Privileged = true
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("app", 5, pw), root))

	status := func(want inventory.Status) {
		t.Helper()
		a, err := inv.GetAccount(ctx, "app")
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != want {
			t.Errorf("status %s, want %s", a.Status, want)
		}
	}
	tier4 := func(now time.Time) inventory.TierStats {
		t.Helper()
		r, err := inv.Report(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		return r.Tiers[3]
	}
	status(inventory.StatusStatic)
	if got := tier4(t0); got.Accounts != 1 || got.Static != 1 || got.Covered != 0 {
		t.Errorf("static: tier 4 = %+v", got)
	}
	// An exception needs an account owner besides its own.
	if err := inv.SetOwner(ctx, "app", inventory.Owner{Name: "team"}); err != nil {
		t.Fatal(err)
	}
	exc, err := inv.AddException(ctx, inventory.Exception{Account: "app", Reason: "legacy", Owner: "team", Expires: t0.AddDate(0, 0, 20)})
	if err != nil {
		t.Fatal(err)
	}
	status(inventory.StatusException)
	if got := tier4(t0); got.Covered != 1 || got.ExpiringExceptions != 1 || got.ExpiredExceptions != 0 {
		t.Errorf("exception: tier 4 = %+v", got)
	}
	if l, _ := inv.ListExceptions(ctx, inventory.ExceptionFilter{ExpiringWithin: 30 * 24 * time.Hour}); len(l) != 1 {
		t.Errorf("expiring within 30d: %d", len(l))
	}
	if l, _ := inv.ListExceptions(ctx, inventory.ExceptionFilter{ExpiringWithin: 7 * 24 * time.Hour}); len(l) != 0 {
		t.Errorf("expiring within 7d: %d", len(l))
	}
	// Time passes: the exception expires and is a violation.
	clk.Set(t0.AddDate(0, 0, 21))
	status(inventory.StatusStatic)
	if got := tier4(clk.Now()); got.Covered != 0 || got.ExpiredExceptions != 1 {
		t.Errorf("expired: tier 4 = %+v", got)
	}
	// Renewing (a new exception) ends the violation; the new one covers.
	renewal, err := inv.AddException(ctx, inventory.Exception{Account: "app", Reason: "legacy, renewed", Owner: "team", Expires: clk.Now().AddDate(0, 0, 10)})
	if err != nil {
		t.Fatal(err)
	}
	status(inventory.StatusException)
	if got := tier4(clk.Now()); got.Covered != 1 || got.ExpiredExceptions != 0 {
		t.Errorf("renewed: tier 4 = %+v", got)
	}
	if err := inv.CloseException(ctx, renewal.ID, "withdrawn"); err != nil {
		t.Fatal(err)
	}
	if got := tier4(clk.Now()); got.ExpiredExceptions != 1 {
		t.Errorf("renewal withdrawn: tier 4 = %+v", got)
	}
	if n, err := inv.Sweep(ctx); err != nil || n != 1 {
		t.Errorf("sweep: %d events, %v", n, err)
	}
	if n, _ := inv.Sweep(ctx); n != 0 {
		t.Errorf("second sweep: %d events", n)
	}
	if err := inv.CloseException(ctx, exc.ID, "replaced by certificate"); err != nil {
		t.Fatal(err)
	}
	if got := tier4(clk.Now()); got.ExpiredExceptions != 0 {
		t.Errorf("closed: tier 4 = %+v", got)
	}
	// Enrolled: a certificate for the only instance.
	now := clk.Now()
	if err := inv.RecordIssued(ctx, "h", "app", "01ab", now.Add(-time.Minute), now.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	status(inventory.StatusEnrolled)
	if got := tier4(now); got.ShortLived != 1 || got.Static != 1 {
		t.Errorf("enrolled: tier 4 = %+v", got)
	}
	// A later scan still finds the password: enrolled, not managed.
	mustIngest(t, inv, inventorytest.NewReport("h", "", now.Add(time.Minute), inventorytest.Account("app", 5, pw), root))
	status(inventory.StatusEnrolled)
	// Renewal, then a scan without the password: managed.
	clk.Set(now.Add(30 * time.Minute))
	if err := inv.RecordIssued(ctx, "h", "app", "02cd", clk.Now(), clk.Now().Add(time.Hour), true); err != nil {
		t.Fatal(err)
	}
	mustIngest(t, inv, inventorytest.NewReport("h", "", clk.Now().Add(time.Minute), inventorytest.Account("app", 5), root))
	status(inventory.StatusManaged)
	a, _ := inv.GetAccount(ctx, "app")
	if a.Strength != inventory.StrengthShortLivedCert || a.Instances[0].Cert.Serial != "02cd" || a.Instances[0].Cert.LastRenewal.IsZero() {
		t.Errorf("managed account: strength %v, cert %+v", a.Strength, a.Instances[0].Cert)
	}
	if got := tier4(clk.Now()); got.ShortLived != 1 || got.Managed != 1 || got.Static != 0 {
		t.Errorf("managed: tier 4 = %+v", got)
	}
	// No renewal: lapsed.
	clk.Set(clk.Now().Add(2 * time.Hour))
	status(inventory.StatusLapsed)
	if got := tier4(clk.Now()); got.Lapsed != 1 || got.ShortLived != 0 {
		t.Errorf("lapsed: tier 4 = %+v", got)
	}
	if n, err := inv.Sweep(ctx); err != nil || n != 1 {
		t.Errorf("sweep after lapse: %d events, %v", n, err)
	}
	// Revocation ends it; history tells the story.
	if err := inv.RecordRevoked(ctx, "h", "app", "02cd", "key compromise"); err != nil {
		t.Fatal(err)
	}
	status(inventory.StatusNone)
	h, _ := inv.AccountHistory(ctx, "app")
	want := "account appeared,owner set,exception added,exception expired,exception added,exception closed,exception closed,certificate issued,status changed,credential gone,status changed,certificate revoked"
	if kindsText(h) != want {
		t.Errorf("history\n got %s\nwant %s", kindsText(h), want)
	}
	// The report lists the ownerless privileged root first.
	r, _ := inv.Report(ctx, clk.Now())
	if len(r.OwnerlessPrivileged) != 1 || r.OwnerlessPrivileged[0].Name != "root" {
		t.Errorf("ownerless privileged = %+v", r.OwnerlessPrivileged)
	}
	for _, f := range []string{"table", "json", "csv", "markdown"} {
		var buf bytes.Buffer
		if err := render.Report(&buf, r, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out := buf.String()
		if !strings.Contains(out, "root@default") || !strings.Contains(out, "1 privileged") {
			t.Errorf("%s report lacks the ownerless root or tier names:\n%s", f, out)
		}
		if f == "json" && !json.Valid(buf.Bytes()) {
			t.Errorf("json report is not JSON")
		}
	}
	if err := render.Report(&bytes.Buffer{}, r, "yaml"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestWriteAccounts(t *testing.T) {
	inv, _ := open(t)
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("app", 5, inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", "p"))))
	list, err := inv.ListAccounts(ctx, inventory.Filter{Static: true})
	if err != nil || len(list) != 1 {
		t.Fatalf("%d static accounts, %v", len(list), err)
	}
	for f, want := range map[string]string{"table": "app@default", "json": `"key": "app@default"`, "csv": "app@default,app,default,4,"} {
		var buf bytes.Buffer
		if err := render.Accounts(&buf, list, f); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), want) {
			t.Errorf("%s output lacks %q:\n%s", f, want, buf.String())
		}
	}
}

func TestIdentity(t *testing.T) {
	inv, clk := open(t)
	if err := inv.TagHost(ctx, "p1", []string{"env=prod"}, nil); err != nil {
		t.Fatal(err)
	}
	mustIngest(t, inv, inventorytest.NewReport("p1", "", t0, inventorytest.Account("app", 5), inventorytest.Account("old", 6)))
	mustIngest(t, inv, inventorytest.NewReport("s1", "", t0, inventorytest.Account("app", 5)))
	if err := inv.SetOwner(ctx, "app@prod", inventory.Owner{Name: "team"}); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(time.Hour))
	mustIngest(t, inv, inventorytest.NewReport("p1", "", t0.Add(time.Hour), inventorytest.Account("app", 5)))
	for _, tc := range []struct {
		host, account string
		want          inventory.IdentityState
	}{
		// s1's scan found app in a second environment: app@default waits
		// for review, app@prod is left alone.
		{"p1", "app", inventory.IdentityState{Host: "p1", Account: "app", HostKnown: true, Exists: true, ServiceAccount: "app@prod", Env: "prod",
			Owner: &inventory.Owner{Name: "team"}, Tier: 4}},
		{"s1", "app", inventory.IdentityState{Host: "s1", Account: "app", HostKnown: true, Exists: true, ServiceAccount: "app@default", Env: "default",
			SharedAcrossEnvs: true, PendingReview: true, Tier: 4}},
		{"p1", "old", inventory.IdentityState{Host: "p1", Account: "old", HostKnown: true, Exists: true, Gone: true, ServiceAccount: "old@prod", Env: "prod", Tier: 4}},
		{"p1", "ghost", inventory.IdentityState{Host: "p1", Account: "ghost", HostKnown: true, Env: "prod"}},
		{"nohost", "app", inventory.IdentityState{Host: "nohost", Account: "app"}},
		{"s1", "", inventory.IdentityState{Host: "s1", HostKnown: true, Exists: true, Env: "default"}},
	} {
		got, err := inv.Identity(ctx, tc.host, tc.account)
		if err != nil {
			t.Fatal(err)
		}
		got.GoneAt = nil
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(tc.want)
		if string(g) != string(w) {
			t.Errorf("Identity(%s, %s)\n got %s\nwant %s", tc.host, tc.account, g, w)
		}
	}
	// Host identity certificates.
	if err := inv.RecordIssued(ctx, "s1", "", "0aa", t0, t0.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if s, _ := inv.Identity(ctx, "s1", ""); s.Cert == nil || s.Cert.Serial != "0aa" {
		t.Errorf("host cert %+v", s.Cert)
	}
	if err := inv.RecordRevoked(ctx, "s1", "", "0aa", "decommissioned"); err != nil {
		t.Fatal(err)
	}
	if s, _ := inv.Identity(ctx, "s1", ""); s.Cert == nil || s.Cert.RevokedAt == nil {
		t.Errorf("host cert after revoke %+v", s.Cert)
	}
	for _, id := range [][2]string{{"nohost", ""}, {"s1", "ghost"}} {
		if err := inv.RecordRevoked(ctx, id[0], id[1], "0cc", ""); !errors.Is(err, inventory.ErrNotFound) {
			t.Errorf("revoking for unknown identity %s/%s: %v", id[0], id[1], err)
		}
	}
	if err := inv.RecordIssued(ctx, "p1", "ghost", "0bb", t0, t0.Add(time.Hour), false); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("issuing for unknown account: %v", err)
	}
	// Retired.
	if err := inv.RetireAccount(ctx, "app@prod", true, "decommissioned"); err != nil {
		t.Fatal(err)
	}
	if s, _ := inv.Identity(ctx, "p1", "app"); !s.Retired {
		t.Error("retired account not reported retired")
	}
	audit, _ := audit.List(ctx, inv, audit.Filter{})
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); got != "host.tag,scan.ingest,scan.ingest,owner.set,scan.ingest,cert.issue,cert.revoke,account.retire" {
		t.Errorf("audit actions %s", got)
	}
}

// TestIssuerWritesShareBatches runs the issuer's writes (RecordIssued,
// RecordRevoked, AppendAudit) concurrently with Ingest, so that they share
// group-commit batches, with every other issue and revocation failing: the
// failures leave nothing behind, every success is there, the audit log is
// one unbroken chain, and the service account summaries (checked when the
// inventory is closed), which the issues, revocations and ingests all
// change, agree with the instances.
func TestIssuerWritesShareBatches(t *testing.T) {
	inv, _ := open(t)
	const n = 200 // i%8 picks the call, i/8 the host
	for h := 0; h < n/8; h++ {
		host := fmt.Sprintf("h%d", h)
		mustIngest(t, inv, inventorytest.NewReport(host, "", t0, inventorytest.Account("app", 5), inventorytest.Account("db", 6)))
		if err := inv.RecordIssued(ctx, host, "app", "r"+host, t0, t0.Add(time.Hour), false); err != nil {
			t.Fatal(err)
		}
	}
	before, err := audit.List(ctx, inv, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var wantAudit atomic.Int32
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			host := fmt.Sprintf("h%d", i/8)
			var err error
			fails := i%8 >= 4
			switch i % 4 {
			case 0: // db's first certificate, or one for an unknown account
				account := "db"
				if fails {
					account = "ghost"
				}
				err = inv.RecordIssued(ctx, host, account, fmt.Sprintf("%x", 0x1000+i), t0, t0.Add(time.Hour), false)
			case 1: // app's certificate revoked, or one of an unknown account
				account := "app"
				if fails {
					account = "ghost"
				}
				err = inv.RecordRevoked(ctx, host, account, "r"+host, "test")
			case 2:
				fails = false
				err = audit.Record(ctx, inv, audit.Event{Action: "test.append", Detail: fmt.Sprint(i)})
			case 3: // a new host whose accounts join app@default and db@default
				r := inventorytest.NewReport(fmt.Sprintf("n%d", i), "", t0, inventorytest.Account("app", 5), inventorytest.Account("db", 6))
				if _, err := inv.Ingest(ctx, r); err != nil {
					t.Errorf("ingest %d: %v", i, err)
				} else {
					wantAudit.Add(1) // scan.ingest
				}
				return
			}
			switch {
			case fails && !errors.Is(err, inventory.ErrNotFound):
				t.Errorf("call %d: got %v, want ErrNotFound", i, err)
			case !fails && err != nil:
				t.Errorf("call %d: %v", i, err)
			case !fails:
				wantAudit.Add(1)
			}
		}()
	}
	wg.Wait()
	if _, err := audit.Verify(ctx, inv); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	after, err := audit.List(ctx, inv, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(after) - len(before); got != int(wantAudit.Load()) {
		t.Errorf("%d audit records appended, want %d (one per successful call)", got, wantAudit.Load())
	}
	for _, e := range after[len(before):] {
		if e.Account == "ghost" {
			t.Errorf("a failed call left an audit record: %+v", e)
		}
	}
	for h := 0; h < n/8; h++ {
		host := fmt.Sprintf("h%d", h)
		if s, err := inv.Identity(ctx, host, "db"); err != nil || s.Cert == nil || s.Cert.Serial != fmt.Sprintf("%x", 0x1000+8*h) {
			t.Errorf("%s/db certificate after the run: %+v, %v", host, s.Cert, err)
		}
		if s, err := inv.Identity(ctx, host, "app"); err != nil || s.Cert == nil || s.Cert.RevokedAt == nil {
			t.Errorf("%s/app certificate after the run: %+v, %v", host, s.Cert, err)
		}
	}
}

// TestCertificateLifetimeStrength labels certificates long-lived by the
// lifetime asked for: the CA backdates NotBefore by a minute, so a 24-hour
// certificate (the policy's maximum) spans 24h01m and is still short-lived.
func TestCertificateLifetimeStrength(t *testing.T) {
	for _, tc := range []struct {
		desc     string
		validity time.Duration
		backdate time.Duration
		want     inventory.Strength
	}{
		{"1 hour, backdated", time.Hour, time.Minute, inventory.StrengthShortLivedCert},
		{"24 hours exactly, backdated", 24 * time.Hour, time.Minute, inventory.StrengthShortLivedCert},
		{"24 hours exactly, not backdated", 24 * time.Hour, 0, inventory.StrengthShortLivedCert},
		{"25 hours, backdated", 25 * time.Hour, time.Minute, inventory.StrengthLongLivedCert},
		{"24 hours and 2 minutes, backdated", 24*time.Hour + 2*time.Minute, time.Minute, inventory.StrengthLongLivedCert},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			inv, _ := open(t)
			mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("app", 5)))
			if err := inv.RecordIssued(ctx, "h", "app", "01", t0.Add(-tc.backdate), t0.Add(tc.validity), false); err != nil {
				t.Fatal(err)
			}
			a, err := inv.GetAccount(ctx, "app")
			if err != nil {
				t.Fatal(err)
			}
			if a.Strength != tc.want {
				t.Errorf("strength %q, want %q", a.Strength, tc.want)
			}
			// A renewal with the other lifetime moves the count both ways
			// (the invariant check at cleanup compares the summary).
			if err := inv.RecordIssued(ctx, "h", "app", "02", t0.Add(-time.Minute), t0.Add(time.Hour), true); err != nil {
				t.Fatal(err)
			}
			if a, _ := inv.GetAccount(ctx, "app"); a.Strength != inventory.StrengthShortLivedCert {
				t.Errorf("after a 1-hour renewal: strength %q", a.Strength)
			}
		})
	}
}

// TestUnretire undoes a retirement, audited with its reason.
func TestUnretire(t *testing.T) {
	inv, _ := open(t)
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("app", 5)))
	if err := inv.RetireAccount(ctx, "app", true, "decommissioned"); err != nil {
		t.Fatal(err)
	}
	if l, _ := inv.ListAccounts(ctx, inventory.Filter{}); len(l) != 0 {
		t.Errorf("retired account listed: %+v", l)
	}
	if err := inv.UnretireAccount(ctx, "app", "back in use for the billing run"); err != nil {
		t.Fatal(err)
	}
	if s, _ := inv.Identity(ctx, "h", "app"); s.Retired {
		t.Error("still retired")
	}
	if l, _ := inv.ListAccounts(ctx, inventory.Filter{}); len(l) != 1 || l[0].Status == inventory.StatusRetired {
		t.Errorf("after unretire: %+v", l)
	}
	err := inv.UnretireAccount(ctx, "app", "")
	var ie *inventory.InvalidError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "account app@default is not retired") || !strings.Contains(ie.Hint(), "roster accounts list --retired") {
		t.Errorf("unretiring an account in use: %v", err)
	}
	h, _ := inv.AccountHistory(ctx, "app")
	if got := kindsText(h); got != "account appeared,retired,unretired" {
		t.Errorf("history %s", got)
	}
	evs, _ := audit.List(ctx, inv, audit.Filter{Account: "app"})
	var got []string
	for _, e := range evs {
		got = append(got, e.Action+": "+e.Detail)
	}
	if want := "account.retire: retired=true: decommissioned,account.unretire: unretired: back in use for the billing run"; strings.Join(got, ",") != want {
		t.Errorf("audit\n got %s\nwant %s", strings.Join(got, ","), want)
	}
}

// TestCloseExceptionReason keeps the reason in the exception, its history
// and the audit record.
func TestCloseExceptionReason(t *testing.T) {
	inv, _ := open(t)
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, inventorytest.Account("app", 5, inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", "p"))))
	if err := inv.SetOwner(ctx, "app", inventory.Owner{Name: "team"}); err != nil {
		t.Fatal(err)
	}
	for _, reason := range []string{"password removed", ""} {
		e, err := inv.AddException(ctx, inventory.Exception{Account: "app", Reason: "legacy", Owner: "team", Expires: t0.AddDate(0, 0, 20)})
		if err != nil {
			t.Fatal(err)
		}
		if err := inv.CloseException(ctx, e.ID, reason); err != nil {
			t.Fatal(err)
		}
		l, _ := inv.ListExceptions(ctx, inventory.ExceptionFilter{Account: "app", Closed: true})
		var got inventory.Exception
		for _, x := range l {
			if x.ID == e.ID {
				got = x
			}
		}
		if got.Closed == nil || got.CloseNote != reason || got.ClosedBy != "test" {
			t.Errorf("closed exception %+v, want close reason %q", got, reason)
		}
		want := e.ID + " closed"
		if reason != "" {
			want += ": " + reason
		}
		evs, _ := audit.List(ctx, inv, audit.Filter{Account: "app"})
		if last := evs[len(evs)-1]; last.Action != audit.ActionExceptionClose || last.Reason != reason || last.Detail != want {
			t.Errorf("audit %+v, want reason %q, detail %q", last, reason, want)
		}
	}
}

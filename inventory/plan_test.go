package inventory_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// setPhases sets phases for tiers 1 to last, starting at start, each
// ending a year later; the last one caps exceptions at maxLast (0: the
// tier's default).
func setPhases(t *testing.T, inv *inventory.Inventory, start time.Time, last inventory.Tier, maxLast time.Duration) {
	t.Helper()
	for tier := inventory.TierPrivileged; tier <= last; tier++ {
		p := inventory.Phase{Tier: tier, Target: inventory.StrengthShortLivedCert, Owner: "sec-team", Start: start, End: start.AddDate(1, 0, 0)}
		if tier == last {
			p.MaxException = maxLast
		}
		if _, err := inv.SetPhase(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
}

func refusedWith(t *testing.T, err error, field, says string) *inventory.InvalidError {
	t.Helper()
	var ie *inventory.InvalidError
	if !errors.As(err, &ie) || ie.Field != field || !strings.Contains(err.Error(), says) {
		t.Fatalf("err = %v, want a refusal of %s saying %q", err, field, says)
	}
	return ie
}

func TestSetPhaseRefusals(t *testing.T) {
	inv, _ := open(t)
	ok := inventory.Phase{Tier: 1, Target: inventory.StrengthShortLivedCert, Owner: "sec-team", Start: t0, End: t0.AddDate(0, 3, 0)}
	for _, tc := range []struct {
		desc  string
		edit  func(p *inventory.Phase)
		field string
		says  string
	}{
		{"tier 0", func(p *inventory.Phase) { p.Tier = 0 }, "tier", "tiers are 1"},
		{"tier 5", func(p *inventory.Phase) { p.Tier = 5 }, "tier", "tiers are 1"},
		{"no target", func(p *inventory.Phase) { p.Target = 0 }, "target", "needs a target"},
		{"target none", func(p *inventory.Phase) { p.Target = inventory.StrengthNone }, "target", "needs a target"},
		{"no owner", func(p *inventory.Phase) { p.Owner = " " }, "owner", "needs --owner"},
		{"placeholder owner", func(p *inventory.Phase) { p.Owner = "TBD" }, "owner", "placeholder"},
		{"no start", func(p *inventory.Phase) { p.Start = time.Time{} }, "start", "needs --start"},
		{"end before start", func(p *inventory.Phase) { p.End = t0.Add(-time.Hour) }, "end", "not after its start"},
		{"end at start", func(p *inventory.Phase) { p.End = t0 }, "end", "not after its start"},
		{"negative max exception", func(p *inventory.Phase) { p.MaxException = -time.Hour }, "max_exception", "negative"},
		{"control character in the note", func(p *inventory.Phase) { p.Note = "a\nb" }, "note", "control characters"},
	} {
		p := ok
		tc.edit(&p)
		_, err := inv.SetPhase(ctx, p)
		var ie *inventory.InvalidError
		if !errors.As(err, &ie) || ie.Field != tc.field || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: err = %v, want field %s saying %q", tc.desc, err, tc.field, tc.says)
		}
	}
	got, err := inv.SetPhase(ctx, ok)
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxException != 30*24*time.Hour || got.SetBy != "test" || !got.SetAt.Equal(t0) {
		t.Errorf("stored phase %+v: want the tier-1 default of 30 days, set by test at t0", got)
	}
}

// TestSetPhaseOrderingRule goes through the store: tier 2 refused until
// tier 1 has an end, the refusal's hint names the command, a re-set is
// audited old -> new, and removing tier 1's end or its phase is refused
// while tier 2 exists.
func TestSetPhaseOrderingRule(t *testing.T) {
	inv, _ := open(t)
	p1 := inventory.Phase{Tier: 1, Target: inventory.StrengthHardwareBound, Owner: "sec-team", Start: t0}
	p2 := inventory.Phase{Tier: 2, Target: inventory.StrengthShortLivedCert, Owner: "net-team", Start: t0, End: t0.AddDate(0, 6, 0)}
	steps := []struct {
		desc     string
		run      func() error
		wantHint string
	}{
		{"tier 2 before any phase", func() error { _, err := inv.SetPhase(ctx, p2); return err }, "roster plan set 1 --target LEVEL --owner OWNER --start DATE --end DATE"},
		{"tier 1 without an end", func() error { _, err := inv.SetPhase(ctx, p1); return err }, ""},
		{"tier 2 while tier 1 has no end", func() error { _, err := inv.SetPhase(ctx, p2); return err }, "roster plan set 1 "},
		{"tier 1 with an end", func() error { p := p1; p.End = t0.AddDate(0, 3, 0); _, err := inv.SetPhase(ctx, p); return err }, ""},
		{"tier 2 now", func() error { _, err := inv.SetPhase(ctx, p2); return err }, ""},
		{"tier 1's end removed", func() error { _, err := inv.SetPhase(ctx, p1); return err }, "roster plan set 1 "},
		{"tier 1's phase removed", func() error { return inv.RemovePhase(ctx, 1) }, "roster plan set 1 "},
		{"tier 4 with tier 3 missing", func() error { p := p2; p.Tier = 4; _, err := inv.SetPhase(ctx, p); return err }, "roster plan set 3 "},
		{"tier 2 removed", func() error { return inv.RemovePhase(ctx, 2) }, ""},
		{"then tier 1 removed", func() error { return inv.RemovePhase(ctx, 1) }, ""},
	}
	for _, s := range steps {
		err := s.run()
		var ie *inventory.InvalidError
		switch {
		case s.wantHint == "" && err != nil:
			t.Fatalf("%s: %v", s.desc, err)
		case s.wantHint != "" && (!errors.As(err, &ie) || !strings.Contains(ie.Hint(), s.wantHint)):
			t.Fatalf("%s: err = %v, want a refusal with hint %q", s.desc, err, s.wantHint)
		}
	}
	if err := inv.RemovePhase(ctx, 3); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("remove a phase that does not exist: %v", err)
	}
	events, err := audit.List(ctx, inv, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var sets []string
	for _, e := range events {
		if e.Action == audit.ActionPlanSet {
			sets = append(sets, e.Detail)
		}
	}
	if len(sets) != 3 || !strings.HasPrefix(sets[0], "tier 1: none -> target hardware_bound, owner sec-team") ||
		!strings.Contains(sets[1], "to no end, exceptions at most 30d -> target hardware_bound") || !strings.Contains(sets[1], "to 2026-06-01T12:00:00Z") {
		t.Errorf("plan.set audit records:\n%s", strings.Join(sets, "\n"))
	}
}

// TestPlanAndReport: a tier-1 phase's progress, below-target accounts and
// state through planned, active, overdue and done, and the report's
// target, below-target count, phase end and overdue violation.
func TestPlanAndReport(t *testing.T) {
	inv, clk := open(t)
	pw := inventorytest.Cred(scan.CredPassword, "/etc/shadow:1", "p")
	root := inventorytest.Account("root", 0, inventorytest.Cred(scan.CredPassword, "/etc/shadow:0", "r"))
	root.Privileged, root.PrivilegeReasons = true, []string{"UID 0"}
	ops := inventorytest.Account("ops", 0, inventorytest.Cred(scan.CredSSHAuthorizedKey, "/root/.ssh/authorized_keys:1", "k"))
	ops.Privileged = true
	alice := inventorytest.Account("alice", 1000, inventorytest.Cred(scan.CredPassword, "/etc/shadow:3", "a"))
	alice.Kind, alice.Privileged = scan.KindHuman, true
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, root, ops, alice, inventorytest.Account("app", 5, pw)))
	if err := inv.SetOwner(ctx, "root", inventory.Owner{Name: "sys-team"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddException(ctx, inventory.Exception{Account: "root", Owner: "sys-team", Reason: "console", Expires: t0.AddDate(0, 0, 20)}); err != nil {
		t.Fatal(err)
	}
	start, end := t0.AddDate(0, 0, 2), t0.AddDate(0, 0, 10)
	if _, err := inv.SetPhase(ctx, inventory.Phase{Tier: 1, Target: inventory.StrengthShortLivedCert, Owner: "sec-team", Start: start, End: end}); err != nil {
		t.Fatal(err)
	}
	tier1 := func(at time.Time) (inventory.PlanTier, inventory.TierStats, *inventory.Report) {
		t.Helper()
		pl, err := inv.Plan(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := inv.Report(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(pl.Tiers) != 4 || pl.Tiers[1].State != inventory.PhaseNone || pl.Tiers[1].Phase != nil {
			t.Fatalf("plan tiers: %+v", pl.Tiers)
		}
		return pl.Tiers[0], rep.Tiers[0], rep
	}
	pt, ts, rep := tier1(t0)
	if pt.State != inventory.PhasePlanned || pt.Accounts != 2 || pt.BelowTarget != 2 || pt.AtTarget != 0 || pt.DaysLeft == nil || *pt.DaysLeft != 10 {
		t.Errorf("before the start: %+v", pt)
	}
	if len(pt.Below) != 2 || pt.Below[0].Account != "root@default" || pt.Below[0].Owner == nil || pt.Below[0].Owner.Name != "sys-team" ||
		pt.Below[1].Account != "ops@default" || pt.Below[1].Owner != nil {
		t.Errorf("below target, weakest first: %+v", pt.Below)
	}
	if pt.People == nil || pt.People.Accounts != 1 || pt.PeopleBelowTarget == nil || *pt.PeopleBelowTarget != 1 {
		t.Errorf("privileged people apart: %+v below %v", pt.People, pt.PeopleBelowTarget)
	}
	if pt.OpenExceptions != 1 || len(pt.Exceptions) != 1 || pt.Exceptions[0].Account != "root@default" {
		t.Errorf("open exceptions: %d %+v", pt.OpenExceptions, pt.Exceptions)
	}
	if ts.Target != inventory.StrengthShortLivedCert || ts.BelowTarget == nil || *ts.BelowTarget != 2 || !ts.PhaseEnd.Equal(end) || len(rep.OverduePhases) != 0 {
		t.Errorf("report tier 1: target %v below %v end %v overdue %v", ts.Target, ts.BelowTarget, ts.PhaseEnd, rep.OverduePhases)
	}
	if pt, _, _ = tier1(start.Add(time.Hour)); pt.State != inventory.PhaseActive {
		t.Errorf("after the start: %s", pt.State)
	}
	clk.Set(end.Add(time.Hour))
	pt, _, rep = tier1(end.Add(time.Hour))
	if pt.State != inventory.PhaseOverdue || *pt.DaysLeft != 0 {
		t.Errorf("after the end: %s, %d days left", pt.State, *pt.DaysLeft)
	}
	if len(rep.OverduePhases) != 1 || rep.OverduePhases[0].Tier != 1 || rep.OverduePhases[0].Owner != "sec-team" {
		t.Errorf("report's overdue phases: %+v", rep.OverduePhases)
	}
	// The tier reaches its target: a new scan no longer finds either
	// account (the simplest way out of the tier here): done, no violation.
	mustIngest(t, inv, inventorytest.NewReport("h", "", end, alice, inventorytest.Account("app", 5, pw)))
	if pt, _, rep = tier1(end.Add(time.Hour)); pt.State != inventory.PhaseDone || len(rep.OverduePhases) != 0 || len(pt.Below) != 0 {
		t.Errorf("after the accounts left: %s, overdue %v", pt.State, rep.OverduePhases)
	}
}

// TestExceptionsFollowThePhase: tier caps without and with a phase, the
// phase end unless beyond-phase, extensions counted (by extend and by a new
// exception in the chain), and the third extension a violation.
func TestExceptionsFollowThePhase(t *testing.T) {
	inv, clk := open(t)
	root := inventorytest.Account("root", 0, inventorytest.Cred(scan.CredPassword, "/etc/shadow:0", "r"))
	root.Privileged = true
	mustIngest(t, inv, inventorytest.NewReport("h", "", t0, root))
	if err := inv.SetOwner(ctx, "root", inventory.Owner{Name: "sys-team"}); err != nil {
		t.Fatal(err)
	}
	exc := func(days int, beyond bool) (inventory.Exception, error) {
		return inv.AddException(ctx, inventory.Exception{Account: "root", Owner: "sys-team", Reason: "console", Expires: t0.AddDate(0, 0, days), BeyondPhase: beyond})
	}
	_, err := exc(31, false)
	refusedWith(t, err, "expires", "exceptions in tier 1 last at most 30d (the default for the tier)")
	if _, err := inv.SetPhase(ctx, inventory.Phase{Tier: 1, Target: inventory.StrengthShortLivedCert, Owner: "sec-team", Start: t0,
		End: t0.AddDate(0, 0, 20), MaxException: 40 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	_, err = exc(41, false)
	refusedWith(t, err, "expires", "at most 40d (tier 1's phase)")
	_, err = exc(25, false)
	ie := refusedWith(t, err, "expires", "after tier 1's phase ends (2026-03-21)")
	if !strings.Contains(ie.Hint(), "--beyond-phase") {
		t.Errorf("hint %q", ie.Hint())
	}
	e, err := exc(25, true)
	if err != nil || !e.BeyondPhase || e.Extensions != 0 {
		t.Fatalf("beyond the phase: %+v, %v", e, err)
	}
	// Extensions re-apply the caps from now; the beyond-phase exception may
	// stay beyond the phase end.
	_, err = inv.ExtendException(ctx, e.ID, t0.AddDate(0, 0, 45), "")
	refusedWith(t, err, "expires", "at most 40d")
	_, err = inv.ExtendException(ctx, e.ID, t0.AddDate(0, 0, 24), "")
	refusedWith(t, err, "expires", "not after its current end")
	if e, err = inv.ExtendException(ctx, e.ID, t0.AddDate(0, 0, 30), "vendor late"); err != nil || e.Extensions != 1 {
		t.Fatalf("first extension: %+v, %v", e, err)
	}
	if e, err = inv.ExtendException(ctx, e.ID, t0.AddDate(0, 0, 35), ""); err != nil || e.Extensions != 2 {
		t.Fatalf("second extension: %+v, %v", e, err)
	}
	rep, err := inv.Report(ctx, t0)
	if err != nil || len(rep.OverExtended) != 0 {
		t.Fatalf("two extensions: over-extended %v, %v", rep.OverExtended, err)
	}
	// It expires; a new exception for the same account continues the chain.
	clk.Set(t0.AddDate(0, 0, 36))
	if _, err := inv.AddException(ctx, inventory.Exception{Account: "root", Owner: "sys-team", Reason: "again", Expires: t0.AddDate(0, 0, 50)}); err == nil {
		t.Fatal("a new exception past the phase end without beyond-phase: accepted")
	}
	e3, err := inv.AddException(ctx, inventory.Exception{Account: "root", Owner: "sys-team", Reason: "again", Expires: t0.AddDate(0, 0, 50), BeyondPhase: true})
	if err != nil || e3.Extensions != 3 || e3.Extends != e.ID {
		t.Fatalf("the chain's third extension: %+v, %v", e3, err)
	}
	rep, err = inv.Report(ctx, clk.Now())
	if err != nil || len(rep.OverExtended) != 1 || rep.OverExtended[0].ID != e3.ID || len(rep.ExpiredExceptions) != 0 {
		t.Fatalf("three extensions: over-extended %v, expired %v, %v", rep.OverExtended, rep.ExpiredExceptions, err)
	}
	// Closed: nothing to extend, and no longer a violation.
	if err := inv.CloseException(ctx, e3.ID, "credential removed"); err != nil {
		t.Fatal(err)
	}
	_, err = inv.ExtendException(ctx, e3.ID, clk.Now().AddDate(0, 0, 5), "")
	refusedWith(t, err, "id", "was closed")
	if rep, _ = inv.Report(ctx, clk.Now()); len(rep.OverExtended) != 0 {
		t.Errorf("closed: still over-extended %v", rep.OverExtended)
	}
	if _, err := inv.ExtendException(ctx, "exc-404", clk.Now().AddDate(0, 0, 5), ""); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	// The close reason is in the exception, its history and the audit log.
	list, err := inv.ListExceptions(ctx, inventory.ExceptionFilter{Closed: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range list {
		if x.ID == e3.ID && x.CloseNote != "credential removed" {
			t.Errorf("close reason in the exception: %+v", x)
		}
	}
	hist, err := inv.AccountHistory(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, h := range hist {
		if strings.HasPrefix(h.Kind, "exception") {
			kinds = append(kinds, h.Kind+": "+h.Detail)
		}
	}
	all := strings.Join(kinds, "\n")
	if !strings.Contains(all, "exception closed: "+e3.ID+" closed: credential removed") || !strings.Contains(all, "exception extended: "+e.ID+" extended: until 2026-03-26 -> 2026-03-31 (extension 1): vendor late") {
		t.Errorf("history:\n%s", all)
	}
	events, err := audit.List(ctx, inv, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range events {
		switch ev.Action {
		case audit.ActionExceptionAdd, audit.ActionExceptionExtend, audit.ActionExceptionClose:
			got = append(got, ev.Action+" "+ev.Reason+" | "+ev.Detail)
		}
	}
	a := strings.Join(got, "\n")
	for _, want := range []string{"(beyond_phase: true)", "exception.extend vendor late | " + e.ID + " extended", "(extends " + e.ID + ": extension 3)",
		"exception.close credential removed | " + e3.ID + " closed: credential removed"} {
		if !strings.Contains(a, want) {
			t.Errorf("audit lacks %q:\n%s", want, a)
		}
	}
}

package inventory

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

// The rollout plan: one phase per tier, each with a target strength, an
// owner, a start and (before the next tier's phase may be set) an end. The
// seed's ordering rule: a phase for tier N may be set only when every
// earlier tier has a phase with an end date recorded, or the rollout stays
// stuck at eighty percent. Phases may overlap in time; a missing end may
// not. [Inventory.SetPhase] sets one, [Inventory.Plan] reads the plan with
// each tier's progress and state, and [Inventory.Report] carries targets,
// below-target counts and overdue phases.

// Phase is the rollout phase of one tier.
type Phase struct {
	Tier Tier `json:"tier"`
	// Target is the level every account of the tier should reach (never
	// StrengthNone).
	Target Strength `json:"target"`
	// Owner answers for the phase-out.
	Owner string    `json:"owner"`
	Start time.Time `json:"start"`
	// End is zero when not recorded yet: then no later tier's phase may
	// be set.
	End time.Time `json:"end,omitzero"`
	// MaxException caps the duration of an exception on the tier's
	// accounts (DefaultMaxException when the phase was set without one).
	MaxException time.Duration `json:"max_exception"`
	Note         string        `json:"note,omitempty"`
	SetAt        time.Time     `json:"set_at"`
	SetBy        string        `json:"set_by,omitempty"`
}

// PhaseState says where a tier's phase stands.
type PhaseState string

// Phase states.
const (
	// PhaseNone: the tier has no phase.
	PhaseNone PhaseState = "none"
	// PhasePlanned: the phase starts in the future.
	PhasePlanned PhaseState = "planned"
	// PhaseActive: started, accounts below target, end not passed.
	PhaseActive PhaseState = "active"
	// PhaseDone: every service account of the tier is at or above target.
	PhaseDone PhaseState = "done"
	// PhaseOverdue: the end passed with accounts still below target: a
	// violation in the report.
	PhaseOverdue PhaseState = "overdue"
)

// State computes the phase's state at now with below accounts of its
// tier below target. A nil phase is PhaseNone.
func (p *Phase) State(now time.Time, below int) PhaseState {
	switch {
	case p == nil:
		return PhaseNone
	case now.Before(p.Start):
		return PhasePlanned
	case below == 0:
		return PhaseDone
	case !p.End.IsZero() && !now.Before(p.End):
		return PhaseOverdue
	}
	return PhaseActive
}

// DefaultMaxException is the longest exception in tier t when its phase
// sets no other: 30 days for tier 1, 90 for tier 2, 180 otherwise.
func DefaultMaxException(t Tier) time.Duration {
	switch t {
	case TierPrivileged:
		return 30 * 24 * time.Hour
	case TierExternal:
		return 90 * 24 * time.Hour
	}
	return 180 * 24 * time.Hour
}

// maxExceptionIn is the cap of an exception's duration in tier t, whose
// phase is p (nil without one).
func maxExceptionIn(t Tier, p *Phase) time.Duration {
	if p != nil && p.MaxException > 0 {
		return p.MaxException
	}
	return DefaultMaxException(t)
}

// MaxExtensions is how often an exception chain may be extended before it
// shows as a violation: "temporary" exceptions that never end.
const MaxExtensions = 2

// maxPlanList bounds the accounts and exceptions listed per tier in a plan.
const maxPlanList = 50

// maxNote bounds a phase's note.
const maxNote = 1024

// setPlanHint is the command that records a tier's phase with its end.
func setPlanHint(t Tier) string {
	return fmt.Sprintf("roster plan set %d --target LEVEL --owner OWNER --start DATE --end DATE", t)
}

// phaseKey is the plan table's key of tier t.
func phaseKey(t Tier) []byte { return []byte(strconv.Itoa(int(t))) }

// loadPhases reads every tier's phase (absent tiers are not in the map).
func loadPhases(tx store.Tx) (map[Tier]*Phase, error) {
	out := map[Tier]*Phase{}
	err := tx.Scan(tPlan, nil, func(k, b []byte) error {
		p := new(Phase)
		if err := jsonUnmarshal(tPlan, k, b, p); err != nil {
			return err
		}
		out[p.Tier] = p
		return nil
	})
	return out, err
}

// getPhase reads tier t's phase; nil without one.
func getPhase(tx store.Tx, t Tier) (*Phase, error) {
	p := new(Phase)
	ok, err := getJSON(tx, tPlan, phaseKey(t), p)
	if err != nil || !ok {
		return nil, err
	}
	return p, nil
}

// phaseText is a phase in one line, for history and audit records.
func phaseText(p *Phase) string {
	if p == nil {
		return "none"
	}
	end := "no end"
	if !p.End.IsZero() {
		end = p.End.Format(time.RFC3339)
	}
	s := fmt.Sprintf("target %s, owner %s, %s to %s, exceptions at most %s", p.Target.Name(), p.Owner,
		p.Start.Format(time.RFC3339), end, durationText(p.MaxException))
	if p.Note != "" {
		s += ", note " + strconv.Quote(p.Note)
	}
	return s
}

// durationText writes whole days as "30d", anything else as Go does.
func durationText(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// checkOrder applies the ordering rule to phases with tier t's phase
// replaced by p (nil: removed): every tier below a tier with a phase has a
// phase with an end.
func checkOrder(phases map[Tier]*Phase, t Tier, p *Phase) error {
	next := map[Tier]*Phase{}
	for k, v := range phases {
		next[k] = v
	}
	if p == nil {
		delete(next, t)
	} else {
		next[t] = p
	}
	for later := TierRest; later > TierPrivileged; later-- {
		if next[later] == nil {
			continue
		}
		for earlier := TierPrivileged; earlier < later; earlier++ {
			e := next[earlier]
			if e != nil && !e.End.IsZero() {
				continue
			}
			setting := later == t && p != nil
			var reason string
			switch {
			case setting && e == nil:
				reason = fmt.Sprintf("tier %d has no phase", earlier)
			case setting:
				reason = fmt.Sprintf("tier %d's phase has no end date", earlier)
			case e == nil:
				reason = fmt.Sprintf("tier %d would have no phase", earlier)
			default:
				reason = fmt.Sprintf("tier %d's phase would have no end date", earlier)
			}
			if setting {
				reason += fmt.Sprintf(": every earlier tier's phase needs an end date before tier %d's phase is set, or the rollout never ends", t)
			} else {
				reason += fmt.Sprintf(" while tier %d has a phase: every earlier tier's phase keeps an end date while a later one exists", later)
			}
			return &InvalidError{Field: "tier", Reason: reason, HintText: setPlanHint(earlier)}
		}
	}
	return nil
}

// SetPhase records (or replaces) the phase of p.Tier. Target, Owner and
// Start are required; End, when set, must be after Start; MaxException 0
// takes [DefaultMaxException]. The ordering rule is checked against the
// other tiers' phases: every earlier tier needs a phase with an end (see
// the package's plan documentation). SetAt and SetBy are set here; the
// audit record says old → new. The stored phase is returned.
func (inv *Inventory) SetPhase(ctx context.Context, p Phase) (Phase, error) {
	switch {
	case p.Tier < TierPrivileged || p.Tier > TierRest:
		return Phase{}, &InvalidError{Field: "tier", Reason: fmt.Sprintf("tier %d: tiers are 1 (privileged), 2 (external), 3 (internal critical) and 4 (other)", int(p.Tier))}
	case p.Target == 0 || p.Target == StrengthNone || p.Target.Name() == "":
		return Phase{}, &InvalidError{Field: "target", Reason: fmt.Sprintf("tier %d's phase needs a target level (none is not one)", p.Tier),
			HintText: "add --target LEVEL, e.g. --target short_lived_cert"}
	case strings.TrimSpace(p.Owner) == "":
		return Phase{}, &InvalidError{Field: "owner", Reason: fmt.Sprintf("tier %d's phase needs --owner: a phase nobody owns does not end", p.Tier),
			HintText: "add --owner PERSON_OR_TEAM"}
	case len(p.Owner) > 256 || strings.ContainsFunc(p.Owner, isControl):
		return Phase{}, &InvalidError{Field: "owner", Reason: "too long or contains control characters"}
	case len(p.Note) > maxNote || strings.ContainsFunc(p.Note, isControl):
		return Phase{}, &InvalidError{Field: "note", Reason: fmt.Sprintf("longer than %d bytes or contains control characters", maxNote)}
	case p.Start.IsZero():
		return Phase{}, &InvalidError{Field: "start", Reason: fmt.Sprintf("tier %d's phase needs --start DATE", p.Tier), HintText: "add --start DATE (YYYY-MM-DD or RFC 3339, UTC)"}
	case !p.End.IsZero() && !p.End.After(p.Start):
		return Phase{}, &InvalidError{Field: "end", Reason: fmt.Sprintf("tier %d's phase ends %s, not after its start %s", p.Tier,
			p.End.UTC().Format(time.RFC3339), p.Start.UTC().Format(time.RFC3339))}
	case p.MaxException < 0:
		return Phase{}, &InvalidError{Field: "max_exception", Reason: "a negative duration"}
	case p.MaxException > 0 && p.MaxException < time.Hour:
		return Phase{}, &InvalidError{Field: "max_exception", Reason: fmt.Sprintf("%s is shorter than an hour", p.MaxException)}
	}
	if err := inv.notPlaceholder(p.Owner, "--owner names the person or team who answers for the phase"); err != nil {
		return Phase{}, err
	}
	actor, now := audit.Actor(ctx), inv.now()
	p.Start = p.Start.UTC()
	if !p.End.IsZero() {
		p.End = p.End.UTC()
	}
	if p.MaxException == 0 {
		p.MaxException = DefaultMaxException(p.Tier)
	}
	p.SetAt, p.SetBy = now, actor
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		phases, err := loadPhases(tx)
		if err != nil {
			return err
		}
		if err := checkOrder(phases, p.Tier, &p); err != nil {
			return err
		}
		if err := putJSON(tx, tPlan, phaseKey(p.Tier), p); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionPlanSet, Outcome: audit.OutcomeOK,
			Detail: fmt.Sprintf("tier %d: %s -> %s", p.Tier, phaseText(phases[p.Tier]), phaseText(&p))})
	})
	if err != nil {
		return Phase{}, fmt.Errorf("set phase of tier %d: %w", int(p.Tier), err)
	}
	return p, nil
}

// RemovePhase removes tier t's phase, refused (the ordering rule) while a
// later tier has one.
func (inv *Inventory) RemovePhase(ctx context.Context, t Tier) error {
	actor, now := audit.Actor(ctx), inv.now()
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		phases, err := loadPhases(tx)
		if err != nil {
			return err
		}
		old := phases[t]
		if old == nil {
			return fmt.Errorf("phase of tier %d: %w", int(t), ErrNotFound)
		}
		if err := checkOrder(phases, t, nil); err != nil {
			return err
		}
		if err := tx.Delete(tPlan, phaseKey(t)); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionPlanRemove, Outcome: audit.OutcomeOK,
			Detail: fmt.Sprintf("tier %d: %s -> none", t, phaseText(old))})
	})
	if err != nil {
		return fmt.Errorf("remove phase of tier %d: %w", int(t), err)
	}
	return nil
}

// isControl reports control characters, refused in owners and notes.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// Plan is the rollout plan at GeneratedAt: one entry per tier, 1 to 4.
type Plan struct {
	GeneratedAt time.Time  `json:"generated_at"`
	Tiers       []PlanTier `json:"tiers"`
}

// PlanTier is one tier's phase and its progress.
type PlanTier struct {
	Tier Tier   `json:"tier"`
	Name string `json:"name"`
	// Phase is nil when the tier has none (State is then PhaseNone).
	Phase *Phase     `json:"phase,omitempty"`
	State PhaseState `json:"state"`
	// DaysLeft counts whole days until the phase's end, rounded up
	// (negative once passed); nil without an end.
	DaysLeft *int `json:"days_left,omitempty"`
	// Accounts counts the tier's live service accounts, AtTarget those at
	// or above the target and BelowTarget those below it (0 without a
	// phase). ByStrength is the report's distribution.
	Accounts    int            `json:"accounts"`
	AtTarget    int            `json:"at_target"`
	BelowTarget int            `json:"below_target"`
	ByStrength  map[string]int `json:"by_strength"`
	// Below lists the first accounts below target (weakest first, at
	// most 50 of BelowTarget), with their owners.
	Below []BelowTarget `json:"below_target_accounts"`
	// People counts tier 1's privileged people's accounts apart, by login
	// strength (not service accounts, not in the progress);
	// PeopleBelowTarget those below the target.
	People            *PeopleStats `json:"privileged_people,omitempty"`
	PeopleBelowTarget *int         `json:"privileged_people_below_target,omitempty"`
	// OpenExceptions counts the valid exceptions on the tier's accounts;
	// Exceptions lists the first 50, soonest expiry first.
	OpenExceptions int         `json:"open_exceptions"`
	Exceptions     []Exception `json:"exceptions"`
}

// BelowTarget is one account below its tier's target.
type BelowTarget struct {
	Account    string   `json:"account"`
	Strength   Strength `json:"strength"`
	StrengthBy string   `json:"strength_by,omitempty"`
	Owner      *Owner   `json:"owner,omitempty"`
}

// daysLeft counts whole days from now until end, rounded up.
func daysLeft(now, end time.Time) int {
	return int(math.Ceil(end.Sub(now).Hours() / 24))
}

// Plan computes the plan at now: per tier its phase, state, progress,
// accounts below target and open exceptions. It reads what the report
// reads, in the same transaction.
func (inv *Inventory) Plan(ctx context.Context, now time.Time) (*Plan, error) {
	now = now.UTC()
	pl := &Plan{GeneratedAt: now}
	for t := TierPrivileged; t <= TierRest; t++ {
		pl.Tiers = append(pl.Tiers, PlanTier{Tier: t, Name: t.String(), Below: []BelowTarget{}, Exceptions: []Exception{}})
	}
	var phases map[Tier]*Phase
	rep, err := inv.report(ctx, now, func(tx store.Tx) error {
		var err error
		phases, err = loadPhases(tx)
		return err
	}, func(s AccountSummary, excs []Exception) {
		pt := &pl.Tiers[s.Tier-1]
		if p := phases[s.Tier]; p != nil && s.Strength < p.Target {
			pt.Below = append(pt.Below, BelowTarget{Account: s.Key, Strength: s.Strength, StrengthBy: s.StrengthBy, Owner: s.Owner})
		}
		for _, e := range excs {
			if e.Valid(now) {
				pt.OpenExceptions++
				pt.Exceptions = append(pt.Exceptions, e)
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	for i := range pl.Tiers {
		pt, ts := &pl.Tiers[i], rep.Tiers[i]
		pt.Phase = phases[pt.Tier]
		pt.Accounts, pt.ByStrength, pt.People = ts.Accounts, ts.ByStrength, ts.People
		if pt.Phase != nil {
			pt.BelowTarget = belowTarget(ts.ByStrength, pt.Phase.Target)
			if ts.People != nil {
				n := belowTarget(ts.People.ByStrength, pt.Phase.Target)
				pt.PeopleBelowTarget = &n
			}
			if !pt.Phase.End.IsZero() {
				d := daysLeft(now, pt.Phase.End)
				pt.DaysLeft = &d
			}
		}
		pt.AtTarget = pt.Accounts - pt.BelowTarget
		pt.State = pt.Phase.State(now, pt.BelowTarget)
		sort.Slice(pt.Below, func(a, b int) bool {
			if pt.Below[a].Strength != pt.Below[b].Strength {
				return pt.Below[a].Strength < pt.Below[b].Strength
			}
			return pt.Below[a].Account < pt.Below[b].Account
		})
		pt.Below = pt.Below[:min(len(pt.Below), maxPlanList)]
		sort.Slice(pt.Exceptions, func(a, b int) bool { return pt.Exceptions[a].Expires.Before(pt.Exceptions[b].Expires) })
		pt.Exceptions = pt.Exceptions[:min(len(pt.Exceptions), maxPlanList)]
	}
	return pl, nil
}

package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/rosterhq/roster/store"
)

// The plan's history: one snapshot a day of each tier's distribution, so
// that a rollout shows its trend (roster plan history) and its burndown
// (roster plan chart). The server takes today's snapshot at every sweep
// (SnapshotToday); a day the server did not run has no snapshot and is
// simply absent from the history, never invented.

// History bounds.
const (
	// DefaultHistoryDays is how many days a history without a start
	// covers, today included.
	DefaultHistoryDays = 90
	// MaxHistoryDays is the longest range a history may cover (three
	// years); a longer one is refused.
	MaxHistoryDays = 3*366 + 1
)

// dateLayout is the snapshot key and the dates of a history: UTC days.
const dateLayout = "2006-01-02"

// BurndownDefault is the level a tier without a target is counted below:
// the short-lived certificate, the level roster issues.
const BurndownDefault = StrengthShortLivedCert

// Burndown bases: what a day's Burndown.Level is.
const (
	// BasisTarget: the tier's target that day.
	BasisTarget = "target"
	// BasisDefault: the tier had no target that day; Level is
	// BurndownDefault.
	BasisDefault = "no_target"
)

// Snapshot is the plan's state on one UTC day: each tier's distribution
// as the report counted it when the snapshot was taken.
type Snapshot struct {
	// Date is the UTC day, YYYY-MM-DD; TakenAt when the day's latest
	// snapshot was taken (a later one the same day replaces it).
	Date    string         `json:"date"`
	TakenAt time.Time      `json:"taken_at"`
	Tiers   []TierSnapshot `json:"tiers"`
}

// TierSnapshot is one tier's distribution on one day.
type TierSnapshot struct {
	Tier Tier   `json:"tier"`
	Name string `json:"name"`
	// Accounts counts live, unretired service accounts; ByStrength counts
	// them per level by machine name (levels without an account absent).
	Accounts   int            `json:"accounts"`
	ByStrength map[string]int `json:"by_strength"`
	// Target, BelowTarget and PhaseEnd are the report's that day: empty
	// without a phase (see TierStats).
	Target      Strength  `json:"target,omitempty"`
	BelowTarget *int      `json:"below_target,omitempty"`
	PhaseEnd    time.Time `json:"phase_end,omitzero"`
	// People counts privileged people's accounts by login strength (tier
	// 1 only).
	People *PeopleStats `json:"privileged_people,omitempty"`
	// Burndown is the value the chart draws for the day; computed from
	// ByStrength when read, never trusted from the stored record.
	Burndown Burndown `json:"burndown"`
}

// Burndown is one point of a tier's burndown: how many of its accounts sat
// below Level that day. Level is the tier's target (Basis BasisTarget), or
// BurndownDefault when the tier had no target that day (Basis
// BasisDefault), so a tier shows its trend before its phase is set.
type Burndown struct {
	Level Strength `json:"level"`
	Basis string   `json:"basis"`
	Below int      `json:"below"`
}

// BurndownOf is the chart's value for t, from its distribution: the
// accounts below its target, or below BurndownDefault without one.
// StrengthNone (no credential) is never below.
func BurndownOf(t TierSnapshot) Burndown {
	b := Burndown{Level: t.Target, Basis: BasisTarget}
	if t.Target == 0 {
		b = Burndown{Level: BurndownDefault, Basis: BasisDefault}
	}
	b.Below = belowTarget(t.ByStrength, b.Level)
	return b
}

// PlanHistory is the snapshots of a range of UTC days, in date order.
type PlanHistory struct {
	// From and To are the range's first and last days (YYYY-MM-DD, UTC).
	From      string     `json:"from"`
	To        string     `json:"to"`
	Snapshots []Snapshot `json:"snapshots"`
}

// snapshotOf is the snapshot of rep, taken at now.
func snapshotOf(rep *Report, now time.Time) Snapshot {
	s := Snapshot{Date: now.Format(dateLayout), TakenAt: now, Tiers: make([]TierSnapshot, 0, len(rep.Tiers))}
	for _, t := range rep.Tiers {
		ts := TierSnapshot{Tier: t.Tier, Name: t.Name, Accounts: t.Accounts, ByStrength: t.ByStrength,
			Target: t.Target, BelowTarget: t.BelowTarget, PhaseEnd: t.PhaseEnd, People: t.People}
		ts.Burndown = BurndownOf(ts)
		s.Tiers = append(s.Tiers, ts)
	}
	return s
}

// Snapshot takes the snapshot of the report at now and keeps it as the
// record of now's UTC day, replacing an earlier snapshot of that day: one
// record a day, the day's latest state. A record taken after now (another
// writer with a later clock) is kept instead. It returns the snapshot kept
// and whether it is the day's first.
func (inv *Inventory) Snapshot(ctx context.Context, now time.Time) (*Snapshot, bool, error) {
	now = now.UTC()
	rep, err := inv.Report(ctx, now)
	if err != nil {
		return nil, false, fmt.Errorf("snapshot: %w", err)
	}
	s := snapshotOf(rep, now)
	first := false
	err = inv.store.Update(ctx, func(tx store.Tx) error {
		var old Snapshot
		ok, err := getJSON(tx, tPlanSnap, []byte(s.Date), &old)
		if err != nil {
			return err
		}
		first = !ok
		if ok && old.TakenAt.After(now) {
			s = old
			return nil
		}
		return putJSON(tx, tPlanSnap, []byte(s.Date), s)
	})
	if err != nil {
		return nil, false, fmt.Errorf("snapshot %s: %w", s.Date, err)
	}
	for i := range s.Tiers {
		s.Tiers[i].Burndown = BurndownOf(s.Tiers[i])
	}
	return &s, first, nil
}

// SnapshotToday takes today's snapshot by the inventory's clock (the
// server's sweep job). It counts 1 when it wrote the day's first record,
// 0 when it replaced the day's record, so the sweep logs once a day.
func (inv *Inventory) SnapshotToday(ctx context.Context) (int, error) {
	_, first, err := inv.Snapshot(ctx, inv.now())
	if err != nil || !first {
		return 0, err
	}
	return 1, nil
}

// History returns the snapshots of the UTC days from through to (both
// included, times of day ignored), in date order; a day without a
// snapshot is absent. A zero to is today by the inventory's clock; a zero
// from is DefaultHistoryDays before to (to included). A range that ends
// before it starts, or longer than MaxHistoryDays, is refused.
func (inv *Inventory) History(ctx context.Context, from, to time.Time) (*PlanHistory, error) {
	day := func(t time.Time) time.Time {
		t = t.UTC()
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	if to.IsZero() {
		to = inv.now()
	}
	to = day(to)
	if from.IsZero() {
		from = to.AddDate(0, 0, -(DefaultHistoryDays - 1))
	}
	from = day(from)
	if to.Before(from) {
		return nil, &InvalidError{Field: "to", Reason: fmt.Sprintf("%s is before from %s: the history would end before it starts",
			to.Format(dateLayout), from.Format(dateLayout))}
	}
	if from.AddDate(0, 0, MaxHistoryDays-1).Before(to) {
		return nil, &InvalidError{Field: "from", Reason: fmt.Sprintf("history from %s to %s: at most %d days",
			from.Format(dateLayout), to.Format(dateLayout), MaxHistoryDays),
			HintText: fmt.Sprintf("roster plan history --from %s --to %s", to.AddDate(0, 0, -(DefaultHistoryDays-1)).Format(dateLayout), to.Format(dateLayout))}
	}
	h := &PlanHistory{From: from.Format(dateLayout), To: to.Format(dateLayout), Snapshots: []Snapshot{}}
	err := inv.store.View(ctx, func(tx store.Tx) error {
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			var s Snapshot
			ok, err := getJSON(tx, tPlanSnap, []byte(d.Format(dateLayout)), &s)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			for i := range s.Tiers {
				s.Tiers[i].Burndown = BurndownOf(s.Tiers[i])
			}
			h.Snapshots = append(h.Snapshots, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("plan history: %w", err)
	}
	return h, nil
}

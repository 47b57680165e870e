package render

import (
	"io"
	"time"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/inventory"
)

// historyColumns head the plan history's CSV: one row per day and tier,
// then one column per strength level (machine name, weakest first) and
// the tier's privileged people.
var historyColumns = []string{"date", "taken_at", "tier", "tier_name", "accounts", "target", "below_target", "phase_end",
	"burndown_level", "burndown_basis", "burndown_below"}

// PlanHistory renders the plan's daily snapshots as csv (one row per day
// and tier, in date then tier order) or json. The burndown columns are
// what roster plan chart draws: the accounts below burndown_level, the
// tier's target (basis "target") or short_lived_cert when the tier had no
// target that day (basis "no_target"). target, below_target and phase_end
// are empty without a phase; privileged_people is empty but for tier 1.
func PlanHistory(w io.Writer, h *inventory.PlanHistory, format string) error {
	switch format {
	case FormatCSV, "":
		return writeHistoryCSV(w, h)
	case FormatJSON:
		return writeJSON(w, h)
	}
	return &FormatError{Format: format, Want: "csv or json"}
}

func writeHistoryCSV(w io.Writer, h *inventory.PlanHistory) error {
	cw := textout.NewCSV(w)
	head := append([]string{}, historyColumns...)
	for _, l := range inventory.Strengths {
		head = append(head, l.Name())
	}
	cw.Write(append(head, "privileged_people"))
	for _, s := range h.Snapshots {
		for _, t := range s.Tiers {
			below, end, people := "", "", ""
			if t.BelowTarget != nil {
				below = itoa(*t.BelowTarget)
			}
			if !t.PhaseEnd.IsZero() {
				end = t.PhaseEnd.UTC().Format(time.DateOnly)
			}
			if t.People != nil {
				people = itoa(t.People.Accounts)
			}
			row := []string{s.Date, s.TakenAt.UTC().Format(time.RFC3339), itoa(int(t.Tier)), t.Name, itoa(t.Accounts),
				t.Target.Name(), below, end, t.Burndown.Level.Name(), t.Burndown.Basis, itoa(t.Burndown.Below)}
			for _, l := range inventory.Strengths {
				row = append(row, itoa(t.ByStrength[l.Name()]))
			}
			cw.Write(append(row, people))
		}
	}
	return cw.Flush()
}

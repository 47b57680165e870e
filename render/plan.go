package render

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/inventory"
)

// Plan renders the rollout plan as table, json, csv or markdown.
func Plan(w io.Writer, p *inventory.Plan, format string) error {
	switch format {
	case FormatTable, "":
		return planTable(w, p)
	case FormatJSON:
		return writeJSON(w, p)
	case FormatCSV:
		return planCSV(w, p)
	case FormatMarkdown, "md":
		return planMarkdown(w, p)
	}
	return &FormatError{Format: format, Want: "table, json, csv or markdown"}
}

var planColumns = []string{"tier", "state", "target", "owner", "start", "end", "days left", "progress", "below target", "open exceptions", "max exception"}

// planCells is a tier's row; "-" where the tier has no phase.
func planCells(t inventory.PlanTier) []string {
	cells := []string{t.Name, string(t.State)}
	if t.Phase == nil {
		cells = append(cells, "-", "-", "-", "-", "-")
	} else {
		cells = append(cells, t.Phase.Target.Name(), t.Phase.Owner, day(t.Phase.Start), day(t.Phase.End), daysLeftCell(t.DaysLeft))
	}
	cells = append(cells, progress(t.AtTarget, t.Accounts, t.Phase != nil), itoa(t.BelowTarget), itoa(t.OpenExceptions))
	if t.Phase == nil {
		return append(cells, "-")
	}
	return append(cells, durationCell(t.Phase.MaxException))
}

// day is a date in UTC, "-" when unset.
func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}

func daysLeftCell(d *int) string {
	if d == nil {
		return "-"
	}
	return itoa(*d)
}

// progress is at of all at or above target: "3/4 (75%)"; "-" without a
// phase.
func progress(at, all int, phase bool) string {
	switch {
	case !phase:
		return "-"
	case all == 0:
		return "0/0"
	}
	return fmt.Sprintf("%d/%d (%d%%)", at, all, at*100/all)
}

// durationCell writes whole days as "30d".
func durationCell(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

func belowCell(b inventory.BelowTarget) string {
	s := b.Strength.String()
	if b.StrengthBy != "" {
		s += ": " + b.StrengthBy
	}
	return s
}

func planTable(w io.Writer, p *inventory.Plan) error {
	ew := textout.New(w)
	ew.Printf("roster plan, %s\n\n", p.GeneratedAt.Format(time.RFC3339))
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	textout.Row(tw, strings.Split(strings.ToUpper(strings.Join(planColumns, "\t")), "\t")...)
	for _, t := range p.Tiers {
		textout.Row(tw, planCells(t)...)
	}
	tw.Flush()
	for _, t := range p.Tiers {
		if t.Phase == nil {
			continue
		}
		ew.Printf("\nTIER %s (%s, owner %s)", strings.ToUpper(t.Name), strings.ToUpper(string(t.State)), t.Phase.Owner)
		if t.Phase.Note != "" {
			ew.Printf(": %s", t.Phase.Note)
		}
		ew.Printf("\n")
		if t.State == inventory.PhaseOverdue {
			ew.Printf("  OVERDUE: the phase ended %s with %d account(s) below %s (a violation in the report)\n", day(t.Phase.End), t.BelowTarget, t.Phase.Target.Name())
		}
		if t.Phase.End.IsZero() && t.Tier < inventory.TierRest {
			ew.Printf("  no end recorded: no later tier's phase can be set until it is\n")
		}
		ew.Printf("  below target (%s): %d of %d account(s)\n", t.Phase.Target.Name(), t.BelowTarget, t.Accounts)
		for _, b := range t.Below {
			ew.Printf("    %s  %s  owner %s\n", b.Account, belowCell(b), ownerCell(b.Owner))
		}
		if more := t.BelowTarget - len(t.Below); more > 0 {
			ew.Printf("    ... %d more (use --format json)\n", more)
		}
		if t.People != nil && t.People.Accounts > 0 && t.PeopleBelowTarget != nil {
			ew.Printf("  privileged people (not counted above): %d of %d below target\n", *t.PeopleBelowTarget, t.People.Accounts)
		}
		ew.Printf("  open exceptions: %d\n", t.OpenExceptions)
		for _, e := range t.Exceptions {
			ew.Printf("    %s  %s  until %s  owner %s%s\n", e.ID, e.Account, day(e.Expires), e.Owner, exceptionFlags(e))
		}
		if more := t.OpenExceptions - len(t.Exceptions); more > 0 {
			ew.Printf("    ... %d more (use --format json)\n", more)
		}
	}
	return ew.Err()
}

// exceptionFlags marks an exception past its phase end or extended too
// often.
func exceptionFlags(e inventory.Exception) string {
	var f []string
	if e.BeyondPhase {
		f = append(f, "beyond phase end")
	}
	if e.Extensions > 0 {
		f = append(f, fmt.Sprintf("extended %d time(s)", e.Extensions))
	}
	if e.OverExtended() {
		f = append(f, "OVER-EXTENDED")
	}
	if len(f) == 0 {
		return ""
	}
	return "  (" + strings.Join(f, ", ") + ")"
}

func planCSV(w io.Writer, p *inventory.Plan) error {
	cw := textout.NewCSV(w)
	cw.Write([]string{"section", "tier", "name", "state", "target", "owner", "start", "end", "days_left", "accounts", "at_target",
		"below_target", "open_exceptions", "max_exception", "note"})
	rfc := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, t := range p.Tiers {
		row := []string{"phase", itoa(int(t.Tier)), t.Name, string(t.State)}
		if ph := t.Phase; ph != nil {
			dl := ""
			if t.DaysLeft != nil {
				dl = itoa(*t.DaysLeft)
			}
			row = append(row, ph.Target.Name(), ph.Owner, rfc(ph.Start), rfc(ph.End), dl)
		} else {
			row = append(row, "", "", "", "", "")
		}
		row = append(row, itoa(t.Accounts), itoa(t.AtTarget), itoa(t.BelowTarget), itoa(t.OpenExceptions))
		if ph := t.Phase; ph != nil {
			row = append(row, durationCell(ph.MaxException), ph.Note)
		} else {
			row = append(row, "", "")
		}
		cw.Write(row)
	}
	// below_target: tier, account, level (machine name), where, owner.
	for _, t := range p.Tiers {
		for _, b := range t.Below {
			o := ""
			if b.Owner != nil {
				o = b.Owner.Name
			}
			cw.Write([]string{"below_target", itoa(int(t.Tier)), b.Account, b.Strength.Name(), b.StrengthBy, o})
		}
	}
	// exception: tier, id, account, expires, owner, extensions, beyond phase.
	for _, t := range p.Tiers {
		for _, e := range t.Exceptions {
			cw.Write([]string{"exception", itoa(int(t.Tier)), e.ID, e.Account, rfc(e.Expires), e.Owner, itoa(e.Extensions), strconv.FormatBool(e.BeyondPhase)})
		}
	}
	return cw.Flush()
}

func planMarkdown(w io.Writer, p *inventory.Plan) error {
	ew := textout.New(w)
	ew.Printf("# roster plan\n\nGenerated %s.\n\n", p.GeneratedAt.Format(time.RFC3339))
	ew.Printf("| %s |\n|%s\n", strings.Join(planColumns, " | "), strings.Repeat("---|", len(planColumns)))
	for _, t := range p.Tiers {
		cells := planCells(t)
		for i, c := range cells {
			cells[i] = textout.Markdown(c)
		}
		ew.Printf("| %s |\n", strings.Join(cells, " | "))
	}
	for _, t := range p.Tiers {
		if t.Phase == nil {
			continue
		}
		ew.Printf("\n## Tier %s: %s\n\n", textout.Markdown(t.Name), t.State)
		ew.Printf("Target %s, owner %s, %s to %s.", textout.MarkdownCode(t.Phase.Target.Name()), textout.Markdown(t.Phase.Owner), day(t.Phase.Start), day(t.Phase.End))
		if t.Phase.Note != "" {
			ew.Printf(" %s", textout.Markdown(t.Phase.Note))
		}
		ew.Printf("\n\n")
		if t.State == inventory.PhaseOverdue {
			ew.Printf("**Overdue**: the phase ended %s with %d account(s) below target.\n\n", day(t.Phase.End), t.BelowTarget)
		}
		ew.Printf("Below target: %d of %d account(s).\n\n", t.BelowTarget, t.Accounts)
		for _, b := range t.Below {
			ew.Printf("- %s %s, owner %s\n", textout.MarkdownCode(b.Account), textout.Markdown(belowCell(b)), textout.Markdown(ownerCell(b.Owner)))
		}
		if more := t.BelowTarget - len(t.Below); more > 0 {
			ew.Printf("- … %d more\n", more)
		}
		if len(t.Below) > 0 {
			ew.Printf("\n")
		}
		if t.People != nil && t.People.Accounts > 0 && t.PeopleBelowTarget != nil {
			ew.Printf("Privileged people (not counted above): %d of %d below target.\n\n", *t.PeopleBelowTarget, t.People.Accounts)
		}
		ew.Printf("Open exceptions: %d.\n", t.OpenExceptions)
		for i, e := range t.Exceptions {
			if i == 0 {
				ew.Printf("\n")
			}
			ew.Printf("- %s %s until %s, owner %s%s\n", textout.Markdown(e.ID), textout.MarkdownCode(e.Account), day(e.Expires), textout.Markdown(e.Owner), textout.Markdown(exceptionFlags(e)))
		}
	}
	return ew.Err()
}

// PlanColumns are the plan table's column names, as roster plan prints
// them; PlanRow is one tier's cells in that order. The web page's plan
// table uses both, so that it shows what the CLI shows.
func PlanColumns() []string { return append([]string(nil), planColumns...) }

// PlanRow is tier t's cells of the plan table ("-" where the tier has no
// phase).
func PlanRow(t inventory.PlanTier) []string { return planCells(t) }

// Duration writes whole days as "30d", other durations as Go does
// ("36h0m0s"): how --max-exception and the plan page's form take them.
func Duration(d time.Duration) string { return durationCell(d) }

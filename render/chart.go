package render

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/inventory"
)

// The burndown chart (roster plan chart, GET /v1/plan/chart): one SVG
// document, standard library only, the same bytes for the same history.
//
// One panel per tier with data (accounts or a target on any day), top to
// bottom in tier order: x is the UTC date, y the accounts below the tier's
// burndown level that day (its target, or short_lived_cert without one:
// see inventory.Burndown), one point per snapshot joined by a polyline, so
// a day without a snapshot is a straight segment, not a drop to zero. Each
// truncDay counts below that day's level; the panel's title names the latest
// day's (the target, or "no target"). The x axis is shared by the panels.
// The tier's latest phase end is a dashed vertical line labelled with its date;
// the x axis stretches to show it unless it lies more than
// inventory.MaxHistoryDays away, when the title says it is off the chart.
// Without snapshots, or without a tier with data, the document is a short
// valid SVG that says so. Every text passes through textout.Clean, then
// XML escaping: no string can break the document.

// Chart geometry, in SVG user units.
const (
	chartWidth   = 760
	chartHeader  = 56  // the document's title and range
	panelHeight  = 220 // one tier's panel, gap included
	panelLeft    = 64  // room for the y axis labels
	panelRight   = 28
	panelTop     = 44 // the panel's title and subtitle
	panelBottom  = 44 // the x axis labels
	panelGap     = 12
	chartEmptyHt = 120
	svgNS        = "http://www.w3.org/2000/svg"
)

// Chart writes the burndown chart of h as an SVG document.
func Chart(w io.Writer, h *inventory.PlanHistory) error {
	var b bytes.Buffer
	panels := chartTiers(h)
	height := chartEmptyHt
	if len(panels) > 0 {
		height = chartHeader + len(panels)*panelHeight
	}
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="%s" width="%d" height="%d" viewBox="0 0 %d %d" role="img" font-family="sans-serif" font-size="12">`+"\n",
		svgNS, chartWidth, height, chartWidth, height)
	title := "roster plan: accounts below target per tier, " + h.From + " to " + h.To
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, height)
	fmt.Fprintf(&b, `<text x="16" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", esc("Rollout burndown: accounts below target per tier"))
	// The subtitle names the days the snapshots cover; the range asked
	// for (a default 90 days) may start long before the first.
	sub := fmt.Sprintf("%s to %s (UTC), %d daily snapshot(s)", h.From, h.To, len(h.Snapshots))
	if first, last, ok := snapshotDays(h); ok {
		sub = fmt.Sprintf("%d daily snapshot(s), %s to %s (UTC)", len(h.Snapshots), first.Format(time.DateOnly), last.Format(time.DateOnly))
	}
	fmt.Fprintf(&b, `<text x="16" y="44" fill="#555555">%s</text>`+"\n", esc(sub))
	switch {
	case len(h.Snapshots) == 0:
		fmt.Fprintf(&b, `<text class="empty" x="16" y="84">%s</text>`+"\n",
			esc("No history yet: the server takes one snapshot a day, the first when it starts."))
	case len(panels) == 0:
		fmt.Fprintf(&b, `<text class="empty" x="16" y="84">%s</text>`+"\n", esc("No accounts in any tier yet."))
	}
	if len(panels) > 0 {
		x0, x1 := xRange(h)
		for i, tier := range panels {
			writePanel(&b, h, tier, chartHeader+i*panelHeight, x0, x1)
		}
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// chartTiers are the tiers with data on some day, in tier order.
func chartTiers(h *inventory.PlanHistory) []inventory.Tier {
	has := map[inventory.Tier]bool{}
	for _, s := range h.Snapshots {
		if _, err := time.Parse(time.DateOnly, s.Date); err != nil {
			continue // not a day: not drawn
		}
		for _, t := range s.Tiers {
			if t.Accounts > 0 || t.Target != 0 {
				has[t.Tier] = true
			}
		}
	}
	var out []inventory.Tier
	for t := inventory.TierPrivileged; t <= inventory.TierRest; t++ {
		if has[t] {
			out = append(out, t)
		}
	}
	return out
}

// truncDay is the UTC day of t.
func truncDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// snapshotDays are the first and last days of h's snapshots (ok false
// when none has a date).
func snapshotDays(h *inventory.PlanHistory) (first, last time.Time, ok bool) {
	for _, s := range h.Snapshots {
		d, err := time.Parse(time.DateOnly, s.Date)
		if err != nil {
			continue
		}
		if !ok || d.Before(first) {
			first = d
		}
		if !ok || d.After(last) {
			last = d
		}
		ok = true
	}
	return first, last, ok
}

// phaseShown reports whether the phase end is near enough to the
// snapshots (inventory.MaxHistoryDays) to stretch the x axis to it.
func phaseShown(end time.Time, h *inventory.PlanHistory) bool {
	first, last, ok := snapshotDays(h)
	pd := truncDay(end)
	limit := inventory.MaxHistoryDays
	return ok && !pd.Before(first.AddDate(0, 0, -limit)) && !pd.After(last.AddDate(0, 0, limit))
}

// xRange is the panels' shared x axis: the snapshots' days, stretched to
// every phase end shown, at least two days wide.
func xRange(h *inventory.PlanHistory) (x0, x1 time.Time) {
	x0, x1, _ = snapshotDays(h)
	for _, s := range h.Snapshots {
		for _, t := range s.Tiers {
			if t.PhaseEnd.IsZero() || !phaseShown(t.PhaseEnd, h) {
				continue
			}
			if pd := truncDay(t.PhaseEnd); pd.Before(x0) {
				x0 = pd
			} else if pd.After(x1) {
				x1 = pd
			}
		}
	}
	if !x1.After(x0) {
		x0, x1 = x0.AddDate(0, 0, -1), x1.AddDate(0, 0, 1)
	}
	return x0, x1
}

// point is one day of a tier's burndown.
type point struct {
	day   time.Time
	below int
}

func writePanel(b *bytes.Buffer, h *inventory.PlanHistory, tier inventory.Tier, top int, x0, x1 time.Time) {
	var (
		pts    []point
		last   inventory.TierSnapshot
		phase  time.Time
		lastOK bool
	)
	for _, s := range h.Snapshots {
		d, err := time.Parse(time.DateOnly, s.Date)
		if err != nil {
			continue
		}
		for _, t := range s.Tiers {
			if t.Tier != tier {
				continue
			}
			pts = append(pts, point{d, t.Burndown.Below})
			last, lastOK = t, true
			if !t.PhaseEnd.IsZero() {
				phase = t.PhaseEnd.UTC()
			}
		}
	}
	if len(pts) == 0 {
		return // chartTiers draws only tiers with a day
	}
	name := tier.String()
	if lastOK && last.Name != "" {
		name = last.Name
	}
	head := "Tier " + name + ": "
	if last.Burndown.Basis == inventory.BasisTarget {
		head += "target " + last.Burndown.Level.String()
	} else {
		head += "no target (counting accounts below " + inventory.BurndownDefault.String() + ")"
	}

	showPhase := !phase.IsZero() && phaseShown(phase, h)
	if !phase.IsZero() && !showPhase {
		head += ", phase end " + phase.Format(time.DateOnly) + " (off the chart)"
	}
	ymax := 0
	for _, p := range pts {
		ymax = max(ymax, p.below)
	}
	step, ytop := yScale(ymax)

	left, right := float64(panelLeft), float64(chartWidth-panelRight)
	ptop, pbottom := float64(top+panelTop), float64(top+panelHeight-panelBottom-panelGap)
	span := x1.Sub(x0).Hours()
	xAt := func(d time.Time) float64 { return left + (right-left)*d.Sub(x0).Hours()/span }
	yAt := func(n int) float64 { return pbottom - (pbottom-ptop)*float64(n)/float64(ytop) }

	fmt.Fprintf(b, `<g class="tier" data-tier="%d">`+"\n", int(tier))
	fmt.Fprintf(b, `<text class="tier-title" x="16" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", top+18, esc(head))
	sub := fmt.Sprintf("%d account(s) on %s, %d below %s", last.Accounts, pts[len(pts)-1].day.Format(time.DateOnly),
		last.Burndown.Below, last.Burndown.Level.String())
	fmt.Fprintf(b, `<text class="tier-subtitle" x="16" y="%d" fill="#555555">%s</text>`+"\n", top+34, esc(sub))

	// Axes, the y grid and its labels.
	fmt.Fprintf(b, `<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333333"/>`+"\n", num(left), num(ptop), num(left), num(pbottom))
	fmt.Fprintf(b, `<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333333"/>`+"\n", num(left), num(pbottom), num(right), num(pbottom))
	for v := 0; v <= ytop; v += step {
		y := yAt(v)
		if v > 0 {
			fmt.Fprintf(b, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#dddddd"/>`+"\n", num(left), num(y), num(right), num(y))
		}
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end">%d</text>`+"\n", num(left-6), num(y+4), v)
	}
	fmt.Fprintf(b, `<text class="axis-label" x="14" y="%s" transform="rotate(-90 14 %s)" text-anchor="middle">%s</text>`+"\n",
		num((ptop+pbottom)/2), num((ptop+pbottom)/2), esc("accounts below"))
	fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="start">%s</text>`+"\n", num(left), num(pbottom+16), esc(x0.Format(time.DateOnly)))
	fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end">%s</text>`+"\n", num(right), num(pbottom+16), esc(x1.Format(time.DateOnly)))
	fmt.Fprintf(b, `<text class="axis-label" x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", num((left+right)/2), num(pbottom+32), esc("date (UTC)"))

	if showPhase {
		x := xAt(truncDay(phase))
		fmt.Fprintf(b, `<line class="phase-end" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="6 4"/>`+"\n",
			num(x), num(ptop-4), num(x), num(pbottom))
		anchor, dx := "end", -4.0
		if x < (left+right)/2 {
			anchor, dx = "start", 4
		}
		fmt.Fprintf(b, `<text class="phase-end-label" x="%s" y="%s" text-anchor="%s" fill="#c0392b">%s</text>`+"\n",
			num(x+dx), num(ptop+8), anchor, esc("phase end "+phase.Format(time.DateOnly)))
	}

	// The burndown: a polyline through every day with a snapshot, and a
	// dot on each (a single day still shows).
	var line bytes.Buffer
	for i, p := range pts {
		if i > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(num(xAt(p.day)) + "," + num(yAt(p.below)))
	}
	fmt.Fprintf(b, `<polyline class="burndown" points="%s" fill="none" stroke="#1f6feb" stroke-width="2"/>`+"\n", line.String())
	for _, p := range pts {
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3" fill="#1f6feb"><title>%s</title></circle>`+"\n",
			num(xAt(p.day)), num(yAt(p.below)), esc(fmt.Sprintf("%s: %d below", p.day.Format(time.DateOnly), p.below)))
	}
	if len(pts) == 1 {
		fmt.Fprintf(b, `<text class="note" x="%s" y="%s" fill="#555555">%s</text>`+"\n", num(left+8), num(ptop+24),
			esc("one day of history so far: the trend shows from the second day"))
	}
	b.WriteString("</g>\n")
}

// yScale picks the y axis: a step of 1, 2 or 5 times a power of ten
// giving at most five intervals, and the top, a multiple of it, at or
// above ymax (at least 1).
func yScale(ymax int) (step, top int) {
	ymax = max(ymax, 1)
	for pow := 1; pow <= math.MaxInt/100; pow *= 10 {
		for _, m := range []int{1, 2, 5} {
			if step = m * pow; ymax <= step*5 {
				return step, (ymax + step - 1) / step * step
			}
		}
	}
	return ymax, ymax
}

// num formats a coordinate with one decimal, the same bytes everywhere.
func num(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "0"
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

// esc makes s safe as SVG text or an attribute value: unsafe characters
// made visible (textout.Clean), then XML-escaped.
func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(textout.Clean(s)))
	return b.String()
}

package server

import (
	"bytes"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

// The dashboard: what needs doing first (overdue phases and expired
// exceptions, then ownerless privileged accounts, exceptions expiring
// within 30 days, recent refusals), each tier's phase and strength
// distribution, and the burndown chart. Its numbers are the report's and
// the plan's (inventory.Report, inventory.Plan: what roster report and
// roster plan print), its chart render.Chart's (roster plan chart).

// Dashboard limits.
const (
	// refusalsShown is how many recent refusals the dashboard lists, from
	// refusalsWindow back.
	refusalsShown  = 10
	refusalsWindow = 7 * 24 * time.Hour
	// barWidth is the strength bar's width in SVG user units.
	barWidth = 600
)

// dashboardData is the dashboard's data.
type dashboardData struct {
	Report   *inventory.Report
	Tiers    []dashboardTier
	Refusals []audit.Event
	// Chart is render.Chart's SVG document without its XML declaration,
	// inline: render escapes every text it draws.
	Chart template.HTML
}

// dashboardTier is one tier's phase and strength bar.
type dashboardTier struct {
	inventory.PlanTier
	Segments []barSegment
	// TargetX is where the bar's target mark is (levels below the target
	// are left of it); HasTarget is false without a phase.
	TargetX   int
	HasTarget bool
	Label     string // the bar's text alternative
}

// barSegment is one strength level's share of a tier's bar.
type barSegment struct {
	Level     inventory.Strength
	Count     int
	X, Width  int
	Fill      string
	BelowGoal bool
}

// strengthFills colour the levels, weakest (red) to strongest (green);
// "no credential" is grey. Each has at least 3:1 contrast on white.
var strengthFills = map[inventory.Strength]string{
	inventory.StrengthSharedSecret:   "#8b0000",
	inventory.StrengthEmptyPassword:  "#b22222",
	inventory.StrengthStaticPassword: "#c0392b",
	inventory.StrengthStaticSSHKey:   "#b35900",
	inventory.StrengthSecretFile:     "#8a6d00",
	inventory.StrengthLongLivedCert:  "#5b6e00",
	inventory.StrengthShortLivedCert: "#1e7b34",
	inventory.StrengthHardwareBound:  "#0b5e2a",
	inventory.StrengthNone:           "#6b7280",
}

// strengthBar lays out a tier's distribution over barWidth units.
func strengthBar(pt inventory.PlanTier) dashboardTier {
	d := dashboardTier{PlanTier: pt, HasTarget: pt.Phase != nil}
	total := 0
	for _, n := range pt.ByStrength {
		total += n
	}
	x, seen := 0, 0
	var parts []string
	for _, l := range inventory.Strengths {
		n := pt.ByStrength[l.Name()]
		if d.HasTarget && l == pt.Phase.Target {
			d.TargetX = x
		}
		if n == 0 {
			continue
		}
		seen += n
		end := barWidth * seen / total
		d.Segments = append(d.Segments, barSegment{Level: l, Count: n, X: x, Width: end - x, Fill: strengthFills[l],
			BelowGoal: d.HasTarget && l < pt.Phase.Target})
		parts = append(parts, strconv.Itoa(n)+" "+l.String())
		x = end
	}
	if d.HasTarget && pt.Phase.Target > inventory.Strengths[len(inventory.Strengths)-1] {
		d.TargetX = barWidth
	}
	d.Label = "Tier " + strconv.Itoa(int(pt.Tier)) + ": "
	if len(parts) == 0 {
		d.Label += "no accounts"
	} else {
		d.Label += strings.Join(parts, ", ")
	}
	if d.HasTarget {
		d.Label += "; target " + pt.Phase.Target.String() + ", " + strconv.Itoa(pt.BelowTarget) + " below it"
	}
	return d
}

// dashboardPage answers GET /.
func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	now := s.inv.Now()
	rep, err := s.operatorReport(ctx, now)
	if err != nil {
		return err
	}
	plan, err := s.inv.Plan(ctx, now)
	if err != nil {
		return err
	}
	d := dashboardData{Report: rep}
	for _, pt := range plan.Tiers {
		d.Tiers = append(d.Tiers, strengthBar(pt))
	}
	evs, err := audit.List(ctx, s.inv.Store(), audit.Filter{Since: now.Add(-refusalsWindow)})
	if err != nil {
		return err
	}
	for _, e := range slices.Backward(evs) {
		if e.Outcome == audit.OutcomeRefused {
			d.Refusals = append(d.Refusals, e)
			if len(d.Refusals) == refusalsShown {
				break
			}
		}
	}
	h, err := s.historyRange(r)
	if err != nil {
		return err
	}
	var svg bytes.Buffer
	if err := render.Chart(&svg, h); err != nil {
		return err
	}
	doc := svg.String()
	if i := strings.Index(doc, "<svg"); i >= 0 {
		doc = doc[i:]
	}
	d.Chart = template.HTML(doc) // #nosec: render.Chart escapes every text (see its doc)
	return s.render(w, r, http.StatusOK, "dashboard", d)
}

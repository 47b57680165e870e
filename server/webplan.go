package server

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

// planData is the plan page's data: the plan roster plan prints, its
// table as roster plan's cells, and per tier the phase form's values.
type planData struct {
	Plan    *inventory.Plan
	Columns []string
	Tiers   []planTierRow
	// Levels are the targets a phase may have (machine name, label).
	Levels []planLevel
	Done   string
}

type planTierRow struct {
	inventory.PlanTier
	// N is the tier's number (Tier prints as "1 privileged").
	N     int
	Cells []string
	// Form holds the phase form's values: the phase's own, or what was
	// posted when Refused says why it was refused.
	Form    api.PhaseRequest
	Refused *webRefusal
	// Ordering: the refusal is the ordering rule's.
	Ordering bool
}

type planLevel struct{ Name, Label string }

// planPage answers GET /plan (?format=csv: roster plan --format csv).
func (s *Server) planPage(w http.ResponseWriter, r *http.Request) error {
	return s.showPlan(w, r, http.StatusOK, 0, nil, nil, false)
}

// showPlan renders the plan page; a refused form of tier refusedTier is
// shown with the reason and, when form is set, the values posted.
func (s *Server) showPlan(w http.ResponseWriter, r *http.Request, status, refusedTier int, form *api.PhaseRequest, ref *webRefusal, ordering bool) error {
	f, err := format(r, "html", api.FormatCSV)
	if err != nil {
		return err
	}
	pl, err := s.inv.Plan(r.Context(), s.inv.Now())
	if err != nil {
		return err
	}
	if f == api.FormatCSV {
		return respond(w, r, f, nil, func(w io.Writer) error { return render.Plan(w, pl, f) })
	}
	d := planData{Plan: pl, Columns: render.PlanColumns(), Done: r.URL.Query().Get("done")}
	for _, t := range pl.Tiers {
		row := planTierRow{PlanTier: t, N: int(t.Tier), Cells: render.PlanRow(t), Form: phaseForm(t.Phase)}
		if int(t.Tier) == refusedTier {
			row.Refused, row.Ordering = ref, ordering
			if form != nil {
				row.Form = *form
			}
		}
		d.Tiers = append(d.Tiers, row)
	}
	for _, l := range inventory.Strengths {
		if l != inventory.StrengthNone {
			d.Levels = append(d.Levels, planLevel{Name: l.Name(), Label: l.String()})
		}
	}
	return s.render(w, r, status, "plan", d)
}

// formDate is t as an <input type="date"> value, "" when unset.
func formDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// phaseForm is the phase form's values of p (empty without a phase).
func phaseForm(p *inventory.Phase) api.PhaseRequest {
	if p == nil {
		return api.PhaseRequest{}
	}
	return api.PhaseRequest{Target: p.Target.Name(), Owner: p.Owner, Start: formDate(p.Start), End: formDate(p.End),
		MaxException: render.Duration(p.MaxException), Note: p.Note}
}

// webSetPhase answers POST /plan/{tier} (fields target, owner, start, end,
// max_exception, note): the same setPhaseFrom as PUT /v1/plan/{tier}. A
// refusal (the ordering rule, a missing field) shows the plan again with
// the reason, its hint and the values posted.
func (s *Server) webSetPhase(w http.ResponseWriter, r *http.Request) error {
	tier, err := tierParam(r)
	if err != nil {
		return err
	}
	req := api.PhaseRequest{Target: r.PostFormValue("target"), Owner: strings.TrimSpace(r.PostFormValue("owner")),
		Start: strings.TrimSpace(r.PostFormValue("start")), End: strings.TrimSpace(r.PostFormValue("end")),
		MaxException: strings.TrimSpace(r.PostFormValue("max_exception")), Note: strings.TrimSpace(r.PostFormValue("note"))}
	if _, err := s.setPhaseFrom(r.Context(), tier, req); err != nil {
		ref, rerr := s.refusal(w, r, err)
		if rerr != nil {
			return rerr
		}
		return s.showPlan(w, r, ref.Status, tier, &req, ref, orderingRefusal(err))
	}
	return webDone(w, r, "/plan", "phase of tier "+r.PathValue("tier")+" set")
}

// webRemovePhase answers POST /plan/{tier}/remove: inventory.RemovePhase,
// as DELETE /v1/plan/{tier}; refused by the ordering rule while a later
// tier has a phase.
func (s *Server) webRemovePhase(w http.ResponseWriter, r *http.Request) error {
	tier, err := tierParam(r)
	if err != nil {
		return err
	}
	if err := s.inv.RemovePhase(r.Context(), inventory.Tier(tier)); err != nil {
		ref, rerr := s.refusal(w, r, err)
		if rerr != nil {
			return rerr
		}
		return s.showPlan(w, r, ref.Status, tier, nil, ref, orderingRefusal(err))
	}
	return webDone(w, r, "/plan", "phase of tier "+r.PathValue("tier")+" removed")
}

// orderingRefusal reports whether err is the ordering rule's refusal (the
// inventory's refusal of the field tier, for a tier in range).
func orderingRefusal(err error) bool {
	var ie *inventory.InvalidError
	return errors.As(err, &ie) && ie.Field == "tier" && strings.Contains(ie.Reason, "earlier tier")
}

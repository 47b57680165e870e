package server

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

// The rollout plan (inventory/plan.go): PUT /v1/plan/{tier} sets a tier's
// phase, DELETE /v1/plan/{tier} removes it, GET /v1/plan reads the plan; POST /v1/exceptions/{id}/extend
// extends an exception under its tier's caps.

// setPhase answers PUT /v1/plan/{tier} with the stored phase.
func (s *Server) setPhase(w http.ResponseWriter, r *http.Request) error {
	tier, err := tierParam(r)
	if err != nil {
		return err
	}
	var req api.PhaseRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	got, err := s.setPhaseFrom(r.Context(), tier, req)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, apiPhase(got))
	return nil
}

// setPhaseFrom reads req (the API's body, or the plan page's form) as
// tier's phase and sets it: the one path of PUT /v1/plan/{tier} and POST
// /plan/{tier}.
func (s *Server) setPhaseFrom(ctx context.Context, tier int, req api.PhaseRequest) (inventory.Phase, error) {
	p := inventory.Phase{Tier: inventory.Tier(tier), Owner: req.Owner, Note: req.Note}
	var err error
	if req.Target != "" {
		if p.Target, err = inventory.ParseStrength(req.Target); err != nil {
			return inventory.Phase{}, &inventory.InvalidError{Field: "target", Reason: strings.TrimPrefix(err.Error(), "strength: "),
				HintText: "add --target LEVEL, e.g. --target short_lived_cert"}
		}
	}
	for _, d := range []struct {
		name string
		in   string
		out  *time.Time
	}{{"start", req.Start, &p.Start}, {"end", req.End, &p.End}} {
		if d.in == "" {
			continue
		}
		if *d.out, err = parseDate(d.in); err != nil {
			return inventory.Phase{}, errorf(http.StatusBadRequest, "%s: %v", d.name, err)
		}
		if _, dayOnly := time.Parse(time.DateOnly, d.in); dayOnly == nil && d.name == "start" {
			// A phase starts at the beginning of its first day and ends
			// at the end of its last.
			*d.out = d.out.Truncate(24 * time.Hour)
		}
	}
	if req.MaxException != "" {
		if p.MaxException, err = parseDays(req.MaxException); err != nil {
			return inventory.Phase{}, errorf(http.StatusBadRequest, "max_exception: %v", err)
		}
	}
	got, err := s.inv.SetPhase(ctx, p)
	if err != nil {
		return inventory.Phase{}, err
	}
	s.noticesSoon() // a phase ending within 14 days with accounts below target is queued now
	return got, nil
}

// removePhase answers DELETE /v1/plan/{tier}.
func (s *Server) removePhase(w http.ResponseWriter, r *http.Request) error {
	tier, err := tierParam(r)
	if err != nil {
		return err
	}
	if err := s.inv.RemovePhase(r.Context(), inventory.Tier(tier)); err != nil {
		return err
	}
	return ok(w, r, api.StatusRemoved)
}

// tierParam reads the {tier} of the path.
func tierParam(r *http.Request) (int, error) {
	tier, err := strconv.Atoi(r.PathValue("tier"))
	if err != nil {
		return 0, errorf(http.StatusBadRequest, "tier %q: expected 1, 2, 3 or 4", r.PathValue("tier"))
	}
	return tier, nil
}

// plan answers GET /v1/plan?format=table|json|csv|markdown.
func (s *Server) plan(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON, api.FormatCSV, api.FormatMarkdown)
	if err != nil {
		return err
	}
	pl, err := s.inv.Plan(r.Context(), s.inv.Now())
	if err != nil {
		return err
	}
	return respond(w, r, f, apiPlan(pl), func(w io.Writer) error { return render.Plan(w, pl, f) })
}

// extendException answers POST /v1/exceptions/{id}/extend with the
// extended exception.
func (s *Server) extendException(w http.ResponseWriter, r *http.Request) error {
	var req api.ExtendRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var expires time.Time
	if req.Expires != "" {
		var err error
		if expires, err = parseDate(req.Expires); err != nil {
			return errorf(http.StatusBadRequest, "expires: %v", err)
		}
	}
	e, err := s.inv.ExtendException(r.Context(), r.PathValue("id"), expires, req.Reason)
	if err != nil {
		return err
	}
	s.noticesSoon() // a notice it makes due (an exception expiring within days) is queued now
	writeJSON(w, r, http.StatusOK, apiException(e))
	return nil
}

func apiPhase(p inventory.Phase) api.Phase {
	return api.Phase{Tier: int(p.Tier), Target: p.Target.Name(), Owner: p.Owner, Start: p.Start, End: p.End,
		MaxException: p.MaxException, Note: p.Note, SetAt: p.SetAt, SetBy: p.SetBy}
}

func apiPlan(pl *inventory.Plan) *api.Plan {
	return &api.Plan{GeneratedAt: pl.GeneratedAt, Tiers: mapSlice(pl.Tiers, func(t inventory.PlanTier) api.PlanTier {
		var ph *api.Phase
		if t.Phase != nil {
			p := apiPhase(*t.Phase)
			ph = &p
		}
		return api.PlanTier{Tier: int(t.Tier), Name: t.Name, Phase: ph, State: string(t.State), DaysLeft: t.DaysLeft,
			Accounts: t.Accounts, AtTarget: t.AtTarget, BelowTarget: t.BelowTarget, ByStrength: t.ByStrength,
			Below: mapSlice(t.Below, func(b inventory.BelowTarget) api.BelowTarget {
				return api.BelowTarget{Account: b.Account, Strength: b.Strength.Name(), StrengthBy: b.StrengthBy, Owner: apiOwner(b.Owner)}
			}),
			People: apiPeople(t.People), PeopleBelowTarget: t.PeopleBelowTarget,
			OpenExceptions: t.OpenExceptions, Exceptions: mapSlice(t.Exceptions, apiException)}
	})}
}

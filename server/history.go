package server

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

// planHistory is GET /v1/plan/history: the plan's daily snapshots of a
// range of days (?from=&to=, see api.PlanHistoryQuery) as csv or json.
func (s *Server) planHistory(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatCSV, api.FormatJSON)
	if err != nil {
		return err
	}
	h, err := s.historyRange(r)
	if err != nil {
		return err
	}
	return respond(w, r, f, apiPlanHistory(h), func(w io.Writer) error { return render.PlanHistory(w, h, f) })
}

// planChart is GET /v1/plan/chart: the burndown per tier as an SVG
// document (render.Chart) for the same range. The document carries no
// script; the content security policy forbids any all the same, in case a
// browser opens it directly.
func (s *Server) planChart(w http.ResponseWriter, r *http.Request) error {
	h, err := s.historyRange(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := render.Chart(&buf, h); err != nil {
		return err
	}
	w.Header().Set("Content-Type", api.ContentTypeSVG)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(buf.Bytes())
	return err
}

// historyRange reads ?from= and ?to= (YYYY-MM-DD or RFC 3339; empty: the
// inventory's default range) and returns the history of those days, today's
// as of now.
func (s *Server) historyRange(r *http.Request) (*inventory.PlanHistory, error) {
	var days [2]time.Time
	for i, name := range []string{"from", "to"} {
		v := r.URL.Query().Get(name)
		if v == "" {
			continue
		}
		t, err := parseDate(v)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "query parameter %s: %v", name, err)
		}
		days[i] = t
	}
	// Today's point is the state now, not that of the last sweep: when the
	// range reaches today, the day's record is refreshed first (one write;
	// the sweep would have written the same).
	if now := s.inv.Now(); days[1].IsZero() || !days[1].Before(now.Truncate(24*time.Hour)) {
		if _, err := s.inv.SnapshotToday(r.Context()); err != nil {
			return nil, err
		}
	}
	return s.inv.History(r.Context(), days[0], days[1])
}

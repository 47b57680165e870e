package server

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/render"
)

// listAudit answers GET /v1/audit with the filter of [api.AuditQuery], as
// a table, JSON, or JSON lines (one [api.AuditEvent] per line, streamed).
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON, api.FormatJSONL, api.FormatCSV)
	if err != nil {
		return err
	}
	filter := audit.Filter{Account: r.URL.Query().Get("account")}
	if since := r.URL.Query().Get("since"); since != "" {
		if t, err := time.Parse(time.RFC3339, since); err == nil {
			filter.Since = t
		} else if d, err := parseDays(since); err == nil {
			filter.Since = time.Now().Add(-d)
		} else {
			return errorf(http.StatusBadRequest, "query parameter since: %q is neither RFC 3339 nor a duration such as 24h or 7d", since)
		}
	}
	events, err := audit.List(r.Context(), s.inv, filter)
	if err != nil {
		return err
	}
	if f == api.FormatJSONL {
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for _, ev := range events {
			if err := enc.Encode(apiAuditEvent(ev)); err != nil {
				return nil // the client went away mid-stream; the status is sent
			}
		}
		return nil
	}
	return respond(w, r, f, nonNil(mapSlice(events, apiAuditEvent)), func(w io.Writer) error {
		if f == api.FormatCSV {
			return render.AuditCSV(w, events)
		}
		return render.Audit(w, events)
	})
}

// verifyAudit answers GET /v1/audit/verify: 200 whether or not the chain
// holds; OK says.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	n, err := audit.Verify(r.Context(), s.inv)
	res := api.AuditVerification{OK: err == nil, Records: int(n)}
	if err != nil {
		res.Error = err.Error()
	}
	writeJSON(w, r, http.StatusOK, res)
	return nil
}

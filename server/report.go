package server

import (
	"io"
	"net/http"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/render"
)

func (s *Server) report(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON, api.FormatCSV, api.FormatMarkdown)
	if err != nil {
		return err
	}
	rep, err := s.inv.Report(r.Context(), s.inv.Now())
	if err != nil {
		return err
	}
	return respond(w, r, f, apiReport(rep), func(w io.Writer) error { return render.Report(w, rep, f) })
}

func (s *Server) sharedCredentials(w http.ResponseWriter, r *http.Request) error {
	shared, err := s.inv.SharedCredentials(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, nonNil(mapSlice(shared, apiShared)))
	return nil
}

package server

import (
	"io"
	"net/http"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/render"
)

func (s *Server) listHosts(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON, api.FormatCSV)
	if err != nil {
		return err
	}
	hosts, err := s.inv.ListHosts(r.Context())
	if err != nil {
		return err
	}
	return respond(w, r, f, nonNil(mapSlice(hosts, apiHost)), func(w io.Writer) error { return render.Hosts(w, hosts, f) })
}

func (s *Server) getHost(w http.ResponseWriter, r *http.Request) error {
	h, err := s.inv.GetHost(r.Context(), r.PathValue("host"))
	if err != nil {
		return err
	}
	out, err := apiHostDetail(h)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

// tagHost answers with what an env= change did to service accounts (see
// api.TagHostResponse).
func (s *Server) tagHost(w http.ResponseWriter, r *http.Request) error {
	var req api.TagsRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	res, err := s.inv.RetagHosts(r.Context(), []string{r.PathValue("host")}, req.Add, req.Remove)
	if err != nil {
		return err
	}
	out := api.TagHostResponse{Status: api.StatusOK}
	for _, m := range res.Moved {
		out.Moved = append(out.Moved, api.AccountMove(m))
	}
	for _, n := range res.NeedOwner {
		out.NeedOwner = append(out.NeedOwner, api.OwnerNeeded(n))
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

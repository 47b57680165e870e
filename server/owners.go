package server

import (
	"context"
	"io"
	"net/http"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

func (s *Server) setOwner(w http.ResponseWriter, r *http.Request) error {
	var req api.Owner
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.inv.SetOwner(r.Context(), r.PathValue("name"), inventory.Owner{Name: req.Name, Contact: req.Contact}); err != nil {
		return err
	}
	return ok(w, r, api.StatusOK)
}

func (s *Server) unsetOwner(w http.ResponseWriter, r *http.Request) error {
	if err := s.inv.UnsetOwner(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	return ok(w, r, api.StatusOK)
}

// importOwners sets owners from a CSV body (POST /v1/owners/import); see
// importCSV.
func (s *Server) importOwners(w http.ResponseWriter, r *http.Request) error {
	return s.importCSV(w, r, "owner import", s.ownerImport)
}

// ownerImport is the owner import of POST /v1/owners/import and the web
// page's /import.
func (s *Server) ownerImport(ctx context.Context, csv io.Reader, apply bool) (imported, error) {
	res, err := s.inv.ImportOwners(ctx, csv, apply)
	if err != nil {
		return imported{}, err
	}
	im := imported{head: []string{"account", "owner", "contact", "service account"},
		body: apiImportResult(res), table: func(w io.Writer) error { return render.ImportResult(w, res) }}
	for _, row := range res.Rows {
		im.lines = append(im.lines, importLine{row.Line, []string{row.Account, row.Owner, row.Contact, row.Key}, row.Err})
	}
	return im, nil
}

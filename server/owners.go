package server

import (
	"fmt"
	"io"
	"net/http"
	"strings"

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

// importOwners sets owners from a CSV body (POST /v1/owners/import): a dry
// run unless ?apply=true; any row with an error writes nothing and answers
// 422.
func (s *Server) importOwners(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON)
	if err != nil {
		return err
	}
	apply, err := queryBool(r, "apply")
	if err != nil {
		return err
	}
	res, err := s.inv.ImportOwners(r.Context(), r.Body, apply)
	if err != nil {
		return err
	}
	if res.Errors > 0 && f != api.FormatJSON {
		// The CLI prints the error; the rows go in the message.
		var b strings.Builder
		fmt.Fprintf(&b, "owner import: %d of %d rows have errors, nothing written:", res.Errors, len(res.Rows))
		for _, row := range res.Rows {
			if row.Err != "" {
				fmt.Fprintf(&b, "\n  line %d: %s", row.Line, row.Err)
			}
		}
		return errorf(http.StatusUnprocessableEntity, "%s", b.String()).withHint("fix the rows and run the import again")
	}
	if res.Errors > 0 {
		writeJSON(w, r, http.StatusUnprocessableEntity, apiImportResult(res))
		return nil
	}
	return respond(w, r, f, apiImportResult(res), func(w io.Writer) error { return render.ImportResult(w, res) })
}

package server

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

// The vendor register (inventory/vendors.go): POST, GET and the import
// under /v1/vendors, GET, PATCH and DELETE of /v1/vendors/{name}.

func strOr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) addVendor(w http.ResponseWriter, r *http.Request) error {
	var req api.VendorRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v, err := s.inv.AddVendor(r.Context(), inventory.Vendor{Name: req.Name, Owner: strOr(req.Owner), Contact: strOr(req.Contact),
		Route: strOr(req.Route), Factor: strOr(req.Factor), Domain: strOr(req.Domain), OnLapse: strOr(req.OnLapse), Note: strOr(req.Note)})
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusCreated, apiVendor(v))
	return nil
}

func (s *Server) setVendor(w http.ResponseWriter, r *http.Request) error {
	var req api.VendorRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v, err := s.inv.SetVendor(r.Context(), r.PathValue("name"), inventory.VendorPatch{Owner: req.Owner, Contact: req.Contact,
		Route: req.Route, Factor: req.Factor, Domain: req.Domain, OnLapse: req.OnLapse, Note: req.Note})
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, apiVendor(v))
	return nil
}

func (s *Server) removeVendor(w http.ResponseWriter, r *http.Request) error {
	if err := s.inv.RemoveVendor(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	return ok(w, r, api.StatusOK)
}

func (s *Server) listVendors(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON, api.FormatCSV)
	if err != nil {
		return err
	}
	list, err := s.inv.ListVendors(r.Context())
	if err != nil {
		return err
	}
	return respond(w, r, f, nonNil(mapSlice(list, apiVendor)), func(w io.Writer) error { return render.Vendors(w, list, f) })
}

func (s *Server) getVendor(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON)
	if err != nil {
		return err
	}
	d, err := s.inv.Vendor(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return respond(w, r, f, apiVendorDetail(d), func(w io.Writer) error { return render.Vendor(w, d, time.Now()) })
}

// importVendors registers vendors from a CSV body (POST
// /v1/vendors/import); see importCSV.
func (s *Server) importVendors(w http.ResponseWriter, r *http.Request) error {
	return s.importCSV(w, r, "vendor import", s.vendorImport)
}

// vendorImport is the vendor import of POST /v1/vendors/import and the
// web page's /import.
func (s *Server) vendorImport(ctx context.Context, csv io.Reader, apply bool) (imported, error) {
	res, err := s.inv.ImportVendors(ctx, csv, apply)
	if err != nil {
		return imported{}, err
	}
	im := imported{head: []string{"name", "owner", "contact", "route", "factor", "domain", "on_lapse", "note", "action"},
		body: apiVendorImport(res), table: func(w io.Writer) error { return render.VendorImportResult(w, res) }}
	for _, row := range res.Rows {
		im.lines = append(im.lines, importLine{row.Line, []string{row.Name, row.Owner, row.Contact, row.Route, row.Factor, row.Domain,
			row.OnLapse, row.Note, row.Action}, row.Err})
	}
	return im, nil
}

func apiVendor(v inventory.Vendor) api.Vendor {
	return api.Vendor{Name: v.Name, Owner: v.Owner, Contact: v.Contact, Route: v.Route, Factor: v.Factor, Strength: v.Strength.Name(),
		Domain: v.Domain, OnLapse: v.OnLapse, Note: v.Note, Created: v.Created, Updated: v.Updated}
}

func apiVendorDetail(d *inventory.VendorDetail) api.VendorDetail {
	return api.VendorDetail{Vendor: apiVendor(d.Vendor), Accounts: mapSlice(d.Accounts, apiSummary), Exceptions: mapSlice(d.Exceptions, apiException)}
}

func apiVendorImport(r *inventory.VendorImportResult) *api.VendorImportResult {
	return &api.VendorImportResult{Errors: r.Errors, Applied: r.Applied,
		Rows: mapSlice(r.Rows, func(row inventory.VendorImportRow) api.VendorImportRow {
			return api.VendorImportRow{Line: row.Line, Name: row.Name, Owner: row.Owner, Contact: row.Contact, Route: row.Route,
				Factor: row.Factor, Domain: row.Domain, OnLapse: row.OnLapse, Note: row.Note, Action: row.Action, Err: row.Err}
		})}
}

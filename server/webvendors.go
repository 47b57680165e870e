package server

import (
	"io"
	"net/http"
	"net/url"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

// vendorChoices are the values a vendor form's selects offer: the
// inventory's own lists.
type vendorChoices struct {
	Routes, Factors, OnLapse []string
}

func newVendorChoices() vendorChoices {
	return vendorChoices{Routes: inventory.VendorRoutes, Factors: inventory.VendorFactors, OnLapse: inventory.VendorOnLapse}
}

// vendorsData is the vendors page's data: roster vendor list with each
// vendor's accounts and open exceptions, the lapses, and the add form.
type vendorsData struct {
	Vendors []vendorRow
	Lapses  []inventory.VendorLapse
	vendorChoices
	// Form is the add form's values: what was posted when Refused says
	// why it was refused.
	Form    inventory.Vendor
	Refused *webRefusal
	Done    string
}

type vendorRow struct {
	inventory.Vendor
	FactorText string
	Accounts   int
	Exceptions int
}

// vendorsPage answers GET /vendors (?format=csv: roster vendor list
// --format csv).
func (s *Server) vendorsPage(w http.ResponseWriter, r *http.Request) error {
	return s.showVendors(w, r, http.StatusOK, inventory.Vendor{}, nil)
}

func (s *Server) showVendors(w http.ResponseWriter, r *http.Request, status int, form inventory.Vendor, ref *webRefusal) error {
	f, err := format(r, "html", api.FormatCSV)
	if err != nil {
		return err
	}
	list, err := s.inv.ListVendors(r.Context())
	if err != nil {
		return err
	}
	if f == api.FormatCSV {
		return respond(w, r, f, nil, func(w io.Writer) error { return render.Vendors(w, list, f) })
	}
	d := vendorsData{vendorChoices: newVendorChoices(), Form: form, Refused: ref, Done: r.URL.Query().Get("done")}
	for _, v := range list {
		det, err := s.inv.Vendor(r.Context(), v.Name)
		if err != nil {
			return err
		}
		d.Vendors = append(d.Vendors, vendorRow{Vendor: v, FactorText: render.FactorCell(v), Accounts: len(det.Accounts), Exceptions: len(det.Exceptions)})
	}
	if d.Lapses, err = s.inv.VendorLapses(r.Context(), s.inv.Now()); err != nil {
		return err
	}
	return s.render(w, r, status, "vendors", d)
}

// vendorData is a vendor's page data: roster vendor show, and the change
// form.
type vendorData struct {
	Vendor *inventory.VendorDetail
	vendorChoices
	Form    inventory.Vendor
	Refused *webRefusal
	Done    string
}

// vendorPage answers GET /vendors/{name}.
func (s *Server) vendorPage(w http.ResponseWriter, r *http.Request) error {
	return s.showVendor(w, r, http.StatusOK, nil, nil)
}

func (s *Server) showVendor(w http.ResponseWriter, r *http.Request, status int, form *inventory.Vendor, ref *webRefusal) error {
	d, err := s.inv.Vendor(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	data := vendorData{Vendor: d, vendorChoices: newVendorChoices(), Form: d.Vendor, Refused: ref, Done: r.URL.Query().Get("done")}
	if form != nil {
		data.Form = *form
	}
	return s.render(w, r, status, "vendor", data)
}

// vendorForm is a vendor form's fields.
func vendorForm(r *http.Request) inventory.Vendor {
	return inventory.Vendor{Name: form(r, "name"), Owner: form(r, "owner"), Contact: form(r, "contact"), Route: form(r, "route"),
		Factor: form(r, "factor"), Domain: form(r, "domain"), OnLapse: form(r, "on_lapse"), Note: form(r, "note")}
}

// webAddVendor answers POST /vendors: inventory.AddVendor, as POST
// /v1/vendors. A refusal shows the list again with the reason and the
// values posted.
func (s *Server) webAddVendor(w http.ResponseWriter, r *http.Request) error {
	v := vendorForm(r)
	if _, err := s.inv.AddVendor(r.Context(), v); err != nil {
		ref, err := s.refusal(w, r, err)
		if err != nil {
			return err
		}
		return s.showVendors(w, r, ref.Status, v, ref)
	}
	return webDone(w, r, "/vendors/"+url.PathEscape(v.Name), "vendor added")
}

// webSetVendor answers POST /vendors/{name}: inventory.SetVendor with
// every field of the form, as PATCH /v1/vendors/{name}.
func (s *Server) webSetVendor(w http.ResponseWriter, r *http.Request) error {
	v := vendorForm(r)
	v.Name = r.PathValue("name")
	_, err := s.inv.SetVendor(r.Context(), v.Name, inventory.VendorPatch{Owner: &v.Owner, Contact: &v.Contact, Route: &v.Route,
		Factor: &v.Factor, Domain: &v.Domain, OnLapse: &v.OnLapse, Note: &v.Note})
	if err != nil {
		ref, err := s.refusal(w, r, err)
		if err != nil {
			return err
		}
		return s.showVendor(w, r, ref.Status, &v, ref)
	}
	return webDone(w, r, "/vendors/"+url.PathEscape(v.Name), "vendor changed")
}

// webRemoveVendor answers POST /vendors/{name}/remove:
// inventory.RemoveVendor, as DELETE /v1/vendors/{name}.
func (s *Server) webRemoveVendor(w http.ResponseWriter, r *http.Request) error {
	if err := s.inv.RemoveVendor(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	return webDone(w, r, "/vendors", "vendor "+r.PathValue("name")+" removed")
}

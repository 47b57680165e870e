package api

import "time"

// VendorRequest is the body of POST /v1/vendors (Name, Owner, Contact and
// Route required) and of PATCH /v1/vendors/{name} (the fields given
// change, nil ones stay; Name is ignored). Route is one of vpn,
// ssh, rdp, api, sftp, portal, other; Factor one of password, sms, push,
// totp, api_key, certificate, hardware_bound; OnLapse revoke or notify
// (default notify).
type VendorRequest struct {
	Name    string  `json:"name,omitempty"`
	Owner   *string `json:"owner,omitempty"`
	Contact *string `json:"contact,omitempty"`
	Route   *string `json:"route,omitempty"`
	Factor  *string `json:"factor,omitempty"`
	Domain  *string `json:"domain,omitempty"`
	OnLapse *string `json:"on_lapse,omitempty"`
	Note    *string `json:"note,omitempty"`
}

// Vendor is a third party: the answer of POST and PATCH, an entry of
// GET /v1/vendors. Strength is the factor's level on the strength
// spectrum (machine name, as AccountSummary.Strength).
type Vendor struct {
	Name     string    `json:"name"`
	Owner    string    `json:"owner"`
	Contact  string    `json:"contact"`
	Route    string    `json:"route"`
	Factor   string    `json:"factor,omitempty"`
	Strength string    `json:"strength,omitempty"`
	Domain   string    `json:"domain,omitempty"`
	OnLapse  string    `json:"on_lapse"`
	Note     string    `json:"note,omitempty"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
}

// VendorDetail is the body of GET /v1/vendors/{name}: the vendor, the
// accounts tagged third-party=NAME and the exceptions on them that are not
// closed.
type VendorDetail struct {
	Vendor
	Accounts   []AccountSummary `json:"accounts"`
	Exceptions []Exception      `json:"exceptions"`
}

// VendorImportResult is the body of POST /v1/vendors/import?format=json:
// each row of the CSV and what became of it. Nothing is written when
// Errors > 0 (then the status is 422), nor without ?apply=true.
type VendorImportResult struct {
	Rows    []VendorImportRow `json:"rows"`
	Errors  int               `json:"errors"`
	Applied bool              `json:"applied"`
}

// VendorImportRow is one data row of a vendor CSV; Action is add or
// update.
type VendorImportRow struct {
	Line    int    `json:"line"`
	Name    string `json:"name"`
	Owner   string `json:"owner"`
	Contact string `json:"contact"`
	Route   string `json:"route"`
	Factor  string `json:"factor,omitempty"`
	Domain  string `json:"domain,omitempty"`
	OnLapse string `json:"on_lapse,omitempty"`
	Note    string `json:"note,omitempty"`
	Action  string `json:"action,omitempty"`
	Err     string `json:"error,omitempty"`
}

package api

// Owner is the person or team answerable for a service account; it is also
// the body of PUT /v1/accounts/{name}/owner.
type Owner struct {
	Name    string `json:"name"`
	Contact string `json:"contact,omitempty"`
}

// ImportResult is the body of POST /v1/owners/import?format=json: each row
// of the CSV and what became of it. Nothing is written when Errors > 0
// (then the status is 422), nor without ?apply=true.
type ImportResult struct {
	Rows    []ImportRow `json:"rows"`
	Errors  int         `json:"errors"`
	Applied bool        `json:"applied"`
}

// ImportRow is one data row of an owner CSV.
type ImportRow struct {
	Line    int    `json:"line"`
	Account string `json:"account"`
	Owner   string `json:"owner"`
	Contact string `json:"contact,omitempty"`
	// Key is the service account the row resolved to.
	Key string `json:"key,omitempty"`
	Err string `json:"error,omitempty"`
}

package api

// Registered accounts: accounts on systems no scan reaches (a legacy
// application, an appliance, a database, a cloud, a directory), registered
// by an operator with the credential they use and the planned remedy.

// Registration is what an operator registered about an account no scan
// finds (AccountSummary.Registered).
type Registration struct {
	System string `json:"system"`
	// Kind is legacy, appliance, database, cloud, directory or service.
	Kind string `json:"kind"`
	// Credential is the strength level of the credential the account
	// uses, by machine name (as AccountSummary.Strength).
	Credential string `json:"credential"`
	// Remedy is replace-client, gateway, disconnect, short-lived-cert or
	// accept; "" when not decided.
	Remedy string `json:"remedy,omitempty"`
}

// AccountAddRequest is the body of POST /v1/accounts: a registered account.
// Name, System, Kind and Credential are required; Env defaults to
// "default"; Tier 0 derives the tier (4 unless tagged).
type AccountAddRequest struct {
	Name       string `json:"name"`
	Env        string `json:"env,omitempty"`
	System     string `json:"system"`
	Kind       string `json:"kind"`
	Credential string `json:"credential"`
	Owner      string `json:"owner,omitempty"`
	Tier       int    `json:"tier,omitempty"`
	Remedy     string `json:"remedy,omitempty"`
	Purpose    string `json:"purpose,omitempty"`
}

// AccountRemoveRequest is the body of POST /v1/accounts/{name}/remove,
// which retires a registered account.
type AccountRemoveRequest struct {
	Reason string `json:"reason,omitempty"`
}

// PurposeRequest is the body of PUT /v1/accounts/{name}/purpose; an empty
// Purpose clears the operator's purpose, back to the prefilled one.
type PurposeRequest struct {
	Purpose string `json:"purpose"`
}

// AccountImportResult is the body of POST /v1/accounts/import?format=json:
// each row of the CSV and what became of it. Nothing is written when
// Errors > 0 (then the status is 422), nor without ?apply=true.
type AccountImportResult struct {
	Rows    []AccountImportRow `json:"rows"`
	Errors  int                `json:"errors"`
	Applied bool               `json:"applied"`
}

// AccountImportRow is one data row of a registered-account CSV.
type AccountImportRow struct {
	Line int `json:"line"`
	AccountAddRequest
	// Key is the account the row registers (NAME@ENV).
	Key string `json:"key,omitempty"`
	Err string `json:"error,omitempty"`
}

package api

// KindRequest is the body of PUT /v1/accounts/{name}/kind: "service",
// "human" or "system" overrides the kinds the scans found; "auto" clears
// the override (back to "directory" for an account a directory scan
// found, AccountSummary.Directory).
type KindRequest struct {
	Kind string `json:"kind"`
}

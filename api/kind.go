package api

// KindRequest is the body of PUT /v1/accounts/{name}/kind: "service",
// "human" or "system" overrides the kinds the scans found; "auto" clears
// the override.
type KindRequest struct {
	Kind string `json:"kind"`
}

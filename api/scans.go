package api

// ScanResult is the body of POST /v1/scans: what ingesting the report
// changed. The request body is a scan.Report.
type ScanResult struct {
	HostID   string `json:"host_id"`
	Hostname string `json:"hostname"`
	// Stale is true when the report is older than the newest one already
	// ingested for the host; nothing was written.
	Stale bool `json:"stale,omitempty"`
	// Unchanged is true when the same report was ingested before.
	Unchanged       bool `json:"unchanged,omitempty"`
	Accounts        int  `json:"accounts"`
	AccountsNew     int  `json:"accounts_new"`
	AccountsGone    int  `json:"accounts_gone"`
	CredentialsNew  int  `json:"credentials_new"`
	CredentialsGone int  `json:"credentials_gone"`
	Events          int  `json:"events"`
	// PendingReview counts the service accounts this report found a name
	// in that already is an identity in another environment: they get no
	// certificate until an operator decides.
	PendingReview int `json:"pending_review,omitempty"`
}

// ScanConfig is the body of GET /v1/scan-config: the key every scan
// fingerprints secrets with, base64 (standard encoding), so that equal
// secrets on different hosts get equal fingerprints.
type ScanConfig struct {
	FingerprintKey string `json:"fingerprint_key"`
}

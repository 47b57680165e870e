package api

// Error is every error body. The operator API sets Error and, when there is
// a next step, Hint; the step-compatible endpoints also set Status (the
// HTTP status) and Message (a copy of Error), as step clients expect.
// Messages are written for operators and never hold a secret.
type Error struct {
	Error   string `json:"error"`
	Hint    string `json:"hint,omitempty"`
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

// Status is the body of a change that returns nothing else:
// {"status": "ok"} (or "closed", "revoked"), and of GET /healthz and
// GET /health.
type Status struct {
	Status string `json:"status"`
}

// Statuses in a [Status] body.
const (
	StatusOK      = "ok"
	StatusClosed  = "closed"
	StatusRevoked = "revoked"
)

// Formats a read offers with ?format=. Each read lists the ones it offers;
// the first is its default.
const (
	FormatTable    = "table"
	FormatJSON     = "json"
	FormatCSV      = "csv"
	FormatMarkdown = "markdown"
	// FormatJSONL is JSON lines, one audit event per line (GET /v1/audit).
	FormatJSONL = "jsonl"
)

// Roles of operator tokens, most powerful first: an admin may do
// everything, an operator read and change the inventory, enroll and
// revoke, a viewer only read.
const (
	RoleAdmin    = "admin"
	RoleOperator = "operator"
	RoleViewer   = "viewer"
)

// Whoami is the body of GET /v1/whoami: the caller's token.
type Whoami struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

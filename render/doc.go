// Package render writes what roster shows people: the per-tier report,
// account lists, one account, hosts, exceptions, tokens, the audit log,
// import results and the plan's history, as aligned tables, CSV, Markdown,
// JSON lines or an SVG chart ([Chart], the burndown per tier). Domain
// packages (inventory, access, audit) return data; the CLI and the web
// page call these functions to shape it.
//
// Start with [Report] and [Accounts]. Every function takes the writer
// first and returns the first write error.
package render

import "fmt"

// FormatError is an output format a renderer does not know.
type FormatError struct {
	Format string
	Want   string // the formats it knows, as a phrase
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("format: unknown format %q: want %s", e.Format, e.Want)
}

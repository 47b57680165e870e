package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/api"
)

// imported is one CSV import's outcome as importCSV and the web page's
// import answer it: the rows in file order (the cells of head and the
// row's error), the api body and its table rendering.
type imported struct {
	head  []string
	lines []importLine
	body  any
	table func(io.Writer) error
}

// importLine is one row of an import: its line in the file, its cells and
// why it is refused ("" when it is not).
type importLine struct {
	line  int
	cells []string
	err   string
}

// failed are the rows with an error, in file order.
func (im imported) failed() []importLine {
	var out []importLine
	for _, l := range im.lines {
		if l.err != "" {
			out = append(out, l)
		}
	}
	return out
}

// importer runs one kind of CSV import: a dry run unless apply.
type importer func(ctx context.Context, csv io.Reader, apply bool) (imported, error)

// importKind is one kind of CSV import: the name the web page's form
// uses, what the import is called in messages, and its importer (the same
// one its API route runs).
type importKind struct {
	name, what string
	run        importer
}

// importKinds are the CSV imports: owners, registered accounts, vendors.
func (s *Server) importKinds() []importKind {
	return []importKind{{"owners", "owner import", s.ownerImport}, {"accounts", "account import", s.accountImport},
		{"vendors", "vendor import", s.vendorImport}}
}

// importCSV answers POST /v1/{owners,accounts,vendors}/import: the CSV body
// goes to run, a dry run unless ?apply=true. When a row has an error,
// nothing is written and the answer is 422: the rows as JSON with
// ?format=json, else an error whose message lists each line (the CLI
// prints it). what names the import ("owner import").
func (s *Server) importCSV(w http.ResponseWriter, r *http.Request, what string, run importer) error {
	f, err := format(r, api.FormatTable, api.FormatJSON)
	if err != nil {
		return err
	}
	apply, err := queryBool(r, "apply")
	if err != nil {
		return err
	}
	res, err := run(r.Context(), r.Body, apply)
	if err != nil {
		return err
	}
	failed := res.failed()
	switch {
	case len(failed) > 0 && f != api.FormatJSON:
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %d of %d rows have errors, nothing written:", what, len(failed), len(res.lines))
		for _, e := range failed {
			fmt.Fprintf(&b, "\n  line %d: %s", e.line, e.err)
		}
		return errorf(http.StatusUnprocessableEntity, "%s", b.String()).withHint("fix the rows and run the import again")
	case len(failed) > 0:
		writeJSON(w, r, http.StatusUnprocessableEntity, res.body)
		return nil
	}
	return respond(w, r, f, res.body, res.table)
}

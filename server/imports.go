package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/api"
)

// imported is one CSV import's outcome as importCSV answers it: how many
// rows the file had, the rows with an error (in file order), the api body
// and its table rendering.
type imported struct {
	rows   int
	failed []lineError
	body   any
	table  func(io.Writer) error
}

// lineError is one refused row of an import.
type lineError struct {
	line int
	err  string
}

// importCSV answers POST /v1/{owners,accounts,vendors}/import: the CSV body
// goes to run, a dry run unless ?apply=true. When a row has an error,
// nothing is written and the answer is 422: the rows as JSON with
// ?format=json, else an error whose message lists each line (the CLI
// prints it). what names the import ("owner import").
func (s *Server) importCSV(w http.ResponseWriter, r *http.Request, what string, run func(ctx context.Context, csv io.Reader, apply bool) (imported, error)) error {
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
	switch {
	case len(res.failed) > 0 && f != api.FormatJSON:
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %d of %d rows have errors, nothing written:", what, len(res.failed), res.rows)
		for _, e := range res.failed {
			fmt.Fprintf(&b, "\n  line %d: %s", e.line, e.err)
		}
		return errorf(http.StatusUnprocessableEntity, "%s", b.String()).withHint("fix the rows and run the import again")
	case len(res.failed) > 0:
		writeJSON(w, r, http.StatusUnprocessableEntity, res.body)
		return nil
	}
	return respond(w, r, f, res.body, res.table)
}

// failedLines collects the rows of an import result that have an error.
func failedLines[R any](rows []R, line func(R) (int, string)) []lineError {
	var out []lineError
	for _, row := range rows {
		if n, e := line(row); e != "" {
			out = append(out, lineError{n, e})
		}
	}
	return out
}

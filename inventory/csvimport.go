package inventory

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits of every CSV import (owners, registered accounts, vendors).
const (
	maxImportBytes = 16 << 20
	maxImportRows  = 100000
)

// csvRow is one data row of an imported CSV: its line number and its
// fields by column name. Err is set when the line could not be parsed; the
// importer reports it with the line and goes on.
type csvRow struct {
	Line   int
	fields map[string]string
	Err    string
}

// Get returns the row's trimmed value of column name ("" when absent).
func (r csvRow) Get(name string) string { return r.fields[name] }

// readCSV reads an import file: a header line naming the columns (in any
// order, case-insensitive, a byte-order mark allowed), then one row per
// line. Every name in required must be in the header; other columns than
// required and optional are ignored (an exported spreadsheet carries its
// own). Blank lines are skipped. Parse errors of a line become that
// row's Err; the file as a whole is refused only when its header is bad,
// it is larger than 16 MiB or it has more than 100000 rows.
func readCSV(r io.Reader, required, optional []string) ([]csvRow, error) {
	want := strings.Join(append(append([]string{}, required...), optional...), ",")
	cr := csv.NewReader(io.LimitReader(r, maxImportBytes))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, &InvalidError{Field: "line 1", Reason: "empty file: want the header " + want}
		}
		return nil, &InvalidError{Field: "line 1", Reason: err.Error()}
	}
	known := map[string]bool{}
	for _, c := range append(append([]string{}, required...), optional...) {
		known[c] = true
	}
	col := map[string]int{}
	for i, h := range head {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !known[name] {
			continue
		}
		if _, dup := col[name]; dup {
			return nil, &InvalidError{Field: "line 1", Reason: fmt.Sprintf("column %q appears twice", name)}
		}
		col[name] = i
	}
	for _, need := range required {
		if _, ok := col[need]; !ok {
			return nil, &InvalidError{Field: "line 1", Reason: fmt.Sprintf("header lacks column %q: want %s", need, want)}
		}
	}
	var rows []csvRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				rows = append(rows, csvRow{Line: pe.Line, Err: pe.Err.Error()})
				continue
			}
			return nil, fmt.Errorf("read csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		row := csvRow{Line: line, fields: make(map[string]string, len(col))}
		for name, i := range col {
			if i < len(rec) {
				row.fields[name] = strings.TrimSpace(rec[i])
			}
		}
		rows = append(rows, row)
		if len(rows) > maxImportRows {
			return nil, &InvalidError{Field: fmt.Sprintf("line %d", line), Reason: fmt.Sprintf("more than %d rows", maxImportRows)}
		}
	}
	return rows, nil
}

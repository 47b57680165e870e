// Package textout is what every text renderer (render's and the scanner's
// table) prints through: [Writer] keeps the first write error, so a renderer
// prints without checking each line and reports the error once at the end;
// [Clean], [Fprintf], [CSV] and [Markdown] neutralise hostile values (terminal
// escapes, forged rows, spreadsheet formulas, HTML in Markdown), one
// implementation for every output.
package textout

import (
	"io"
)

// Writer writes to an underlying writer until a write fails; from then on
// every write fails with that first error.
type Writer struct {
	w   io.Writer
	err error
}

// New returns a Writer on w.
func New(w io.Writer) *Writer { return &Writer{w: w} }

func (e *Writer) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// Printf formats as [Fprintf] does: string arguments pass through [Clean].
func (e *Writer) Printf(format string, args ...any) { Fprintf(e, format, args...) }

// Err returns the first write error, or nil.
func (e *Writer) Err() error { return e.err }

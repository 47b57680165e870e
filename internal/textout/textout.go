// Package textout is the writer the inventory's and the scanner's text
// renderers print through: it keeps the first write error, so a renderer
// prints without checking each line and reports the error once at the end.
package textout

import (
	"fmt"
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

// Printf formats as fmt.Fprintf does.
func (e *Writer) Printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

// Err returns the first write error, or nil.
func (e *Writer) Err() error { return e.err }

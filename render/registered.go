package render

import (
	"io"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/inventory"
)

// RegisterResult renders a registered-account import as a table of rows,
// with a closing line saying whether they were written or this was a dry
// run.
func RegisterResult(w io.Writer, r *inventory.RegisterResult) error {
	ew := textout.New(w)
	err := textTable(ew, "LINE\tACCOUNT\tSYSTEM\tKIND\tCREDENTIAL\tOWNER\tREMEDY", func(tw io.Writer) {
		for _, row := range r.Rows {
			textout.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Line, row.Key, row.System, row.Kind, row.Credential,
				dash(row.Owner), dash(row.Remedy))
		}
	})
	if err != nil {
		return err
	}
	verb := "would register"
	if r.Applied {
		verb = "registered"
	}
	ew.Printf("%s %d accounts", verb, len(r.Rows))
	if !r.Applied {
		ew.Printf(" (dry run: add --apply to write)")
	}
	ew.Printf("\n")
	return ew.Err()
}

// registeredLines writes account show's lines of a registered account and
// of every account's purpose.
func registeredLines(ew *textout.Writer, a *inventory.Account) {
	if a.Purpose != "" {
		ew.Printf("  purpose:  %s (%s)\n", a.Purpose, a.PurposeFrom)
	} else {
		ew.Printf("  purpose:  - (set it: roster account purpose %s TEXT)\n", a.Key)
	}
	if g := a.Registered; g != nil {
		ew.Printf("  registered: %s account on %s, credential %s, remedy %s (no scan finds it)\n",
			g.Kind, g.System, g.Credential.Name(), dash(g.Remedy))
	}
}

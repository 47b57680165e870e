package render

import (
	"io"
	"strconv"
	"time"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/inventory"
)

// factorCell is a vendor's factor with its level ("totp (static
// password)"), "-" when unknown.
func factorCell(v inventory.Vendor) string {
	if v.Factor == "" {
		return "-"
	}
	return v.Factor + " (" + inventory.FactorStrength(v.Factor).String() + ")"
}

// Vendors renders the vendor register as a table or CSV.
func Vendors(w io.Writer, list []inventory.Vendor, format string) error {
	switch format {
	case FormatTable, "":
		return textTable(w, "VENDOR\tOWNER\tCONTACT\tROUTE\tFACTOR\tDOMAIN\tON LAPSE", func(tw io.Writer) {
			for _, v := range list {
				textout.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, v.Owner, v.Contact, v.Route, factorCell(v), dash(v.Domain), v.OnLapse)
			}
		})
	case FormatCSV:
		cw := textout.NewCSV(w)
		cw.Write([]string{"name", "owner", "contact", "route", "factor", "strength", "domain", "on_lapse", "note", "created", "updated"})
		for _, v := range list {
			cw.Write([]string{v.Name, v.Owner, v.Contact, v.Route, v.Factor, v.Strength.Name(), v.Domain, v.OnLapse, v.Note,
				v.Created.UTC().Format(time.RFC3339), v.Updated.UTC().Format(time.RFC3339)})
		}
		return cw.Flush()
	}
	return &FormatError{Format: format, Want: "table or csv"}
}

// Vendor renders one vendor with its accounts (tier, level, status,
// owner) and the open exceptions on them with their expiry and state at
// now.
func Vendor(w io.Writer, d *inventory.VendorDetail, now time.Time) error {
	ew := textout.New(w)
	ew.Printf("vendor %s\n", d.Name)
	ew.Printf("  owner:    %s\n", d.Owner)
	ew.Printf("  contact:  %s\n", d.Contact)
	ew.Printf("  route:    %s\n", d.Route)
	ew.Printf("  factor:   %s\n", factorCell(d.Vendor))
	ew.Printf("  domain:   %s\n", dash(d.Domain))
	ew.Printf("  on lapse: %s\n", d.OnLapse)
	if d.Note != "" {
		ew.Printf("  note:     %s\n", d.Note)
	}
	ew.Printf("\naccounts (%d, tagged %s%s)\n", len(d.Accounts), inventory.TagThirdPart, d.Name)
	if len(d.Accounts) > 0 {
		if err := textTable(ew, "ACCOUNT\tTIER\tLEVEL\tSTATUS\tOWNER", func(tw io.Writer) {
			for _, a := range d.Accounts {
				textout.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", a.Key, a.Tier, a.Strength, a.Status, ownerCell(a.Owner))
			}
		}); err != nil {
			return err
		}
	}
	ew.Printf("\nexceptions (%d open)\n", len(d.Exceptions))
	if len(d.Exceptions) > 0 {
		if err := textTable(ew, "ID\tACCOUNT\tCREDENTIAL\tOWNER\tEXPIRES\tSTATE", func(tw io.Writer) {
			for _, e := range d.Exceptions {
				textout.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Account, dash(e.Credential), e.Owner,
					e.Expires.UTC().Format(time.DateOnly), e.State(now))
			}
		}); err != nil {
			return err
		}
	}
	return ew.Err()
}

// VendorImportResult renders a vendor import as a table of rows, with a
// closing line saying whether they were written or this was a dry run.
func VendorImportResult(w io.Writer, r *inventory.VendorImportResult) error {
	ew := textout.New(w)
	err := textTable(ew, "LINE\tVENDOR\tACTION\tOWNER\tCONTACT\tROUTE\tON LAPSE", func(tw io.Writer) {
		for _, row := range r.Rows {
			textout.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", strconv.Itoa(row.Line), row.Name, row.Action, row.Owner, row.Contact, row.Route, row.OnLapse)
		}
	})
	if err != nil {
		return err
	}
	verb := "would write"
	if r.Applied {
		verb = "wrote"
	}
	ew.Printf("%s %d vendors", verb, len(r.Rows))
	if !r.Applied {
		ew.Printf(" (dry run: add --apply to write)")
	}
	ew.Printf("\n")
	return ew.Err()
}

// FactorCell is a vendor's factor with its level, as roster vendor list
// shows it ("-" when unknown).
func FactorCell(v inventory.Vendor) string { return factorCell(v) }

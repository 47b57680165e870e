package render

import (
	"fmt"
	"strings"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/inventory"
)

// directoryLines shows, in account show, each directory entry of the
// account (roster scan --ldap): DN, class, SPNs, flags, managed, last
// logon and staleness, and the password's age and scheme.
func directoryLines(ew *textout.Writer, a *inventory.Account) {
	for _, d := range a.DirectoryEntries {
		ew.Printf("\ndirectory entry on %s:\n", d.Domain)
		ew.Printf("  dn:         %s\n", d.DN)
		ew.Printf("  class:      %s\n", dash(d.ObjectClass))
		if len(d.SPNs) > 0 {
			ew.Printf("  spns:       %s\n", strings.Join(d.SPNs, ", "))
		}
		if len(d.Flags) > 0 {
			ew.Printf("  flags:      %s\n", strings.Join(d.Flags, ", "))
		}
		if d.Managed {
			ew.Printf("  managed:    yes: the domain rotates its password\n")
		}
		if d.AdminCount {
			ew.Printf("  adminCount: 1 (protected by AdminSDHolder, now or once)\n")
		}
		logon := "none recorded"
		if d.LastLogon != nil {
			logon = minute(*d.LastLogon)
		}
		if d.Stale {
			logon += " (stale: no logon in 90 days)"
		}
		ew.Printf("  last logon: %s\n", logon)
		pw := "set: unknown"
		if d.PasswordLastSet != nil {
			pw = "set " + minute(*d.PasswordLastSet)
			if d.PasswordAgeDays != nil {
				pw += fmt.Sprintf(" (%d days before the scan)", *d.PasswordAgeDays)
			}
		}
		if d.PasswordNeverExpires {
			pw += ", never expires"
		}
		if d.PasswordScheme != "" {
			pw += ", scheme " + d.PasswordScheme
		}
		if d.Managed {
			pw = "none: managed by the domain"
		}
		ew.Printf("  password:   %s\n", pw)
	}
}

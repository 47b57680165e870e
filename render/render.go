package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/scan"
)

// Text renderings of what the operator API lists. JSON needs no writer here:
// the types carry their own tags.

// textTable writes a header and rows with aligned columns.
func textTable(w io.Writer, header string, rows func(tw io.Writer)) error {
	ew := textout.New(w)
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	textout.Row(tw, strings.Split(header, "\t")...)
	rows(tw)
	if err := tw.Flush(); err != nil {
		return err
	}
	return ew.Err()
}

// minute formats a time to the minute in UTC, "-" when unset.
func minute(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Account renders one service account with its instances and
// exceptions for an operator; now decides which exceptions have expired.
func Account(w io.Writer, acct *inventory.Account, now time.Time) error {
	ew := textout.New(w)
	owner := "none (roster owner set " + acct.Name + " OWNER)"
	if acct.Owner != nil {
		owner = inventory.OwnerText(*acct.Owner)
	}
	ew.Printf("service account %s (env %s)\n", acct.Key, acct.Env)
	ew.Printf("  owner:    %s\n", owner)
	ew.Printf("  tier:     %d: %s\n", acct.Tier, acct.TierReason)
	if k := kindLine(acct.AccountSummary); k != "" {
		ew.Printf("  kind:     %s\n", k)
	}
	ew.Printf("  status:   %s\n", acct.Status)
	ew.Printf("  weakest:  %s\n", acct.Strength)
	if acct.StrengthBy != "" {
		ew.Printf("  set by:   %s\n", acct.StrengthBy)
	}
	registeredLines(ew, acct)
	if acct.PendingReview {
		ew.Printf("  pending review: the name is already an identity in another environment; merge it (roster account merge NAME@ENV %s) or confirm it (roster account split %s --separate)\n", acct.Key, acct.Key)
	} else if acct.SharedAcrossEnvs {
		ew.Printf("  shared across environments: if it is an identity of its own, confirm it with roster account split %s --separate\n", acct.Key)
	}
	if len(acct.Tags) > 0 {
		ew.Printf("  tags:     %s\n", strings.Join(acct.Tags, " "))
	}
	if len(acct.SSHPermit) > 0 {
		ew.Printf("  ssh:      certificates permit %s\n", strings.Join(acct.SSHPermit, ","))
	}
	for _, in := range acct.Instances {
		if c := in.Cert; c != nil && c.ReuseDetectedAt != nil {
			ew.Printf("  POSSIBLE KEY THEFT: superseded certificate %s on host %s was presented for renewal at %s: roster revoke %s --host %s, then roster enroll %s --host %s\n",
				c.ReuseSerial, in.Host, c.ReuseDetectedAt.UTC().Format(time.RFC3339), acct.Name, in.Host, acct.Name, in.Host)
		}
	}
	if acct.Registered != nil && len(acct.Instances) == 0 {
		// No instances to list: no scan finds the account.
		return exceptionLines(ew, acct.Exceptions, now)
	}
	directoryLines(ew, acct)
	ew.Printf("\ninstances:\n")
	err := textTable(ew, "  HOST\tUID\tCREDENTIALS\tUSED BY\tCERT\tLAST SEEN", func(tw io.Writer) {
		for _, in := range acct.Instances {
			var creds []string
			for _, c := range in.Data.Credentials {
				creds = append(creds, c.Type)
			}
			used := scan.SummarizeUsage(in.Data.UsedBy)
			cert := "-"
			if in.Cert != nil {
				cert = in.Cert.Serial + " until " + minute(in.Cert.NotAfter)
			}
			seen := minute(in.LastSeen)
			if in.GoneAt != nil {
				seen = "gone " + minute(*in.GoneAt)
			}
			uid := strconv.Itoa(in.Data.UID)
			if in.Data.Directory != nil && in.Data.UID == 0 {
				uid = "-" // a directory entry without a uidNumber
			}
			textout.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", in.Host, uid, strings.Join(creds, ","), strings.Join(used, ","), cert, seen)
		}
	})
	if err != nil {
		return err
	}
	return exceptionLines(ew, acct.Exceptions, now)
}

// exceptionLines ends account show with the account's exceptions.
func exceptionLines(ew *textout.Writer, list []inventory.Exception, now time.Time) error {
	if len(list) > 0 {
		ew.Printf("\nexceptions:\n")
		return Exceptions(ew, list, FormatTable, now)
	}
	return ew.Err()
}

// History renders a service account's history as a table.
func History(w io.Writer, events []inventory.Event) error {
	return textTable(w, "TIME\tEVENT\tHOST\tDETAIL\tBY", func(tw io.Writer) {
		for _, e := range events {
			textout.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", minute(e.Time), e.Kind, dash(e.Host), dash(e.Detail), dash(e.Actor))
		}
	})
}

// Exceptions renders exceptions as a table or CSV, with their state at now.
func Exceptions(w io.Writer, list []inventory.Exception, format string, now time.Time) error {
	switch format {
	case FormatTable, "":
		return textTable(w, "ID\tACCOUNT\tCREDENTIAL\tOWNER\tEXPIRES\tSTATE\tREASON", func(tw io.Writer) {
			for _, e := range list {
				textout.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Account, dash(e.Credential), e.Owner,
					e.Expires.UTC().Format(time.DateOnly), exceptionState(e, now), e.Reason)
			}
		})
	case FormatCSV:
		cw := textout.NewCSV(w)
		cw.Write([]string{"id", "account", "credential", "owner", "expires", "state", "reason", "extensions", "beyond_phase"})
		for _, e := range list {
			cw.Write([]string{e.ID, e.Account, e.Credential, e.Owner, e.Expires.UTC().Format(time.RFC3339), exceptionState(e, now), e.Reason,
				itoa(e.Extensions), strconv.FormatBool(e.BeyondPhase)})
		}
		return cw.Flush()
	}
	return &FormatError{Format: format, Want: "table or csv"}
}

// exceptionState is e.State with the violation of too many extensions
// ("valid, OVER-EXTENDED 3x") and an accepted end past the phase's.
func exceptionState(e inventory.Exception, now time.Time) string {
	s := e.State(now)
	if e.BeyondPhase && e.Closed == nil {
		s += ", beyond phase"
	}
	if e.OverExtended() {
		s += fmt.Sprintf(", OVER-EXTENDED %dx", e.Extensions)
	}
	return s
}

// Hosts renders hosts as a table or CSV.
func Hosts(w io.Writer, hosts []inventory.Host, format string) error {
	switch format {
	case FormatTable, "":
		return textTable(w, "HOST\tOS\tENV\tTAGS\tACCOUNTS\tLAST SCAN", func(tw io.Writer) {
			for _, h := range hosts {
				textout.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", h.Hostname, dash(h.OS.PrettyName), h.Env, dash(strings.Join(h.Tags, ",")), h.Accounts, minute(h.LastScan))
			}
		})
	case FormatCSV:
		cw := textout.NewCSV(w)
		cw.Write([]string{"hostname", "machine_id", "os", "env", "tags", "accounts", "last_scan"})
		for _, h := range hosts {
			cw.Write([]string{h.Hostname, h.MachineID, h.OS.PrettyName, h.Env, strings.Join(h.Tags, " "), strconv.Itoa(h.Accounts), h.LastScan.UTC().Format(time.RFC3339)})
		}
		return cw.Flush()
	}
	return &FormatError{Format: format, Want: "table or csv"}
}

// Tokens renders operator tokens (never their secrets) as a table.
func Tokens(w io.Writer, toks []access.Token) error {
	return TokenList(w, toks, FormatTable)
}

// TokenList renders operator tokens (never their secrets) as a table or
// CSV.
func TokenList(w io.Writer, toks []access.Token, format string) error {
	switch format {
	case FormatCSV:
		cw := textout.NewCSV(w)
		cw.Write([]string{"id", "name", "role", "created_at", "created_by", "revoked_at"})
		for _, t := range toks {
			revoked := ""
			if t.RevokedAt != nil {
				revoked = t.RevokedAt.UTC().Format(time.RFC3339)
			}
			cw.Write([]string{t.ID, t.Name, string(t.Role), t.CreatedAt.UTC().Format(time.RFC3339), t.CreatedBy, revoked})
		}
		return cw.Flush()
	case FormatTable, "":
	default:
		return &FormatError{Format: format, Want: "table or csv"}
	}
	return textTable(w, "NAME\tROLE\tCREATED\tBY\tREVOKED", func(tw io.Writer) {
		for _, t := range toks {
			revoked := "-"
			if t.RevokedAt != nil {
				revoked = minute(*t.RevokedAt)
			}
			textout.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, minute(t.CreatedAt), dash(t.CreatedBy), revoked)
		}
	})
}

// Audit renders audit records as a table; AuditJSONL and AuditCSV are
// the export forms.
func Audit(w io.Writer, events []audit.Event) error {
	return textTable(w, "SEQ\tTIME\tACTOR\tACTION\tOUTCOME\tHOST\tACCOUNT\tSERIAL\tREASON", func(tw io.Writer) {
		for _, e := range events {
			textout.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.UTC().Format(time.RFC3339), dash(e.Actor), e.Action,
				e.Outcome, dash(e.Host), dash(e.Account), dash(e.Serial), dash(e.Reason))
		}
	})
}

// Write renders an owner import as a table of rows, with a closing line
// saying whether they were written or this was a dry run.
func ImportResult(w io.Writer, r *inventory.ImportResult) error {
	ew := textout.New(w)
	err := textTable(ew, "LINE\tACCOUNT\tOWNER\tCONTACT", func(tw io.Writer) {
		for _, row := range r.Rows {
			textout.Fprintf(tw, "%d\t%s\t%s\t%s\n", row.Line, row.Key, row.Owner, dash(row.Contact))
		}
	})
	if err != nil {
		return err
	}
	verb := "would set"
	if r.Applied {
		verb = "set"
	}
	ew.Printf("%s %d owners", verb, len(r.Rows))
	if !r.Applied {
		ew.Printf(" (dry run: add --apply to write)")
	}
	ew.Printf("\n")
	return ew.Err()
}

// AuditCSV writes records as CSV, one row per record with its hashes,
// for a spreadsheet.
func AuditCSV(w io.Writer, events []audit.Event) error {
	cw := textout.NewCSV(w)
	cw.Write([]string{"seq", "time", "actor", "action", "outcome", "host", "account", "serial", "reason", "detail", "prev_hash", "hash"})
	for _, e := range events {
		cw.Write([]string{strconv.FormatUint(e.Seq, 10), e.Time.UTC().Format(time.RFC3339), e.Actor, e.Action, e.Outcome, e.Host, e.Account,
			e.Serial, e.Reason, e.Detail, e.PrevHash, e.Hash})
	}
	return cw.Flush()
}

// AuditJSONL writes records as JSON lines, one object per record, for a
// SIEM.
func AuditJSONL(w io.Writer, events []audit.Event) error {
	enc := json.NewEncoder(w)
	for i := range events {
		if err := enc.Encode(&events[i]); err != nil {
			return fmt.Errorf("write audit record %d: %w", events[i].Seq, err)
		}
	}
	return nil
}

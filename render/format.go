package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/inventory"
)

// Output formats for inventory.Report.Write and WriteAccounts.
const (
	FormatTable    = "table"
	FormatJSON     = "json"
	FormatCSV      = "csv"
	FormatMarkdown = "markdown"
)

// Write renders the report as table, json, csv or markdown.
func Report(w io.Writer, r *inventory.Report, format string) error {
	switch format {
	case FormatTable, "":
		return writeTable(w, r)
	case FormatJSON:
		return writeJSON(w, r)
	case FormatCSV:
		return writeCSV(w, r)
	case FormatMarkdown, "md":
		return writeMarkdown(w, r)
	}
	return &FormatError{Format: format, Want: "table, json, csv or markdown"}
}

var tierColumns = []string{"tier", "accounts", "with owner", "short-lived certs", "managed", "lapsed",
	"static", "covered by exception", "exceptions expiring 30d", "exceptions expired", "shared secret"}

func tierCells(t inventory.TierStats) []string {
	return []string{t.Name, itoa(t.Accounts), frac(t.WithOwner, t.Accounts), frac(t.ShortLived, t.Accounts),
		itoa(t.Managed), itoa(t.Lapsed), frac(t.Static, t.Accounts), itoa(t.Covered),
		itoa(t.ExpiringExceptions), itoa(t.ExpiredExceptions), itoa(t.SharedSecrets)}
}

// strengthTable is the per-tier distribution of strength levels: a header
// (tier, one column per level by machine name, weakest first, and target
// and below-target columns when a tier has a target) and one row per tier,
// with a row for the privileged people of tier 1 after it.
func strengthTable(r *inventory.Report) (head []string, rows [][]string) {
	targets := false
	for _, t := range r.Tiers {
		targets = targets || t.Target != 0
	}
	head = []string{"tier"}
	for _, l := range inventory.Strengths {
		head = append(head, l.Name())
	}
	if targets {
		head = append(head, "target", "below target")
	}
	row := func(name string, dist map[string]int, t *inventory.TierStats) []string {
		cells := []string{name}
		for _, l := range inventory.Strengths {
			cells = append(cells, itoa(dist[l.Name()]))
		}
		switch {
		case !targets:
		case t != nil && t.Target != 0 && t.BelowTarget != nil:
			cells = append(cells, t.Target.Name(), itoa(*t.BelowTarget))
		default:
			cells = append(cells, "-", "-")
		}
		return cells
	}
	for i := range r.Tiers {
		t := &r.Tiers[i]
		rows = append(rows, row(t.Name, t.ByStrength, t))
		if p := t.People; p != nil {
			rows = append(rows, row(t.Name+": people", p.ByStrength, nil))
		}
		if o := t.Operators; o != nil {
			rows = append(rows, row(t.Name+": roster's operators", o.ByStrength, nil))
		}
	}
	return head, rows
}

// operatorColumns head the list of roster's own operators.
var operatorColumns = []string{"operator", "role", "factor", "strength", "passkeys", "last passkey sign-in"}

func operatorCells(o inventory.Operator) []string {
	last := "-"
	if o.LastPasskey != nil {
		last = o.LastPasskey.UTC().Format(time.RFC3339)
	}
	return []string{o.Name, o.Role, o.Factor, o.Strength.Name(), itoa(o.Passkeys), last}
}

// operatorsIntro says what the operator list is, after its heading.
const operatorsIntro = "roster's own operator tokens, counted in tier 1: a passkey is hardware-bound, a token a static secret"

func itoa(n int) string { return strconv.Itoa(n) }

func frac(n, of int) string {
	if of == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%d%%)", n, n*100/of)
}

func writeTable(w io.Writer, r *inventory.Report) error {
	ew := textout.New(w)
	ew.Printf("roster report, %s\n\n", r.GeneratedAt.Format(time.RFC3339))
	if len(r.OwnerlessPrivileged) > 0 {
		ew.Printf("OWNERLESS PRIVILEGED ACCOUNTS (%d): give each an owner first\n", len(r.OwnerlessPrivileged))
		for _, a := range r.OwnerlessPrivileged {
			ew.Printf("  %s  (%d instance(s); %s)\n", a.Key, a.Instances, a.TierReason)
		}
		ew.Printf("\n")
	} else {
		ew.Printf("Every privileged account has an owner.\n\n")
	}
	if len(r.NeedOwner) > 0 {
		ew.Printf("ACCOUNTS NEEDING AN OWNER (%d): the same name has one in another environment\n", len(r.NeedOwner))
		for _, n := range r.NeedOwner {
			ew.Printf("  %s  (%s is owned by %s): roster owner set %s OWNER\n", n.Account, n.Sibling, n.SiblingOwner, n.Account)
		}
		ew.Printf("\n")
	}
	if len(r.PendingReview) > 0 {
		ew.Printf("PENDING REVIEW (%d): the name is already an identity in another environment; no certificate until an operator decides\n", len(r.PendingReview))
		for _, p := range r.PendingReview {
			ew.Printf("  %s  (identity in %s; %d instance(s), e.g. %s): roster account merge %s@%s %s, or roster account split %s --separate\n",
				p.Account, strings.Join(p.Established, ", "), p.Instances, strings.Join(p.Hosts, ", "), p.Name, firstOr(p.Established, "ENV"), p.Account, p.Account)
		}
		ew.Printf("\n")
	}
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	textout.Row(tw, strings.Split(strings.ToUpper(strings.Join(tierColumns, "\t")), "\t")...)
	for _, t := range r.Tiers {
		textout.Row(tw, tierCells(t)...)
	}
	tw.Flush()
	ew.Printf("\nSTRENGTH PER TIER: accounts at each level, weakest first (people's accounts: login strength, not enrolled)\n")
	head, rows := strengthTable(r)
	tw = tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	head[0] = strings.ToUpper(head[0])
	textout.Row(tw, head...)
	for _, row := range rows {
		textout.Row(tw, row...)
	}
	tw.Flush()
	ew.Printf("\n%d live instance(s); %d retired account(s); not counted: %d people's account(s), %d unused system account(s)\n", r.Instances, r.Retired, r.Humans, r.System)
	if len(r.Operators) > 0 {
		ew.Printf("\nROSTER OPERATORS (%d): %s\n", len(r.Operators), operatorsIntro)
		tw = tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		textout.Row(tw, append([]string{""}, strings.Split(strings.ToUpper(strings.Join(operatorColumns, "\t")), "\t")...)...)
		for _, o := range r.Operators {
			textout.Row(tw, append([]string{""}, operatorCells(o)...)...)
		}
		tw.Flush()
	}
	if len(r.ExpiredExceptions) > 0 {
		ew.Printf("\nEXPIRED EXCEPTIONS (violations until renewed or closed): %d\n", len(r.ExpiredExceptions))
		for _, e := range r.ExpiredExceptions {
			ew.Printf("  %s  %s  expired %s  owner %s\n", e.ID, e.Account, e.Expires.Format(time.DateOnly), e.Owner)
		}
	}
	if len(r.OverduePhases) > 0 {
		ew.Printf("\nOVERDUE PHASES (violations: the end passed with accounts below target): %d\n", len(r.OverduePhases))
		for _, p := range r.OverduePhases {
			ew.Printf("  tier %s  target %s  ended %s  owner %s  %d below target\n", p.Tier, p.Target.Name(), day(p.End), p.Owner, belowOf(r, p.Tier))
		}
	}
	if len(r.OverExtended) > 0 {
		ew.Printf("\nEXCEPTIONS EXTENDED MORE THAN %d TIMES (violations: temporary exceptions that do not end): %d\n", inventory.MaxExtensions, len(r.OverExtended))
		for _, e := range r.OverExtended {
			ew.Printf("  %s  %s  %d extensions  expires %s  owner %s\n", e.ID, e.Account, e.Extensions, e.Expires.Format(time.DateOnly), e.Owner)
		}
	}
	if len(r.ExpiringExceptions) > 0 {
		ew.Printf("\nEXCEPTIONS EXPIRING WITHIN 30 DAYS: %d\n", len(r.ExpiringExceptions))
		for _, e := range r.ExpiringExceptions {
			ew.Printf("  %s  %s  expires %s  owner %s\n", e.ID, e.Account, e.Expires.Format(time.DateOnly), e.Owner)
		}
	}
	ew.Printf("\nSHARED CREDENTIALS: %d\n", len(r.Shared))
	for i, s := range r.Shared {
		if i == 20 {
			ew.Printf("  ... %d more (use --format json)\n", len(r.Shared)-20)
			break
		}
		ew.Printf("  %s  %s  on %d holder(s): %s\n", shortFP(s.Fingerprint), s.Type, s.HolderCount, holdersText(s.Holders, 5))
	}
	return ew.Err()
}

func writeCSV(w io.Writer, r *inventory.Report) error {
	cw := textout.NewCSV(w)
	head := append([]string{"section"}, tierColumns...)
	cw.Write(head)
	for _, t := range r.Tiers {
		cw.Write(append([]string{"tier"}, tierCells(t)...))
	}
	// One row per tier and level: section, tier, who (service_accounts or
	// privileged_people), level (machine name), accounts.
	for _, t := range r.Tiers {
		for _, l := range inventory.Strengths {
			cw.Write([]string{"strength", t.Name, "service_accounts", l.Name(), itoa(t.ByStrength[l.Name()])})
		}
		if p := t.People; p != nil {
			for _, l := range inventory.Strengths {
				cw.Write([]string{"strength", t.Name, "privileged_people", l.Name(), itoa(p.ByStrength[l.Name()])})
			}
		}
		if o := t.Operators; o != nil {
			for _, l := range inventory.Strengths {
				cw.Write([]string{"strength", t.Name, "roster_operators", l.Name(), itoa(o.ByStrength[l.Name()])})
			}
		}
		if t.Target != 0 && t.BelowTarget != nil {
			cw.Write([]string{"strength_target", t.Name, t.Target.Name(), itoa(*t.BelowTarget)})
		}
	}
	for _, a := range r.OwnerlessPrivileged {
		cw.Write([]string{"ownerless_privileged", a.Key, itoa(a.Instances), a.TierReason})
	}
	// One row per operator: section, name, role, factor, strength,
	// passkeys, last passkey sign-in.
	for _, o := range r.Operators {
		cw.Write(append([]string{"operator"}, operatorCells(o)...))
	}
	for _, n := range r.NeedOwner {
		cw.Write([]string{"need_owner", n.Account, n.Sibling, n.SiblingOwner})
	}
	for _, p := range r.PendingReview {
		cw.Write([]string{"pending_review", p.Account, strings.Join(p.Established, " "), itoa(p.Instances), strings.Join(p.Hosts, " ")})
	}
	for _, e := range r.ExpiredExceptions {
		cw.Write([]string{"expired_exception", e.ID, e.Account, e.Expires.Format(time.DateOnly), e.Owner})
	}
	for _, e := range r.ExpiringExceptions {
		cw.Write([]string{"expiring_exception", e.ID, e.Account, e.Expires.Format(time.DateOnly), e.Owner})
	}
	for _, p := range r.OverduePhases {
		cw.Write([]string{"overdue_phase", itoa(int(p.Tier)), p.Target.Name(), day(p.End), p.Owner, itoa(belowOf(r, p.Tier))})
	}
	for _, e := range r.OverExtended {
		cw.Write([]string{"over_extended_exception", e.ID, e.Account, e.Expires.Format(time.DateOnly), e.Owner, itoa(e.Extensions)})
	}
	for _, s := range r.Shared {
		cw.Write([]string{"shared_credential", s.Fingerprint, s.Type, itoa(s.HolderCount), strings.Join(s.Accounts, " ")})
	}
	return cw.Flush()
}

func writeMarkdown(w io.Writer, r *inventory.Report) error {
	ew := textout.New(w)
	ew.Printf("# roster report\n\nGenerated %s.\n\n", r.GeneratedAt.Format(time.RFC3339))
	ew.Printf("## Ownerless privileged accounts\n\n")
	if len(r.OwnerlessPrivileged) == 0 {
		ew.Printf("None: every privileged account has an owner.\n\n")
	}
	for _, a := range r.OwnerlessPrivileged {
		ew.Printf("- %s (%d instance(s); %s)\n", textout.MarkdownCode(a.Key), a.Instances, textout.Markdown(a.TierReason))
	}
	if len(r.OwnerlessPrivileged) > 0 {
		ew.Printf("\n")
	}
	if len(r.NeedOwner) > 0 {
		ew.Printf("## Accounts needing an owner\n\nThe same name has an owner in another environment.\n\n")
		for _, n := range r.NeedOwner {
			ew.Printf("- %s (%s is owned by %s)\n", textout.MarkdownCode(n.Account), textout.MarkdownCode(n.Sibling), textout.Markdown(n.SiblingOwner))
		}
		ew.Printf("\n")
	}
	if len(r.PendingReview) > 0 {
		ew.Printf("## Pending review\n\nThe name is already an identity in another environment: no certificate until an operator decides.\n\n")
		for _, p := range r.PendingReview {
			ew.Printf("- %s (identity in %s; %d instance(s), e.g. %s)\n", textout.MarkdownCode(p.Account),
				textout.Markdown(strings.Join(p.Established, ", ")), p.Instances, textout.Markdown(strings.Join(p.Hosts, ", ")))
		}
		ew.Printf("\n")
	}
	ew.Printf("## Per tier\n\n| %s |\n|%s\n", strings.Join(tierColumns, " | "), strings.Repeat("---|", len(tierColumns)))
	for _, t := range r.Tiers {
		ew.Printf("| %s |\n", strings.Join(tierCells(t), " | "))
	}
	head, rows := strengthTable(r)
	ew.Printf("\n## Strength per tier\n\nAccounts at each level, weakest first; privileged people's accounts by login strength (not enrolled).\n\n")
	markdownTable(ew, head, rows)
	ew.Printf("\n%d live instance(s); %d retired account(s); not counted: %d people's account(s), %d unused system account(s).\n", r.Instances, r.Retired, r.Humans, r.System)
	if len(r.Operators) > 0 {
		ew.Printf("\n## Roster operators\n\nThese are %s.\n\n", operatorsIntro)
		var rows [][]string
		for _, o := range r.Operators {
			rows = append(rows, operatorCells(o))
		}
		markdownTable(ew, operatorColumns, rows)
	}
	ew.Printf("\n## Expired exceptions\n\n")
	if len(r.ExpiredExceptions) == 0 {
		ew.Printf("None.\n")
	}
	for _, e := range r.ExpiredExceptions {
		ew.Printf("- %s %s expired %s, owner %s\n", textout.Markdown(e.ID), textout.MarkdownCode(e.Account), e.Expires.Format(time.DateOnly), textout.Markdown(e.Owner))
	}
	if len(r.OverduePhases) > 0 {
		ew.Printf("\n## Overdue phases\n\nViolations: the end passed with accounts below target.\n\n")
		for _, p := range r.OverduePhases {
			ew.Printf("- tier %s: target %s, ended %s, owner %s, %d below target\n", textout.Markdown(p.Tier.String()), textout.MarkdownCode(p.Target.Name()),
				day(p.End), textout.Markdown(p.Owner), belowOf(r, p.Tier))
		}
	}
	if len(r.OverExtended) > 0 {
		ew.Printf("\n## Exceptions extended more than %d times\n\nViolations: temporary exceptions that do not end.\n\n", inventory.MaxExtensions)
		for _, e := range r.OverExtended {
			ew.Printf("- %s %s: %d extensions, expires %s, owner %s\n", textout.Markdown(e.ID), textout.MarkdownCode(e.Account), e.Extensions, e.Expires.Format(time.DateOnly), textout.Markdown(e.Owner))
		}
	}
	ew.Printf("\n## Exceptions expiring within 30 days\n\n")
	if len(r.ExpiringExceptions) == 0 {
		ew.Printf("None.\n")
	}
	for _, e := range r.ExpiringExceptions {
		ew.Printf("- %s %s expires %s, owner %s\n", textout.Markdown(e.ID), textout.MarkdownCode(e.Account), e.Expires.Format(time.DateOnly), textout.Markdown(e.Owner))
	}
	ew.Printf("\n## Shared credentials\n\n")
	if len(r.Shared) == 0 {
		ew.Printf("None.\n")
	}
	for _, s := range r.Shared {
		ew.Printf("- %s %s on %d holder(s): %s\n", textout.MarkdownCode(shortFP(s.Fingerprint)), textout.Markdown(s.Type), s.HolderCount, textout.Markdown(holdersText(s.Holders, 5)))
	}
	return ew.Err()
}

// markdownTable writes a Markdown table: head, then rows, each cell
// escaped.
func markdownTable(ew *textout.Writer, head []string, rows [][]string) {
	ew.Printf("| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = textout.Markdown(c)
		}
		ew.Printf("| %s |\n", strings.Join(cells, " | "))
	}
}

// belowOf is the report's below-target count of tier t (0 without one).
func belowOf(r *inventory.Report, t inventory.Tier) int {
	if int(t) < 1 || int(t) > len(r.Tiers) || r.Tiers[t-1].BelowTarget == nil {
		return 0
	}
	return *r.Tiers[t-1].BelowTarget
}

// Accounts renders an account list as table, json or csv.
func Accounts(w io.Writer, accounts []inventory.AccountSummary, format string) error {
	switch format {
	case FormatTable, "":
		return textTable(w, "ACCOUNT\tTIER\tOWNER\tSTATUS\tSTRENGTH\tINSTANCES\tSTATIC\tFLAGS\tWHY", func(tw io.Writer) {
			for _, a := range accounts {
				textout.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", a.Key, a.Tier, ownerCell(a.Owner), a.Status, a.Strength,
					a.Instances, a.Static, flags(a), a.TierReason)
			}
		})
	case FormatJSON:
		if accounts == nil {
			accounts = []inventory.AccountSummary{}
		}
		return writeJSON(w, accounts)
	case FormatCSV:
		cw := textout.NewCSV(w)
		cw.Write([]string{"key", "name", "env", "tier", "tier_reason", "owner", "contact", "status", "strength",
			"instances", "static_credentials", "shared_across_envs", "retired", "tags",
			"purpose", "registered", "system", "kind", "remedy"})
		for _, a := range accounts {
			var on, oc string
			if a.Owner != nil {
				on, oc = a.Owner.Name, a.Owner.Contact
			}
			var reg inventory.Registration
			if a.Registered != nil {
				reg = *a.Registered
			}
			cw.Write([]string{a.Key, a.Name, a.Env, itoa(int(a.Tier)), a.TierReason, on, oc, string(a.Status),
				a.Strength.Name(), itoa(a.Instances), itoa(a.Static), strconv.FormatBool(a.SharedAcrossEnvs),
				strconv.FormatBool(a.Retired), strings.Join(a.Tags, " "),
				a.Purpose, strconv.FormatBool(a.Registered != nil), reg.System, reg.Kind, reg.Remedy})
		}
		return cw.Flush()
	}
	return &FormatError{Format: format, Want: "table, json or csv"}
}

func ownerCell(o *inventory.Owner) string {
	if o == nil {
		return "-"
	}
	return o.Name
}

func flags(a inventory.AccountSummary) string {
	var f []string
	if a.SharedAcrossEnvs {
		f = append(f, "shared-across-envs")
	}
	if a.TierOverride {
		f = append(f, "tier-override")
	}
	if g := a.Registered; g != nil {
		f = append(f, "registered")
		if g.Remedy != "" {
			f = append(f, "remedy="+g.Remedy)
		}
	}
	if len(f) == 0 {
		return "-"
	}
	return strings.Join(f, ",")
}

func firstOr(list []string, def string) string {
	if len(list) == 0 {
		return def
	}
	return list[0]
}

func shortFP(fp string) string {
	if len(fp) > 28 {
		return fp[:28] + "…"
	}
	return fp
}

func holdersText(hs []inventory.Holder, n int) string {
	var parts []string
	for i, h := range hs {
		if i == n {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, h.Account+"@"+h.Host)
	}
	return strings.Join(parts, ", ")
}

// writeJSON writes v as indented JSON: the one JSON form of every render.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

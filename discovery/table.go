package discovery

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/scan"
)

// TableOptions changes what [TableOptions.Write] shows.
type TableOptions struct {
	// All shows every account; by default system accounts that are
	// neither privileged nor read sensitive data nor hold a credential are
	// only counted.
	All bool
}

// WriteTable writes r for an operator with the default options.
func WriteTable(w io.Writer, r *scan.Report) error { return TableOptions{}.Write(w, r) }

// Write writes r as text: a header naming the host, one row per account
// (privileged and credential-holding accounts first), the reasons behind
// each privilege and each sensitive read access, credential findings,
// shared credentials, and counts of hidden accounts and warnings. The PRIV
// column says "yes" for a root-equivalent account and "read" for one that
// only reads sensitive data. It shows nothing the report does not hold, so
// it holds no secret either. Every value from the report is printed through
// [textout.Clean], so that no report, valid or not, can move the cursor,
// start a line or reorder text on the operator's terminal.
func (o TableOptions) Write(w io.Writer, r *scan.Report) error {
	ew := textout.New(w)
	h := r.Host
	host := clean(cmp.Or(h.Hostname, "(unknown host)"))
	if h.OS.PrettyName != "" {
		host += " (" + clean(h.OS.PrettyName) + ")"
	}
	live := "files only"
	if h.Live {
		live = "live"
	}
	ew.Printf("host %s, root %s, %s, scanned %s\n\n", host, clean(h.Root), live, h.ScannedAt.UTC().Format("2006-01-02 15:04:05 MST"))

	accts := slices.Clone(r.Accounts)
	slices.SortStableFunc(accts, func(a, b scan.Account) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.UID, b.UID), cmp.Compare(a.Name, b.Name))
	})
	hidden := 0
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tUID\tKIND\tPRIV\tPASSWORD\tCREDENTIALS\tUSED BY\tEXPOSURE")
	for _, a := range accts {
		if pureSystem(a) && !o.All {
			hidden++
			continue
		}
		uid := strconv.Itoa(a.UID)
		if a.Dynamic {
			uid = "dynamic"
		}
		priv := "-"
		switch {
		case a.Privileged:
			priv = "yes"
		case a.SensitiveRead:
			priv = "read"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clean(a.Name), uid, clean(a.Kind), priv,
			passwordCell(a.Password), credentialsAndCertCell(a), usedByCell(a.UsedBy), exposureCell(a.Exposure))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	section := func(title string) { ew.Printf("\n%s\n", title) }
	reasons := func(title string, of func(scan.Account) []string) {
		first := true
		for _, a := range accts {
			for _, why := range of(a) {
				if first {
					section(title)
					first = false
				}
				ew.Printf("  %s: %s\n", clean(a.Name), clean(why))
			}
		}
	}
	reasons("privileges:", func(a scan.Account) []string {
		if !a.Privileged {
			return nil
		}
		return a.PrivilegeReasons
	})
	reasons("sensitive reads (not root-equivalent):", func(a scan.Account) []string {
		if !a.SensitiveRead {
			return nil
		}
		return a.SensitiveReadReasons
	})
	first := true
	for _, a := range accts {
		for _, c := range a.Credentials {
			var fs []string
			for _, f := range c.Findings {
				if f != "shared" {
					fs = append(fs, f)
				}
			}
			if len(fs) == 0 {
				continue
			}
			if first {
				section("credential findings:")
				first = false
			}
			what := c.Type
			if c.Name != "" {
				what += " " + c.Name
			}
			ew.Printf("  %s: %s at %s: %s\n", clean(a.Name), clean(what), clean(c.Location), clean(strings.Join(fs, "; ")))
		}
	}
	if len(r.Shared) > 0 {
		section(fmt.Sprintf("shared credentials (%d):", len(r.Shared)))
		for _, s := range r.Shared {
			ew.Printf("  %s %s held by %s at %s\n", clean(s.Type), clean(s.Fingerprint), clean(strings.Join(s.Accounts, ", ")), clean(strings.Join(s.Locations, ", ")))
		}
	}
	if d := r.Host.SSHD; d != nil {
		section("sshd certificate trust:")
		writeSSHD(ew, d, accts)
	}
	ew.Printf("\n%d accounts", len(r.Accounts))
	if hidden > 0 {
		ew.Printf(", %d unprivileged system accounts hidden (--all shows them)", hidden)
	}
	ew.Printf("; %d warnings", len(r.Warnings))
	if len(r.Warnings) > 0 {
		ew.Printf(" (--format json lists them)")
	}
	ew.Printf("\n")
	return ew.Err()
}

// pureSystem reports whether a is an OS account that nothing uses, with no
// credential, no privilege and no sensitive read access: the accounts the
// table hides by default.
func pureSystem(a scan.Account) bool {
	return a.Kind == scan.KindSystem && !a.Privileged && !a.SensitiveRead && len(a.Credentials) == 0
}

// rank orders the table: privileged accounts with static credentials,
// other privileged accounts, other accounts with static credentials,
// accounts that read sensitive data, the rest.
func rank(a scan.Account) int {
	creds := len(a.Credentials) > 0
	switch {
	case a.Privileged && creds:
		return 0
	case a.Privileged:
		return 1
	case creds:
		return 2
	case a.SensitiveRead:
		return 3
	}
	return 4
}

// clean makes a value from the report safe to print in the table.
func clean(s string) string { return textout.Clean(s) }

func passwordCell(p scan.Password) string {
	s := clean(p.Status)
	if p.Algorithm != "" {
		s += " " + clean(p.Algorithm)
	}
	if p.AgeDays != nil && (p.Status == scan.PasswordUsable || p.Status == scan.PasswordEmpty) {
		s += " " + strconv.Itoa(*p.AgeDays) + "d"
	}
	if p.AccountExpired {
		s += " (expired)"
	}
	return s
}

// credShort are the table's names for credential types.
var credShort = map[string]string{
	scan.CredPassword: "password", scan.CredEmptyPassword: "EMPTY password", scan.CredSSHAuthorizedKey: "authorized key",
	scan.CredSSHPrivateKey: "private key", scan.CredSecretFile: "secret file", scan.CredSecretEnv: "secret env",
}

// credentialsAndCertCell is credentialCell with "ssh certificates" for an
// account that logs in with them (not a static credential).
func credentialsAndCertCell(a scan.Account) string {
	c := credentialCell(a.Credentials)
	switch {
	case a.SSHCertLogin == nil:
		return c
	case c == "-":
		return "ssh certificates"
	}
	return c + ", ssh certificates"
}

func credentialCell(cs []scan.Credential) string {
	return countCell(len(cs), func(yield func(string, int)) {
		for _, c := range cs {
			yield(cmp.Or(credShort[c.Type], clean(c.Type)), 1)
		}
	})
}

// usedByCell counts uses per kind ("5 proc, 4 unit"), counting an entry
// that stands for several identical uses as many.
func usedByCell(us []scan.Usage) string {
	return countCell(len(us), func(yield func(string, int)) {
		for _, u := range us {
			yield(cmp.Or(map[string]string{scan.UsageSystemd: "unit", scan.UsageCron: "cron", scan.UsageProcess: "proc"}[u.Type], clean(u.Type)), u.Uses())
		}
	})
}

// countCell turns a list of labels into "2 unit, 1 cron" in first-seen
// order, or "-".
func countCell(n int, each func(func(string, int))) string {
	if n == 0 {
		return "-"
	}
	var order []string
	counts := map[string]int{}
	each(func(l string, k int) {
		if counts[l] == 0 {
			order = append(order, l)
		}
		counts[l] += k
	})
	parts := make([]string, len(order))
	for i, l := range order {
		parts[i] = strconv.Itoa(counts[l]) + " " + l
	}
	return strings.Join(parts, ", ")
}

func exposureCell(e scan.Exposure) string {
	var parts []string
	if e.SSH {
		parts = append(parts, "ssh")
	}
	for _, s := range e.Listening {
		addr := clean(s.Address)
		if strings.Contains(addr, ":") {
			addr = "[" + addr + "]"
		}
		parts = append(parts, fmt.Sprintf("%s %s:%d", clean(s.Proto), addr, s.Port))
	}
	if len(parts) == 0 {
		return "-"
	}
	if len(parts) > 4 {
		parts = append(parts[:4], fmt.Sprintf("+%d more", len(parts)-4))
	}
	return strings.Join(parts, ", ")
}

// writeSSHD writes the sshd certificate section: the trusted user CAs,
// the principals file and the principals it grants per account, the
// revocation list, host certificates, and the Match blocks that give some
// connections other values.
func writeSSHD(ew *textout.Writer, d *scan.SSHD, accts []scan.Account) {
	switch {
	case d.TrustedUserCAKeysFile == "":
		ew.Printf("  trusted user CAs: none (no TrustedUserCAKeys)\n")
	case len(d.TrustedUserCAKeys) == 0:
		ew.Printf("  trusted user CAs: none readable in %s\n", clean(d.TrustedUserCAKeysFile))
	default:
		ew.Printf("  trusted user CAs (%s):\n", clean(d.TrustedUserCAKeysFile))
		for _, k := range d.TrustedUserCAKeys {
			ew.Printf("    %s %s\n", clean(k.Type), clean(k.Fingerprint))
		}
	}
	if d.AuthorizedPrincipalsFile != "" {
		ew.Printf("  principals file: %s\n", clean(d.AuthorizedPrincipalsFile))
	}
	for _, a := range accts {
		if l := a.SSHCertLogin; l != nil {
			ew.Printf("    %s: %s (%s)\n", clean(a.Name), clean(strings.Join(l.Principals, ", ")), clean(l.PrincipalsFile))
		}
	}
	if rk := d.RevokedKeys; rk != nil {
		state := "missing"
		if rk.Exists {
			state = cmp.Or(clean(rk.Format), "unreadable") + ", " + strconv.FormatInt(rk.Size, 10) + " bytes"
		}
		ew.Printf("  revoked keys: %s (%s)\n", clean(rk.Path), state)
	}
	for _, c := range d.HostCertificates {
		ew.Printf("  host certificate: %s\n", clean(c))
	}
	for _, m := range d.MatchBlocks {
		ew.Printf("  Match %s at %s sets %s for some connections\n", clean(m.Criteria), clean(m.Location), clean(strings.Join(m.Sets, ", ")))
	}
}

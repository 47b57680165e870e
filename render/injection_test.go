package render

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/internal/hostile"
	"github.com/rosterhq/roster/inventory"
)

// TestRenderersNeutraliseInjection puts every string of the shared
// injection corpus into every text field the renderers print and checks the
// output: no control or hidden formatting character reaches a table, no CSV
// cell starts a formula, no raw HTML or early-closed code span reaches
// Markdown.
func TestRenderersNeutraliseInjection(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, s := range hostile.InjectionStrings() {
		owner := &inventory.Owner{Name: s, Contact: s}
		sum := inventory.AccountSummary{Key: s + "@" + s, Name: s, Env: s, TierReason: s, Owner: owner}
		rep := &inventory.Report{GeneratedAt: now,
			OwnerlessPrivileged: []inventory.AccountSummary{sum},
			ExpiredExceptions:   []inventory.Exception{{ID: s, Account: s, Owner: s, Reason: s, Expires: now}},
			ExpiringExceptions:  []inventory.Exception{{ID: s, Account: s, Owner: s, Reason: s, Expires: now.Add(time.Hour)}},
			PendingReview:       []inventory.PendingReview{{Account: s, Name: s, Env: s, Established: []string{s}, Hosts: []string{s}}},
			NeedOwner:           []inventory.OwnerNeeded{{Account: s, Sibling: s, SiblingOwner: s}},
			Shared:              []inventory.SharedCredential{{Fingerprint: s, Type: s, HolderCount: 2, Accounts: []string{s}, Holders: []inventory.Holder{{Account: s, Host: s}}}},
			OverduePhases:       []inventory.Phase{{Tier: 1, Target: inventory.StrengthShortLivedCert, Owner: s, Note: s}},
			OverExtended:        []inventory.Exception{{ID: s, Account: s, Owner: s, Reason: s, Expires: now, Extensions: 3}},
		}
		phase := &inventory.Phase{Tier: 1, Target: inventory.StrengthShortLivedCert, Owner: s, Note: s, Start: now}
		pl := &inventory.Plan{GeneratedAt: now, Tiers: []inventory.PlanTier{{Tier: 1, Name: s, Phase: phase, State: inventory.PhaseOverdue, Accounts: 2, BelowTarget: 2,
			Below:      []inventory.BelowTarget{{Account: s, StrengthBy: s, Owner: owner}},
			Exceptions: rep.ExpiredExceptions, OpenExceptions: 1}}}
		seen := now
		acct := &inventory.Account{AccountSummary: sum, Instances: []inventory.Instance{{Host: s,
			Cert: &inventory.CertState{Serial: s, ReuseSerial: s, ReuseDetectedAt: &seen}}}}
		outs := map[string]func(*bytes.Buffer) error{
			"report table":    func(b *bytes.Buffer) error { return Report(b, rep, FormatTable) },
			"report csv":      func(b *bytes.Buffer) error { return Report(b, rep, FormatCSV) },
			"report markdown": func(b *bytes.Buffer) error { return Report(b, rep, FormatMarkdown) },
			"accounts table":  func(b *bytes.Buffer) error { return Accounts(b, []inventory.AccountSummary{sum}, FormatTable) },
			"accounts csv":    func(b *bytes.Buffer) error { return Accounts(b, []inventory.AccountSummary{sum}, FormatCSV) },
			"account":         func(b *bytes.Buffer) error { return Account(b, acct, now) },
			"hosts table": func(b *bytes.Buffer) error {
				return Hosts(b, []inventory.Host{{Hostname: s, MachineID: s, Env: s, Tags: []string{s}}}, FormatTable)
			},
			"hosts csv": func(b *bytes.Buffer) error {
				return Hosts(b, []inventory.Host{{Hostname: s, MachineID: s, Env: s, Tags: []string{s}}}, FormatCSV)
			},
			"plan table":     func(b *bytes.Buffer) error { return Plan(b, pl, FormatTable) },
			"plan csv":       func(b *bytes.Buffer) error { return Plan(b, pl, FormatCSV) },
			"plan markdown":  func(b *bytes.Buffer) error { return Plan(b, pl, FormatMarkdown) },
			"exceptions csv": func(b *bytes.Buffer) error { return Exceptions(b, rep.ExpiredExceptions, FormatCSV, now) },
			"history": func(b *bytes.Buffer) error {
				return History(b, []inventory.Event{{Kind: s, Host: s, Detail: s, Actor: s}})
			},
			"tokens": func(b *bytes.Buffer) error { return Tokens(b, []access.Token{{Name: s, CreatedBy: s}}) },
			"audit": func(b *bytes.Buffer) error {
				return Audit(b, []audit.Event{{Actor: s, Action: s, Host: s, Account: s, Serial: s, Reason: s}})
			},
			"plan history csv": func(b *bytes.Buffer) error { return PlanHistory(b, hostileHistory(s), FormatCSV) },
			"plan chart":       func(b *bytes.Buffer) error { return Chart(b, hostileHistory(s)) },
		}
		for name, write := range outs {
			var b bytes.Buffer
			if err := write(&b); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out := b.String()
			for _, r := range out {
				if r != '\n' && r != '\t' && (unicode.IsControl(r) || strings.ContainsRune("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u200e\u200f\ufeff\u2028\u2029", r)) {
					t.Errorf("%s of %q: output holds %U", name, s, r)
					break
				}
			}
			if strings.HasSuffix(name, "csv") {
				cr := csv.NewReader(strings.NewReader(out))
				cr.FieldsPerRecord = -1 // the report's CSV mixes row kinds
				rows, err := cr.ReadAll()
				if err != nil {
					t.Errorf("%s of %q: %v", name, s, err)
				}
				for _, row := range rows {
					for _, c := range row {
						if c != "-" && c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
							t.Errorf("%s of %q: cell %q starts a formula", name, s, c)
						}
					}
				}
			}
			if strings.HasSuffix(name, "markdown") && strings.Contains(outsideCode(out), "<") {
				t.Errorf("%s of %q: raw HTML in Markdown:\n%s", name, s, out)
			}
		}
	}
}

// outsideCode returns the Markdown text with its code spans removed (a
// span is literal text, not HTML), assuming spans are well formed: the
// check above and textout's fuzz target see to that.
func outsideCode(md string) string {
	var b strings.Builder
	for len(md) > 0 {
		i := strings.IndexByte(md, '`')
		if i < 0 {
			b.WriteString(md)
			break
		}
		b.WriteString(md[:i])
		n := i
		for n < len(md) && md[n] == '`' {
			n++
		}
		fence := md[i:n]
		end := strings.Index(md[n:], fence)
		if end < 0 {
			b.WriteString(md[i:])
			break
		}
		md = md[n+end+len(fence):]
	}
	return b.String()
}

// hostileHistory is a plan history with s in every string field.
func hostileHistory(s string) *inventory.PlanHistory {
	return &inventory.PlanHistory{From: s, To: s, Snapshots: []inventory.Snapshot{{Date: s,
		Tiers: []inventory.TierSnapshot{{Tier: 1, Name: s, Accounts: 1, ByStrength: map[string]int{s: 1}}}}}}
}

package inventory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/spiffeid"
	"github.com/rosterhq/roster/store"
)

// Registered accounts are the accounts no scan finds: on a legacy
// application, an appliance, a database, a cloud or a directory. An
// operator registers one (AddRegistered, ImportRegistered) with the system
// it lives on, its kind, the strength level of the credential it uses and
// the planned remedy. It is a service account record (NAME@ENV, default env
// DefaultEnv) with no host instances, marked Registered, and counts in
// tiers, reports, owners, exceptions and lists like a scanned account:
//
//   - its strength is its registered credential level (StrengthBy
//     "registered: static_password on SYSTEM"), or a weaker credential of
//     instances should a scan later find the name in the same env;
//   - a static level (shared_secret to secret_file) counts as one static
//     credential of the matching type (registeredCredType), so the account
//     is "static" until an exception covers it: one without a credential
//     type, or one naming that type;
//   - its tier is the operator's --tier when given (an override, like
//     roster account tier), else what tags say (third-party=VENDOR 2,
//     critical 3), else 4: roster knows no privilege or exposure of a
//     system it cannot read.
//
// RemoveRegistered retires it (the record and its history stay).

// Kinds of registered accounts, and remedies: what the rollout will do
// about the account.
var (
	RegisteredKinds = []string{"legacy", "appliance", "database", "cloud", "directory", "service"}
	Remedies        = []string{"replace-client", "gateway", "disconnect", "short-lived-cert", "accept"}
)

// PurposeFromOperator is AccountSummary.PurposeFrom for a purpose an
// operator set.
const PurposeFromOperator = "operator"

// Bounds of registered accounts' text.
const (
	maxPurpose = 512 // an operator's purpose
	maxPrefill = 200 // a purpose prefilled from a scan (GECOS, unit description)
	maxSystem  = 200
)

// Registration is what an operator registered about an account no scan
// finds.
type Registration struct {
	System     string   `json:"system"`
	Kind       string   `json:"kind"`
	Credential Strength `json:"credential"`
	Remedy     string   `json:"remedy,omitempty"`
}

// NewAccount is a registered account to add: Name, System, Kind and
// Credential (a strength machine name, ParseStrength) are required; Env
// defaults to DefaultEnv; Tier 0 derives the tier; Owner is an owner
// name.
type NewAccount struct {
	Name       string `json:"name"`
	Env        string `json:"env,omitempty"`
	System     string `json:"system"`
	Kind       string `json:"kind"`
	Credential string `json:"credential"`
	Owner      string `json:"owner,omitempty"`
	Tier       Tier   `json:"tier,omitempty"`
	Remedy     string `json:"remedy,omitempty"`
	Purpose    string `json:"purpose,omitempty"`
}

// purposeNote is a prefilled purpose and where it was read.
type purposeNote struct {
	Text string `json:"text,omitempty"`
	From string `json:"from,omitempty"`
}

// present reports whether the record counts as an account today: it has a
// live instance or was registered.
func (r *saRecord) present() bool { return r.Sum.Live > 0 || r.Registered != nil }

// registeredCredType is the static credential type that a registered
// level counts as ("" for a level that is not static).
func registeredCredType(s Strength) string {
	switch s {
	case StrengthSharedSecret, StrengthStaticPassword:
		return scan.CredPassword
	case StrengthEmptyPassword:
		return scan.CredEmptyPassword
	case StrengthStaticSSHKey:
		return scan.CredSSHPrivateKey
	case StrengthSecretFile:
		return scan.CredSecretFile
	}
	return ""
}

// effective returns r with its registered credential counted among its
// static credentials (a copy; r itself when there is nothing to add), for
// status, static counts and exceptions.
func (r *saRecord) effective() *saRecord {
	if r.Registered == nil {
		return r
	}
	t := registeredCredType(r.Registered.Credential)
	if t == "" {
		return r
	}
	c := *r
	c.Sum.Creds = maps.Clone(r.Sum.Creds)
	if c.Sum.Creds == nil {
		c.Sum.Creds = map[string]int{}
	}
	c.Sum.Creds[t]++
	return &c
}

func registeredBy(g *Registration) string {
	return fmt.Sprintf("registered: %s on %s", g.Credential.Name(), g.System)
}

func registeredTierReason(r *saRecord) string {
	return fmt.Sprintf("registered %s account on %s: no privilege or exposure known", r.Registered.Kind, r.Registered.System)
}

// parseLevel reads a credential level, refusing an unknown one with the
// valid names and the nearest.
func parseLevel(v string) (Strength, error) {
	if v == "" {
		return 0, &InvalidError{Field: "credential", Reason: "missing: name the strength level of the credential the account uses"}
	}
	s, err := ParseStrength(v)
	if err == nil {
		return s, nil
	}
	names := make([]string, len(Strengths))
	for i, l := range Strengths {
		names[i] = l.Name()
	}
	return 0, oneOf("credential", v, names)
}

// checkText refuses a text that is too long or holds unsafe characters.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return &InvalidError{Field: field, Reason: fmt.Sprintf("longer than %d bytes", max)}
	}
	if textout.UnsafeAt(s) >= 0 {
		return &InvalidError{Field: field, Reason: "contains control or invisible characters"}
	}
	return nil
}

// checkPurpose refuses a purpose an operator cannot set.
func checkPurpose(s string) error { return checkText("purpose", s, maxPurpose) }

// checkNew validates a registered account outside any transaction: its
// key, registration and owner.
func (inv *Inventory) checkNew(a NewAccount) (string, *Registration, error) {
	if a.Name == "" {
		return "", nil, &InvalidError{Field: "name", Reason: "missing"}
	}
	if err := spiffeid.ValidateAccount(a.Name); err != nil {
		return "", nil, &InvalidError{Field: "name", Reason: err.Error()}
	}
	env := a.Env
	if env == "" {
		env = DefaultEnv
	}
	if !validName(env) || strings.ContainsAny(env, "@ \t\n") || textout.UnsafeAt(env) >= 0 {
		return "", nil, &InvalidError{Field: "env", Reason: fmt.Sprintf("%q is not a valid environment name", env)}
	}
	if strings.TrimSpace(a.System) == "" {
		return "", nil, &InvalidError{Field: "system", Reason: "missing: name the application, appliance, database, cloud or directory the account lives on"}
	}
	if err := checkText("system", a.System, maxSystem); err != nil {
		return "", nil, err
	}
	if a.Kind == "" {
		return "", nil, &InvalidError{Field: "kind", Reason: "missing (want one of " + strings.Join(RegisteredKinds, ", ") + ")"}
	}
	if err := oneOf("kind", a.Kind, RegisteredKinds); err != nil {
		return "", nil, err
	}
	level, err := parseLevel(a.Credential)
	if err != nil {
		return "", nil, err
	}
	if a.Remedy != "" {
		if err := oneOf("remedy", a.Remedy, Remedies); err != nil {
			return "", nil, err
		}
	}
	if a.Tier < 0 || a.Tier > TierRest {
		return "", nil, &InvalidError{Field: "tier", Reason: fmt.Sprintf("%d: want 1-4 (or leave it out to derive it)", a.Tier)}
	}
	if err := checkPurpose(a.Purpose); err != nil {
		return "", nil, err
	}
	key := a.Name + "@" + env
	if a.Owner != "" {
		if err := inv.checkOwner(Owner{Name: a.Owner}, key); err != nil {
			return "", nil, err
		}
		if err := ownerNotAccount(a.Owner, &saRecord{Name: a.Name, Key: key}, ""); err != nil {
			return "", nil, err
		}
	}
	return key, &Registration{System: strings.TrimSpace(a.System), Kind: a.Kind, Credential: level, Remedy: a.Remedy}, nil
}

// refuseTaken refuses key when a scanned or registered account has it.
func refuseTaken(st *txState, key string) error {
	var old saRecord
	ok, err := getJSON(st.tx, tSA, []byte(key), &old)
	if err != nil {
		return err
	}
	if prev, inTx := st.sas[key]; inTx {
		old, ok = *prev, true
	}
	switch {
	case ok && old.Registered != nil && old.Retired:
		return &InvalidError{Field: "name", Reason: fmt.Sprintf("account %s was registered and removed", key),
			HintText: "bring it back: roster account unretire " + key}
	case ok && old.Registered != nil:
		return &InvalidError{Field: "name", Reason: fmt.Sprintf("account %s is already registered", key),
			HintText: "see it: roster accounts show " + key}
	case ok:
		return &InvalidError{Field: "name", Reason: fmt.Sprintf("account %s is a scanned account in env %s: a registered account needs a name of its own there", key, old.Group),
			HintText: "register it in another environment with --env ENV, or see the scanned one: roster accounts show " + key}
	}
	return nil
}

// addRegisteredTx writes registered account a (validated into key and g)
// in st with its history; it refuses a key that is taken. It returns the
// audit detail.
func addRegisteredTx(st *txState, a NewAccount, key string, g *Registration, now time.Time, actor string) (string, error) {
	if err := refuseTaken(st, key); err != nil {
		return "", err
	}
	r, err := st.sa(key)
	if err != nil {
		return "", err
	}
	r.Registered = g
	r.FirstSeen, r.LastSeen = now, now
	r.Purpose = a.Purpose
	if a.Tier != 0 {
		r.TierOverride, r.TierReason = a.Tier, fmt.Sprintf("given at registration of the %s account on %s", g.Kind, g.System)
	}
	if a.Owner != "" {
		r.Owner = &Owner{Name: a.Owner}
	}
	d := fmt.Sprintf("registered %s account on %s, credential %s", g.Kind, g.System, g.Credential.Name())
	if g.Remedy != "" {
		d += ", remedy " + g.Remedy
	}
	if a.Owner != "" {
		d += ", owner " + a.Owner
	}
	if a.Tier != 0 {
		d += fmt.Sprintf(", tier %d", a.Tier)
	}
	return d, st.event(Event{Time: now, Account: key, Kind: EventRegistered, Detail: d, Actor: actor})
}

// AddRegistered registers an account no scan finds (see the top of
// registered.go) and returns it as lists show it. A name taken in the env
// by a scanned or registered account is refused, as are an unknown kind,
// level or remedy (with the valid ones) and a placeholder owner.
func (inv *Inventory) AddRegistered(ctx context.Context, a NewAccount) (AccountSummary, error) {
	key, g, err := inv.checkNew(a)
	if err != nil {
		return AccountSummary{}, err
	}
	actor, now := audit.Actor(ctx), inv.now()
	var out AccountSummary
	err = inv.store.Update(ctx, func(tx store.Tx) error {
		st := newTxState(tx)
		d, err := addRegisteredTx(st, a, key, g, now, actor)
		if err != nil {
			return err
		}
		if err := st.flush(); err != nil {
			return err
		}
		r := st.sas[key]
		v, err := loadView(tx, now, []*saRecord{r}, false)
		if err != nil {
			return err
		}
		out = v.summarize(r)
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionAccountAdd, Account: key, Outcome: audit.OutcomeOK, Detail: d})
	})
	if err != nil {
		return AccountSummary{}, fmt.Errorf("add account %s: %w", a.Name, err)
	}
	return out, nil
}

// RemoveRegistered retires a registered account: it leaves the tiers and
// lists like a retired scanned account, and keeps its history. A scanned
// account is refused (roster account retire is for those).
func (inv *Inventory) RemoveRegistered(ctx context.Context, account, reason string) error {
	return inv.mutateAccount(ctx, account, audit.ActionAccountRemove, func(st *txState, r *saRecord, now time.Time) (string, error) {
		switch {
		case r.Registered == nil:
			return "", &InvalidError{Field: "account", Reason: fmt.Sprintf("account %s was found by a scan, not registered", r.Key),
				HintText: "retire a scanned account: roster account retire " + r.Key}
		case r.Retired:
			return "", &InvalidError{Field: "account", Reason: fmt.Sprintf("account %s is already removed", r.Key)}
		}
		r.Retired = true
		d := "removed registered account"
		if reason != "" {
			d += ": " + reason
		}
		return d, st.event(Event{Time: now, Account: r.Key, Kind: EventRetired, Detail: d, Actor: audit.Actor(ctx)})
	})
}

// SetPurpose sets what an account is for. An operator's purpose wins over
// the one prefilled from scans; an empty text clears it, back to the
// prefilled one.
func (inv *Inventory) SetPurpose(ctx context.Context, account, text string) error {
	text = strings.TrimSpace(text)
	if err := checkPurpose(text); err != nil {
		return err
	}
	return inv.mutateAccount(ctx, account, audit.ActionAccountPurpose, func(st *txState, r *saRecord, now time.Time) (string, error) {
		before := r.Purpose
		r.Purpose = text
		d := fmt.Sprintf("purpose %q (was %q)", text, before)
		if text == "" {
			d = fmt.Sprintf("purpose cleared (was %q); prefilled: %q", before, r.Sum.Purpose.Text)
		}
		return d, st.event(Event{Time: now, Account: r.Key, Kind: EventPurposeSet, Detail: d, Actor: audit.Actor(ctx)})
	})
}

// purposeOf is the purpose a scan suggests for account a: the passwd GECOS
// field's full-name part (up to the first comma) unless it only repeats the
// account's name, else the Description= of the first unit that runs as it.
// Bounded to maxPrefill bytes and cleaned of unsafe characters.
func purposeOf(a *scan.Account) purposeNote {
	g, _, _ := strings.Cut(a.GECOS, ",")
	if g = strings.TrimSpace(g); g != "" && !strings.EqualFold(g, a.Name) {
		return purposeNote{Text: textout.Fit(g, maxPrefill), From: "passwd gecos"}
	}
	for _, u := range a.UsedBy {
		if d := strings.TrimSpace(u.Description); u.Type == scan.UsageSystemd && d != "" {
			return purposeNote{Text: textout.Fit(d, maxPrefill), From: "unit " + u.Name}
		}
	}
	return purposeNote{}
}

// RegisterRow is one data row of a registered-account CSV and what became
// of it.
type RegisterRow struct {
	Line int `json:"line"`
	NewAccount
	// Key is the account the row registers (NAME@ENV).
	Key string `json:"key,omitempty"`
	Err string `json:"error,omitempty"`
}

// RegisterResult is the outcome of ImportRegistered.
type RegisterResult struct {
	Rows    []RegisterRow `json:"rows"`
	Errors  int           `json:"errors"`
	Applied bool          `json:"applied"`
}

// registerColumns are the columns of a registered-account CSV: the first
// four required.
var registerColumns = []string{"name", "system", "kind", "credential", "owner", "env", "tier", "remedy", "purpose"}

// ImportRegistered reads a CSV with the header
// `name,system,kind,credential,owner,env,tier,remedy,purpose` (the first
// four required, columns in any order) and registers each row's account,
// as AddRegistered does.
//
// Like ImportOwners it is a dry run unless apply is set: every row is
// checked (what AddRegistered refuses, and a second row for the same
// NAME@ENV) and reported with its line number. Nothing is written if any
// row has an error, even with apply; with apply and no errors, all rows are
// written in one transaction, each with its audit record.
func (inv *Inventory) ImportRegistered(ctx context.Context, r io.Reader, apply bool) (*RegisterResult, error) {
	rows, err := readRegisterCSV(r)
	if err != nil {
		return nil, err
	}
	res := &RegisterResult{Rows: rows}
	actor, now := audit.Actor(ctx), inv.now()
	regs := make([]*Registration, len(rows))
	// check validates every row, reading the store but writing nothing.
	check := func(st *txState) error {
		res.Errors = 0
		seen := map[string]int{}
		for i := range res.Rows {
			row := &res.Rows[i]
			if row.Err == "" {
				key, g, err := inv.checkNew(row.NewAccount)
				switch {
				case err != nil:
					row.Err = rowError(err)
				case seen[key] != 0:
					row.Err = fmt.Sprintf("account %s already registered by line %d", key, seen[key])
				default:
					row.Key, regs[i], seen[key] = key, g, row.Line
				}
			}
			if row.Err == "" {
				var refused *InvalidError
				if err := refuseTaken(st, row.Key); errors.As(err, &refused) {
					row.Err = rowError(err)
				} else if err != nil {
					return err
				}
			}
			if row.Err != "" {
				res.Errors++
			}
		}
		return nil
	}
	if !apply {
		err = inv.store.View(ctx, func(tx store.Tx) error { return check(newTxState(tx)) })
	} else {
		err = inv.store.Update(ctx, func(tx store.Tx) error {
			st := newTxState(tx)
			if err := check(st); err != nil || res.Errors > 0 {
				return err
			}
			for i, row := range res.Rows {
				d, err := addRegisteredTx(st, row.NewAccount, row.Key, regs[i], now, actor)
				if err != nil {
					return err
				}
				if err := audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionAccountAdd, Account: row.Key,
					Outcome: audit.OutcomeOK, Detail: d + fmt.Sprintf(" (import line %d)", row.Line)}); err != nil {
					return err
				}
			}
			if err := st.flush(); err != nil {
				return err
			}
			res.Applied = true
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("import accounts: %w", err)
	}
	return res, nil
}

// rowError is a refusal as an import row's error: the reason, then the
// hint.
func rowError(err error) string {
	var ie *InvalidError
	if errors.As(err, &ie) && ie.HintText != "" {
		return ie.Error() + "; " + ie.HintText
	}
	return err.Error()
}

func readRegisterCSV(r io.Reader) ([]RegisterRow, error) {
	recs, err := readCSV(r, registerColumns[:4], registerColumns[4:])
	if err != nil {
		return nil, err
	}
	rows := make([]RegisterRow, 0, len(recs))
	for _, rec := range recs {
		row := RegisterRow{Line: rec.Line, Err: rec.Err, NewAccount: NewAccount{
			Name: rec.Get("name"), System: rec.Get("system"), Kind: rec.Get("kind"), Credential: rec.Get("credential"),
			Owner: rec.Get("owner"), Env: rec.Get("env"), Remedy: rec.Get("remedy"), Purpose: rec.Get("purpose"),
		}}
		if t := rec.Get("tier"); row.Err == "" && t != "" {
			if len(t) != 1 || t[0] < '1' || t[0] > '4' {
				row.Err = fmt.Sprintf("tier: %q is not a tier from 1 to 4", t)
			} else {
				row.Tier = Tier(t[0] - '0')
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

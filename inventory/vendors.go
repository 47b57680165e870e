package inventory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

// The vendor register: the third parties that come in from outside, who
// owns each relationship, and what roster does when an exception on one of
// their accounts lapses. An account is linked to a vendor by the tag
// third-party=NAME (TagAccount refuses an unknown NAME); a linked account
// is tier 2 unless something puts it in tier 1 (derive.go, tierOf).

// Vendor routes: how the third party comes in.
var VendorRoutes = []string{"vpn", "ssh", "rdp", "api", "sftp", "portal", "other"}

// Vendor factors, in scale order, weakest first: people's factors as the
// seed orders them (password < sms < push < totp < hardware_bound) with
// the machine credentials api_key and certificate placed by their level
// on the strength spectrum (FactorStrength).
var VendorFactors = []string{"password", "sms", "push", "totp", "api_key", "certificate", "hardware_bound"}

// factorStrength places each factor on the strength spectrum (model.go).
// password is a static password; an SMS code, a push approval and a TOTP
// code add a step but not a level: each is phished and relayed in real
// time (or approved out of fatigue) as easily as the password it sits on,
// so sms, push and totp are static_password too, ordered among
// themselves by VendorFactors. api_key is a secret in a file
// (secret_file); certificate a long-lived certificate (long_lived_cert:
// what a third party holds is not one of roster's 24-hour ones);
// hardware_bound (FIDO) is hardware_bound.
var factorStrength = map[string]Strength{
	"password":       StrengthStaticPassword,
	"sms":            StrengthStaticPassword,
	"push":           StrengthStaticPassword,
	"totp":           StrengthStaticPassword,
	"api_key":        StrengthSecretFile,
	"certificate":    StrengthLongLivedCert,
	"hardware_bound": StrengthHardwareBound,
}

// FactorStrength is a vendor factor's level on the strength spectrum (0
// for "" or an unknown factor).
func FactorStrength(factor string) Strength { return factorStrength[factor] }

// FactorRank orders factors weakest first (index in VendorFactors); -1
// for an unknown one.
func FactorRank(factor string) int { return slices.Index(VendorFactors, factor) }

// What happens when an exception on a vendor's account lapses.
const (
	// OnLapseRevoke revokes the account's certificates and holds it: no
	// renewal or enrollment until the exception is renewed or closed.
	OnLapseRevoke = "revoke"
	// OnLapseNotify records the lapse for notification (VendorLapses).
	OnLapseNotify = "notify"
)

// VendorOnLapse lists the on-lapse actions.
var VendorOnLapse = []string{OnLapseNotify, OnLapseRevoke}

// EventVendorLapsed is the history event of a lapse the sweep processed.
const EventVendorLapsed = "vendor exception lapsed"

// Vendor is one third party.
type Vendor struct {
	// Name is lowercase a-z 0-9 '.' '_' '-' (checkVendorName): it is the
	// value of the account tag third-party=NAME.
	Name string `json:"name"`
	// Owner answers for the relationship; Contact is the third party's
	// email address.
	Owner   string `json:"owner"`
	Contact string `json:"contact"`
	Route   string `json:"route"`
	// Factor is how the third party authenticates (VendorFactors), ""
	// when unknown; Strength is its level (FactorStrength).
	Factor   string    `json:"factor,omitempty"`
	Strength Strength  `json:"strength,omitempty"`
	Domain   string    `json:"domain,omitempty"`
	OnLapse  string    `json:"on_lapse"`
	Note     string    `json:"note,omitempty"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
}

// VendorPatch is a partial update (SetVendor): nil fields stay.
type VendorPatch struct {
	Owner, Contact, Route, Factor, Domain, OnLapse, Note *string
}

// VendorDetail is a vendor with its linked accounts and the exceptions on
// them that are not closed.
type VendorDetail struct {
	Vendor
	Accounts   []AccountSummary `json:"accounts"`
	Exceptions []Exception      `json:"exceptions"`
}

// VendorLapse is an exception on a vendor's account that expired without
// being closed or renewed (a newer valid exception covering the same
// credential type).
type VendorLapse struct {
	// ID is stable for the lapse: "vendor-lapse/" + the exception's ID.
	ID        string    `json:"id"`
	Vendor    string    `json:"vendor"`
	Owner     string    `json:"owner"`
	Contact   string    `json:"contact"`
	OnLapse   string    `json:"on_lapse"`
	Account   string    `json:"account"`
	Exception Exception `json:"exception"`
	// Processed is when the sweep recorded the lapse (nil: not yet);
	// Revoked the serials it revoked then.
	Processed *time.Time `json:"processed,omitempty"`
	Revoked   []string   `json:"revoked,omitempty"`
}

// VendorHold is why an account gets no certificate: its vendor revokes on
// lapse and one of its exceptions lapsed.
type VendorHold struct {
	Vendor    string    `json:"vendor"`
	Exception string    `json:"exception"`
	Lapsed    time.Time `json:"lapsed"`
}

// Reason says why, as the issuer refuses.
func (h VendorHold) Reason() string {
	return fmt.Sprintf("vendor %s's exception %s lapsed on %s; renew or close the exception", h.Vendor, h.Exception, h.Lapsed.UTC().Format(time.DateOnly))
}

// vendorLapseRec is a processed lapse (table vendorlapse).
type vendorLapseRec struct {
	Vendor    string    `json:"vendor"`
	Account   string    `json:"account"`
	OnLapse   string    `json:"on_lapse"`
	Expires   time.Time `json:"expires"`
	Processed time.Time `json:"processed"`
	Revoked   []string  `json:"revoked,omitempty"`
}

// vendorAddHint is the command that registers a vendor.
func vendorAddHint(name string) string {
	return "roster vendor add " + name + " --owner OWNER --contact EMAIL --route ROUTE"
}

// checkVendorName is the vendor name rule: the account tag rule
// (checkTags, as third-party=NAME must be a valid tag), lowercase a-z 0-9
// '.' '_' '-', starting with a letter or digit, at most 64 bytes.
func checkVendorName(name string) error {
	bad := func(why string) error {
		return &InvalidError{Field: "name", Reason: fmt.Sprintf("vendor name %q: %s", name, why)}
	}
	if name == "" {
		return bad("missing")
	}
	if len(name) > 64 {
		return bad("longer than 64 bytes")
	}
	if err := checkTags([]string{TagThirdPart + name}, false); err != nil {
		return bad("not usable in the tag " + TagThirdPart + "NAME")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			if l := strings.ToLower(name); l != name {
				return &InvalidError{Field: "name", Reason: fmt.Sprintf("vendor name %q: use lowercase", name), HintText: vendorAddHint(l)}
			}
			return bad("use lowercase a-z 0-9 . _ -, starting with a letter or digit")
		}
	}
	return nil
}

// checkVendor checks every field of v and fills the defaults.
func (inv *Inventory) checkVendor(v *Vendor) error {
	if err := checkVendorName(v.Name); err != nil {
		return err
	}
	v.Owner, v.Contact, v.Domain, v.Note = strings.TrimSpace(v.Owner), strings.TrimSpace(v.Contact), strings.TrimSpace(v.Domain), strings.TrimSpace(v.Note)
	hint := "name the person or team who owns the relationship: --owner OWNER"
	switch {
	case v.Owner == "":
		return &InvalidError{Field: "owner", Reason: fmt.Sprintf("vendor %s needs an owner", v.Name), HintText: hint}
	case len(v.Owner) > 200 || strings.ContainsAny(v.Owner, "\x00\n\r"):
		return &InvalidError{Field: "owner", Reason: "too long or contains control characters"}
	}
	if err := inv.notPlaceholder(v.Owner, hint); err != nil {
		return err
	}
	if v.Contact == "" {
		return &InvalidError{Field: "contact", Reason: fmt.Sprintf("vendor %s needs a contact", v.Name), HintText: "give the third party's email address: --contact EMAIL"}
	}
	if a, err := mail.ParseAddress(v.Contact); err != nil || a.Name != "" || a.Address != v.Contact || len(v.Contact) > 254 {
		return &InvalidError{Field: "contact", Reason: fmt.Sprintf("%q is not an email address (want one such as ops@vendor.example)", v.Contact)}
	}
	if err := oneOf("route", v.Route, VendorRoutes); err != nil {
		return err
	}
	if v.Factor != "" {
		if err := oneOf("factor", v.Factor, VendorFactors); err != nil {
			return err
		}
	}
	v.Strength = FactorStrength(v.Factor)
	if v.OnLapse == "" {
		v.OnLapse = OnLapseNotify
	}
	if err := oneOf("on_lapse", v.OnLapse, VendorOnLapse); err != nil {
		return err
	}
	if len(v.Domain) > 253 || strings.ContainsAny(v.Domain, "\x00\n\r\t /@") {
		return &InvalidError{Field: "domain", Reason: fmt.Sprintf("%q is not a domain name", v.Domain)}
	}
	if len(v.Note) > 1000 || strings.ContainsAny(v.Note, "\x00\n\r") {
		return &InvalidError{Field: "note", Reason: "longer than 1000 bytes or more than one line"}
	}
	return nil
}

// vendorDetail is the audit detail of a vendor.
func vendorDetail(v Vendor) string {
	return fmt.Sprintf("vendor %s: owner %s, contact %s, route %s, factor %s, domain %s, on lapse %s",
		v.Name, v.Owner, v.Contact, v.Route, dashEmpty(v.Factor), dashEmpty(v.Domain), v.OnLapse)
}

func dashEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func getVendor(tx store.Tx, name string) (*Vendor, error) {
	var v Vendor
	ok, err := getJSON(tx, tVendor, []byte(name), &v)
	if err != nil || !ok {
		return nil, err
	}
	return &v, nil
}

func vendorNotFound(name string) error {
	return &vendorMissing{name: name}
}

// vendorMissing is an unknown vendor: ErrNotFound, with the add command
// as its hint.
type vendorMissing struct{ name string }

func (e *vendorMissing) Error() string { return fmt.Sprintf("vendor %s: %v", e.name, ErrNotFound) }
func (e *vendorMissing) Unwrap() error { return ErrNotFound }
func (e *vendorMissing) Hint() string {
	return "see the vendors: roster vendor list; or add it: " + vendorAddHint(e.name)
}

// AddVendor registers a vendor (OnLapse defaults to notify). A name
// already registered is refused.
func (inv *Inventory) AddVendor(ctx context.Context, v Vendor) (Vendor, error) {
	if err := inv.checkVendor(&v); err != nil {
		return Vendor{}, err
	}
	actor, now := audit.Actor(ctx), inv.now()
	v.Created, v.Updated = now, now
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		old, err := getVendor(tx, v.Name)
		if err != nil {
			return err
		}
		if old != nil {
			return &InvalidError{Reason: fmt.Sprintf("vendor %s is already registered", v.Name),
				HintText: "change it: roster vendor set " + v.Name}
		}
		return putVendor(tx, v, audit.ActionVendorAdd, actor, "")
	})
	if err != nil {
		return Vendor{}, fmt.Errorf("add vendor %s: %w", v.Name, err)
	}
	return v, nil
}

func putVendor(tx store.Tx, v Vendor, action, actor, note string) error {
	if err := putJSON(tx, tVendor, []byte(v.Name), v); err != nil {
		return err
	}
	return audit.Append(tx, audit.Event{Time: v.Updated, Actor: actor, Action: action, Outcome: audit.OutcomeOK, Detail: vendorDetail(v) + note})
}

// SetVendor changes the fields p sets and returns the vendor.
func (inv *Inventory) SetVendor(ctx context.Context, name string, p VendorPatch) (Vendor, error) {
	actor, now := audit.Actor(ctx), inv.now()
	var out Vendor
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		v, err := getVendor(tx, name)
		if err != nil {
			return err
		}
		if v == nil {
			return vendorNotFound(name)
		}
		for _, f := range []struct {
			dst *string
			src *string
		}{{&v.Owner, p.Owner}, {&v.Contact, p.Contact}, {&v.Route, p.Route}, {&v.Factor, p.Factor}, {&v.Domain, p.Domain}, {&v.OnLapse, p.OnLapse}, {&v.Note, p.Note}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if err := inv.checkVendor(v); err != nil {
			return err
		}
		v.Updated = now
		out = *v
		return putVendor(tx, *v, audit.ActionVendorSet, actor, "")
	})
	if err != nil {
		return Vendor{}, fmt.Errorf("set vendor %s: %w", name, err)
	}
	return out, nil
}

// RemoveVendor removes a vendor no account is tagged with.
func (inv *Inventory) RemoveVendor(ctx context.Context, name string) error {
	actor, now := audit.Actor(ctx), inv.now()
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		v, err := getVendor(tx, name)
		if err != nil {
			return err
		}
		if v == nil {
			return vendorNotFound(name)
		}
		linked, err := vendorAccounts(tx, name)
		if err != nil {
			return err
		}
		if len(linked) > 0 {
			keys := make([]string, len(linked))
			for i, r := range linked {
				keys[i] = r.Key
			}
			return &InvalidError{Reason: fmt.Sprintf("vendor %s still has %d account(s) tagged %s%s: %s", name, len(keys), TagThirdPart, name, strings.Join(firstN(keys, 10), ", ")),
				HintText: fmt.Sprintf("untag them first: roster account tag %s %s%s --remove", keys[0], TagThirdPart, name)}
		}
		if err := tx.Delete(tVendor, []byte(name)); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionVendorRemove, Outcome: audit.OutcomeOK, Detail: "vendor " + name + " removed"})
	})
	if err != nil {
		return fmt.Errorf("remove vendor %s: %w", name, err)
	}
	return nil
}

// vendorAccounts returns the service accounts tagged third-party=name,
// retired ones included, by key.
func vendorAccounts(tx store.Tx, name string) ([]*saRecord, error) {
	recs, err := allSA(tx)
	if err != nil {
		return nil, err
	}
	var out []*saRecord
	for _, r := range recs {
		if v, ok := tagValue(r.Tags, TagThirdPart); ok && v == name {
			out = append(out, r)
		}
	}
	return out, nil
}

// ListVendors returns every vendor by name.
func (inv *Inventory) ListVendors(ctx context.Context) ([]Vendor, error) {
	var out []Vendor
	err := inv.store.View(ctx, func(tx store.Tx) error {
		return tx.Scan(tVendor, nil, func(k, b []byte) error {
			var v Vendor
			if err := jsonUnmarshal(tVendor, k, b, &v); err != nil {
				return err
			}
			out = append(out, v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list vendors: %w", err)
	}
	return out, nil
}

// Vendor returns a vendor with its accounts (retired ones too) and the
// exceptions on them that are not closed, soonest expiry first.
func (inv *Inventory) Vendor(ctx context.Context, name string) (*VendorDetail, error) {
	var d *VendorDetail
	err := inv.store.View(ctx, func(tx store.Tx) error {
		v, err := getVendor(tx, name)
		if err != nil {
			return err
		}
		if v == nil {
			return vendorNotFound(name)
		}
		recs, err := vendorAccounts(tx, name)
		if err != nil {
			return err
		}
		view, err := loadView(tx, inv.now(), recs, false)
		if err != nil {
			return err
		}
		d = &VendorDetail{Vendor: *v, Accounts: []AccountSummary{}, Exceptions: []Exception{}}
		for _, r := range recs {
			d.Accounts = append(d.Accounts, view.summarize(r))
			for _, e := range view.exceptions[r.Key] {
				if e.Closed == nil {
					d.Exceptions = append(d.Exceptions, e)
				}
			}
		}
		sort.SliceStable(d.Exceptions, func(i, j int) bool { return d.Exceptions[i].Expires.Before(d.Exceptions[j].Expires) })
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vendor %s: %w", name, err)
	}
	return d, nil
}

// checkVendorTags refuses a third-party=NAME tag whose vendor is not
// registered (TagAccount calls it in its transaction).
func checkVendorTags(tx store.Tx, add []string) error {
	for _, t := range add {
		name, ok := strings.CutPrefix(t, TagThirdPart)
		if !ok {
			continue
		}
		if name == "" {
			return &InvalidError{Field: "tag", Reason: TagThirdPart + " needs a vendor name", HintText: "see the vendors: roster vendor list"}
		}
		v, err := getVendor(tx, name)
		if err != nil {
			return err
		}
		if v == nil {
			return &InvalidError{Field: "tag", Reason: fmt.Sprintf("unknown vendor %s: register it before tagging accounts with it", name),
				HintText: vendorAddHint(name)}
		}
	}
	return nil
}

// lapsedOf returns the exceptions of excs that lapsed at now: expired,
// not closed and not renewed, oldest first.
func lapsedOf(excs []Exception, now time.Time) []Exception {
	var out []Exception
	for _, e := range excs {
		if e.Expired(now) && !renewed(e, excs, now) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Expires.Before(out[j].Expires) })
	return out
}

// vendorHold returns the hold on account r (nil if none): a vendor that
// revokes on lapse and an exception of r's that lapsed.
func vendorHold(tx store.Tx, r *saRecord, now time.Time) (*VendorHold, error) {
	name, ok := tagValue(r.Tags, TagThirdPart)
	if !ok || name == "" {
		return nil, nil
	}
	v, err := getVendor(tx, name)
	if err != nil || v == nil || v.OnLapse != OnLapseRevoke {
		return nil, err
	}
	var excs []Exception
	if err := tx.Scan(tExc, nil, func(k, b []byte) error {
		var e Exception
		if err := jsonUnmarshal(tExc, k, b, &e); err != nil {
			return err
		}
		if e.Account == r.Key {
			excs = append(excs, e)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if l := lapsedOf(excs, now); len(l) > 0 {
		return &VendorHold{Vendor: name, Exception: l[0].ID, Lapsed: l[0].Expires}, nil
	}
	return nil, nil
}

// VendorLapses returns the exceptions on registered vendors' accounts
// (not retired) that lapsed at now, soonest expiry first, with the
// vendor, its owner and on-lapse, and whether the sweep processed them
// (RecordVendorLapse). A lapse stops being listed once the exception is
// closed or renewed.
func (inv *Inventory) VendorLapses(ctx context.Context, now time.Time) ([]VendorLapse, error) {
	var out []VendorLapse
	err := inv.store.View(ctx, func(tx store.Tx) error {
		vendors := map[string]*Vendor{}
		if err := tx.Scan(tVendor, nil, func(k, b []byte) error {
			v := new(Vendor)
			if err := jsonUnmarshal(tVendor, k, b, v); err != nil {
				return err
			}
			vendors[v.Name] = v
			return nil
		}); err != nil || len(vendors) == 0 {
			return err
		}
		recs, err := allSA(tx)
		if err != nil {
			return err
		}
		linked := map[string]*Vendor{}
		for _, r := range recs {
			if name, ok := tagValue(r.Tags, TagThirdPart); ok && vendors[name] != nil && !r.Retired {
				linked[r.Key] = vendors[name]
			}
		}
		excs := map[string][]Exception{}
		if err := tx.Scan(tExc, nil, func(k, b []byte) error {
			var e Exception
			if err := jsonUnmarshal(tExc, k, b, &e); err != nil {
				return err
			}
			if linked[e.Account] != nil {
				excs[e.Account] = append(excs[e.Account], e)
			}
			return nil
		}); err != nil {
			return err
		}
		for key, list := range excs {
			v := linked[key]
			for _, e := range lapsedOf(list, now) {
				l := VendorLapse{ID: "vendor-lapse/" + e.ID, Vendor: v.Name, Owner: v.Owner, Contact: v.Contact, OnLapse: v.OnLapse, Account: key, Exception: e}
				var rec vendorLapseRec
				ok, err := getJSON(tx, tVendorLapse, []byte(e.ID), &rec)
				if err != nil {
					return err
				}
				// A lapse recorded for notify is processed again once its
				// vendor revokes on lapse (the sweep then revokes).
				if ok && (rec.OnLapse == OnLapseRevoke || l.OnLapse != OnLapseRevoke) {
					t := rec.Processed
					l.Processed, l.Revoked = &t, rec.Revoked
				}
				out = append(out, l)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vendor lapses: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Exception.Expires.Equal(out[j].Exception.Expires) {
			return out[i].Exception.Expires.Before(out[j].Exception.Expires)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// RecordVendorLapse records that the sweep processed lapse l (revoking
// the serials in revoked, for a vendor that revokes), once: it reports
// false, writing nothing, when the lapse was recorded before (a lapse
// recorded for notify is recorded again, once, if its vendor has since
// turned to revoke). The
// account's history and the audit log name the vendor and the exception.
func (inv *Inventory) RecordVendorLapse(ctx context.Context, l VendorLapse, revoked []string) (bool, error) {
	actor, now := audit.Actor(ctx), inv.now()
	first := false
	err := inv.store.Update(ctx, func(tx store.Tx) error {
		first = false
		var prev vendorLapseRec
		if ok, err := getJSON(tx, tVendorLapse, []byte(l.Exception.ID), &prev); err != nil || ok && (prev.OnLapse == OnLapseRevoke || l.OnLapse != OnLapseRevoke) {
			return err
		}
		first = true
		rec := vendorLapseRec{Vendor: l.Vendor, Account: l.Account, OnLapse: l.OnLapse, Expires: l.Exception.Expires, Processed: now, Revoked: revoked}
		if err := putJSON(tx, tVendorLapse, []byte(l.Exception.ID), rec); err != nil {
			return err
		}
		d := fmt.Sprintf("vendor %s's exception %s lapsed on %s (on lapse %s)", l.Vendor, l.Exception.ID, l.Exception.Expires.UTC().Format(time.DateOnly), l.OnLapse)
		if l.OnLapse == OnLapseRevoke {
			d += fmt.Sprintf("; revoked %d certificate(s) %s; no certificate until the exception is renewed or closed", len(revoked), strings.Join(revoked, ", "))
		}
		st := newTxState(tx)
		if _, err := getSA(tx, l.Account); err == nil {
			if err := st.event(Event{Time: now, Account: l.Account, Kind: EventVendorLapsed, Detail: d, Actor: actor}); err != nil {
				return err
			}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := st.flush(); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionVendorLapse, Account: l.Account, Outcome: audit.OutcomeOK,
			Reason: l.Exception.ID, Detail: d})
	})
	if err != nil {
		return false, fmt.Errorf("record vendor lapse %s: %w", l.Exception.ID, err)
	}
	return first, nil
}

// getSA reads a service account record by key.
func getSA(tx store.Tx, key string) (*saRecord, error) {
	r := new(saRecord)
	ok, err := getJSON(tx, tSA, []byte(key), r)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	return r, nil
}

// VendorImportRow is one data row of a vendor CSV and what became of it.
type VendorImportRow struct {
	Line    int    `json:"line"`
	Name    string `json:"name"`
	Owner   string `json:"owner"`
	Contact string `json:"contact"`
	Route   string `json:"route"`
	Factor  string `json:"factor,omitempty"`
	Domain  string `json:"domain,omitempty"`
	OnLapse string `json:"on_lapse,omitempty"`
	Note    string `json:"note,omitempty"`
	// Action is "add" or "update" (a vendor already registered).
	Action string `json:"action,omitempty"`
	Err    string `json:"error,omitempty"`
}

// VendorImportResult is the outcome of ImportVendors.
type VendorImportResult struct {
	Rows    []VendorImportRow `json:"rows"`
	Errors  int               `json:"errors"`
	Applied bool              `json:"applied"`
}

// Vendor CSV columns.
var (
	vendorColsRequired = []string{"name", "owner", "contact", "route"}
	vendorColsOptional = []string{"factor", "domain", "on_lapse", "note"}
)

func readVendorCSV(r io.Reader) ([]VendorImportRow, error) {
	recs, err := readCSV(r, vendorColsRequired, vendorColsOptional)
	if err != nil {
		return nil, err
	}
	rows := make([]VendorImportRow, 0, len(recs))
	for _, rec := range recs {
		rows = append(rows, VendorImportRow{Line: rec.Line, Name: rec.Get("name"), Owner: rec.Get("owner"), Contact: rec.Get("contact"),
			Route: rec.Get("route"), Factor: rec.Get("factor"), Domain: rec.Get("domain"), OnLapse: rec.Get("on_lapse"), Note: rec.Get("note"), Err: rec.Err})
	}
	return rows, nil
}

// ImportVendors reads a CSV with the header
// `name,owner,contact,route[,factor,domain,on_lapse,note]` (columns in any
// order) and registers each row's vendor, or replaces the fields of one
// already registered (Action "update", its Created kept).
//
// It is a dry run unless apply is set: every row is checked as AddVendor
// checks it, and a second row for the same name is refused, each error
// with its line number. Nothing is written if any row has an error, even
// with apply. With apply and no errors, all rows are written in one
// transaction, each audited.
func (inv *Inventory) ImportVendors(ctx context.Context, r io.Reader, apply bool) (*VendorImportResult, error) {
	rows, err := readVendorCSV(r)
	if err != nil {
		return nil, err
	}
	res := &VendorImportResult{Rows: rows}
	actor, now := audit.Actor(ctx), inv.now()
	check := func(tx store.Tx) ([]Vendor, error) {
		res.Errors = 0
		out := make([]Vendor, len(res.Rows))
		seen := map[string]int{}
		for i := range res.Rows {
			row := &res.Rows[i]
			if row.Err == "" {
				v := Vendor{Name: row.Name, Owner: row.Owner, Contact: row.Contact, Route: row.Route, Factor: row.Factor,
					Domain: row.Domain, OnLapse: row.OnLapse, Note: row.Note, Created: now, Updated: now}
				if err := inv.checkVendor(&v); err != nil {
					row.Err = err.Error()
				} else if line, dup := seen[v.Name]; dup {
					row.Err = fmt.Sprintf("vendor %s already given on line %d", v.Name, line)
				} else {
					seen[v.Name] = row.Line
					old, err := getVendor(tx, v.Name)
					if err != nil {
						return nil, err
					}
					row.Action, row.OnLapse = "add", v.OnLapse
					if old != nil {
						row.Action, v.Created = "update", old.Created
					}
					out[i] = v
				}
			}
			if row.Err != "" {
				res.Errors++
			}
		}
		return out, nil
	}
	if !apply {
		err = inv.store.View(ctx, func(tx store.Tx) error { _, err := check(tx); return err })
	} else {
		err = inv.store.Update(ctx, func(tx store.Tx) error {
			vs, err := check(tx)
			if err != nil || res.Errors > 0 {
				return err
			}
			for i, v := range vs {
				action := audit.ActionVendorAdd
				if res.Rows[i].Action == "update" {
					action = audit.ActionVendorSet
				}
				if err := putVendor(tx, v, action, actor, fmt.Sprintf(" (import line %d)", res.Rows[i].Line)); err != nil {
					return err
				}
			}
			res.Applied = true
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("import vendors: %w", err)
	}
	return res, nil
}

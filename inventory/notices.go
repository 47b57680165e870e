package inventory

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/store"
)

// Notice kinds: stable machine names, as webhook receivers switch on them.
const (
	NoticeExceptionExpiring   = "exception.expiring"
	NoticeExceptionExpired    = "exception.expired"
	NoticeOwnerlessPrivileged = "account.ownerless_privileged"
	NoticeTest                = "test"
	// Kinds whose producers come with the plan and the vendor register.
	NoticePhaseOverdue          = "phase.overdue"
	NoticePhaseEnding           = "phase.ending"
	NoticeVendorExceptionLapsed = "vendor.exception_lapsed"
)

// PhaseEndingWindow is how long before a phase's end a phase.ending notice
// is due, when the tier still has accounts below target.
const PhaseEndingWindow = 14 * 24 * time.Hour

// NoticeThresholds are the days before an exception's expiry at which a
// notice is due (exception.expiring), largest first.
var NoticeThresholds = [...]int{14, 7, 1}

// Notice is one event due to someone: what happened, to which account, and
// who should act. It carries no secret (no token, hash, fingerprint or
// fingerprint key): only names, dates and the texts operators wrote.
type Notice struct {
	// ID is stable: the same state yields the same ID, so queueing a
	// notice twice is a no-op (the outbox keeps the IDs it queued). It
	// names the kind, the subject and what makes this occurrence one of its
	// own, as in "exception-expiring-7d/exc-12/2026-05-01": an extension
	// that moves the date yields new notices.
	ID   string    `json:"id"`
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`
	// Owner is who should act; nil when nobody owns the account, and then
	// Action says who should act and how.
	Owner   *Owner `json:"owner"`
	Action  string `json:"action,omitempty"`
	Account string `json:"account,omitempty"`
	Tier    Tier   `json:"tier,omitempty"`
	Summary string `json:"summary"`
	// Details are the structured facts (exception_id, expires, days_left,
	// ...), each kind its own keys.
	Details map[string]string `json:"details,omitempty"`
}

// noticeInput is what a producer reads: the live service accounts (people's
// and unused OS accounts left out, as in reports) by key, their exceptions,
// the transaction for anything else, and now.
type noticeInput struct {
	tx         store.Tx
	now        time.Time
	accounts   map[string]AccountSummary
	exceptions map[string][]Exception
}

// noticeProducer computes the notices of one kind that are due in the
// current state. It must be state-based: the same state gives the same
// notices, with the same IDs.
type noticeProducer func(in *noticeInput) ([]Notice, error)

// noticeProducers is every producer. Adding a kind of notice is one
// function here: it reads what it needs through in.tx (a plan's phases, a
// vendor's record) and in.accounts, and returns notices whose ID names the
// kind, the subject and what makes the occurrence new, such as
// "phase-overdue/tier-1/2026-06-30" (a moved end date is a new notice) or
// "vendor-exception-lapsed/acme/exc-12/2026-05-01". The owner to act is the
// phase's or the vendor's owner.
func noticeProducers() []noticeProducer {
	return []noticeProducer{
		exceptionNotices,
		ownerlessPrivilegedNotices,
		phaseNotices,
		vendorLapseNotices,
	}
}

// Notices computes the notices due at now from the current state: each
// producer's, sorted by time and then ID. Running it again gives the same
// notices (with the same IDs) until the state changes, so its caller can
// queue them at any time and as often as it likes (see package notify);
// nothing is lost when a run's notices are never queued.
func (inv *Inventory) Notices(ctx context.Context, now time.Time) ([]Notice, error) {
	now = now.UTC()
	var out []Notice
	err := inv.store.View(ctx, func(tx store.Tx) error {
		out = nil
		recs, err := allSA(tx)
		if err != nil {
			return err
		}
		v, err := loadView(tx, now, recs, true)
		if err != nil {
			return err
		}
		in := &noticeInput{tx: tx, now: now, accounts: map[string]AccountSummary{}, exceptions: v.exceptions}
		for _, r := range recs {
			if r.Retired || !r.present() {
				continue
			}
			if s := v.summarize(r); !s.Human && !s.System {
				in.accounts[r.Key] = s
			}
		}
		for _, p := range noticeProducers() {
			ns, err := p(in)
			if err != nil {
				return err
			}
			out = append(out, ns...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notices: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// exceptionNotices: an open exception expiring within a threshold (the
// smallest threshold crossed: one notice per threshold as time passes) or
// expired (unless a newer exception covers the same credentials).
func exceptionNotices(in *noticeInput) ([]Notice, error) {
	var out []Notice
	for key, excs := range in.exceptions {
		a, ok := in.accounts[key]
		if !ok {
			continue
		}
		for _, e := range excs {
			if e.Closed != nil {
				continue
			}
			date := e.Expires.Format(time.DateOnly)
			n := Notice{Owner: exceptionOwner(e, a), Account: key, Tier: a.Tier,
				Details: map[string]string{"exception_id": e.ID, "expires": e.Expires.Format(time.RFC3339), "reason": e.Reason}}
			if e.Credential != "" {
				n.Details["credential"] = e.Credential
			}
			if e.Expired(in.now) {
				if renewed(e, excs, in.now) {
					continue
				}
				n.ID = "exception-expired/" + e.ID + "/" + date
				n.Kind, n.Time = NoticeExceptionExpired, e.Expires
				n.Summary = fmt.Sprintf("exception %s for %s expired on %s: its credentials are a violation until the exception is renewed or closed", e.ID, key, date)
				n.Action = "renew the exception (roster exception add) or remove the credential and close it (roster exception close " + e.ID + ")"
				out = append(out, n)
				continue
			}
			left := e.Expires.Sub(in.now)
			days := 0
			for _, d := range NoticeThresholds {
				if left <= time.Duration(d)*24*time.Hour {
					days = d
				}
			}
			if days == 0 {
				continue
			}
			n.ID = fmt.Sprintf("exception-expiring-%dd/%s/%s", days, e.ID, date)
			n.Kind, n.Time = NoticeExceptionExpiring, e.Expires.Add(-time.Duration(days)*24*time.Hour)
			if n.Time.Before(e.Created) {
				n.Time = e.Created
			}
			n.Details["within_days"] = strconv.Itoa(days)
			n.Summary = fmt.Sprintf("exception %s for %s expires on %s, within %d days", e.ID, key, date, days)
			n.Action = "replace the static credential, or renew the exception before it runs out (roster exception add)"
			out = append(out, n)
		}
	}
	return out, nil
}

// exceptionOwner is who answers for exception e of account a: the
// exception's owner, with the account owner's contact when they are the
// same.
func exceptionOwner(e Exception, a AccountSummary) *Owner {
	o := &Owner{Name: e.Owner}
	if a.Owner != nil && a.Owner.Name == e.Owner {
		o.Contact = a.Owner.Contact
	}
	return o
}

// ownerlessPrivilegedNotices: a tier-1 account without an owner, once per
// account.
func ownerlessPrivilegedNotices(in *noticeInput) ([]Notice, error) {
	var out []Notice
	for key, a := range in.accounts {
		if a.Tier != TierPrivileged || a.Owner != nil {
			continue
		}
		out = append(out, Notice{
			ID: "account-ownerless-privileged/" + key, Kind: NoticeOwnerlessPrivileged, Time: in.now,
			Account: key, Tier: a.Tier,
			Summary: fmt.Sprintf("privileged account %s (%s) has no owner", key, a.TierReason),
			Action:  "an operator names the owner: roster owner set " + key + " OWNER",
			Details: map[string]string{"tier_reason": a.TierReason, "strength": a.Strength.Name(), "first_seen": a.FirstSeen.Format(time.RFC3339)},
		})
	}
	return out, nil
}

// phaseNotices: a phase whose end passed with accounts still below target
// (phase.overdue), or whose end is within PhaseEndingWindow with accounts
// below target (phase.ending). The phase's owner acts; a moved end date is
// a new notice.
func phaseNotices(in *noticeInput) ([]Notice, error) {
	phases, err := loadPhases(in.tx)
	if err != nil || len(phases) == 0 {
		return nil, err
	}
	below := map[Tier][]string{}
	for key, a := range in.accounts {
		if p := phases[a.Tier]; p != nil && a.Strength < p.Target {
			below[a.Tier] = append(below[a.Tier], key)
		}
	}
	var out []Notice
	for t, p := range phases {
		if p.End.IsZero() || len(below[t]) == 0 || p.End.Sub(in.now) > PhaseEndingWindow {
			continue
		}
		sort.Strings(below[t])
		end := p.End.Format(time.DateOnly)
		n := Notice{Owner: &Owner{Name: p.Owner}, Tier: t, Time: p.End.Add(-PhaseEndingWindow),
			Details: map[string]string{"tier": strconv.Itoa(int(t)), "target": p.Target.Name(), "end": p.End.Format(time.RFC3339),
				"below_target": strconv.Itoa(len(below[t])), "first_below": strings.Join(firstN(below[t], 5), ",")}}
		if p.State(in.now, len(below[t])) == PhaseOverdue {
			n.ID, n.Kind, n.Time = "phase-overdue/tier-"+strconv.Itoa(int(t))+"/"+end, NoticePhaseOverdue, p.End
			n.Summary = fmt.Sprintf("phase of tier %s ended on %s with %d account(s) below its target %s", t, end, len(below[t]), p.Target.Name())
			n.Action = fmt.Sprintf("move the accounts to %s, or record a new end: roster plan set %d --target %s --owner %s --start DATE --end DATE",
				p.Target.Name(), t, p.Target.Name(), p.Owner)
		} else {
			n.ID, n.Kind = "phase-ending/tier-"+strconv.Itoa(int(t))+"/"+end, NoticePhaseEnding
			if n.Time.Before(p.SetAt) {
				n.Time = p.SetAt
			}
			n.Summary = fmt.Sprintf("phase of tier %s ends on %s with %d account(s) below its target %s", t, end, len(below[t]), p.Target.Name())
			n.Action = "see which: roster plan"
		}
		out = append(out, n)
	}
	return out, nil
}

// vendorLapseNotices: an exception on a registered vendor's account that
// expired without being closed or renewed. The vendor's owner acts; the
// notice says whether roster revoked the account's certificates (the
// vendor's on-lapse).
func vendorLapseNotices(in *noticeInput) ([]Notice, error) {
	var out []Notice
	vendors := map[string]*Vendor{}
	for key, a := range in.accounts {
		name, ok := tagValue(a.Tags, TagThirdPart)
		if !ok {
			continue
		}
		v, seen := vendors[name]
		if !seen {
			var err error
			if v, err = getVendor(in.tx, name); err != nil {
				return nil, err
			}
			vendors[name] = v
		}
		if v == nil {
			continue
		}
		for _, e := range lapsedOf(in.exceptions[key], in.now) {
			date := e.Expires.Format(time.DateOnly)
			n := Notice{ID: "vendor-exception-lapsed/" + v.Name + "/" + e.ID + "/" + date, Kind: NoticeVendorExceptionLapsed,
				Time: e.Expires, Owner: &Owner{Name: v.Owner, Contact: v.Contact}, Account: key, Tier: a.Tier,
				Details: map[string]string{"vendor": v.Name, "exception_id": e.ID, "expires": e.Expires.Format(time.RFC3339), "on_lapse": v.OnLapse}}
			n.Summary = fmt.Sprintf("vendor %s's exception %s for %s lapsed on %s", v.Name, e.ID, key, date)
			if v.OnLapse == OnLapseRevoke {
				n.Summary += ": the account's certificates are revoked and renewal is refused until the exception is renewed or closed"
			}
			n.Action = "renew the exception (roster exception add) or close it (roster exception close " + e.ID + ")"
			out = append(out, n)
		}
	}
	return out, nil
}

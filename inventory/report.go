package inventory

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/rosterhq/roster/store"
)

// ExpiringWindow is how far ahead reports look for expiring exceptions.
const ExpiringWindow = 30 * 24 * time.Hour

// Report is the organisation's progress, always per tier: never one flat
// percentage. Ownerless privileged accounts come first.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	// OwnerlessPrivileged lists tier 1 accounts without an owner.
	OwnerlessPrivileged []AccountSummary `json:"ownerless_privileged"`
	// NeedOwner lists accounts without an owner whose name has an owner
	// in another group: typically instances a host's env= tag moved while
	// the account's other instances stayed. Each needs its own owner.
	NeedOwner []OwnerNeeded `json:"need_owner,omitempty"`
	Tiers     []TierStats   `json:"tiers"`
	// Shared lists credentials held by several hosts or accounts.
	Shared []SharedCredential `json:"shared_credentials"`
	// ExpiredExceptions are violations until renewed or closed.
	ExpiredExceptions []Exception `json:"expired_exceptions"`
	// ExpiringExceptions run out within ExpiringWindow.
	ExpiringExceptions []Exception `json:"expiring_exceptions"`
	// OverduePhases are the phases whose end passed with accounts still
	// below target (PhaseOverdue): violations, like expired exceptions.
	OverduePhases []Phase `json:"overdue_phases,omitempty"`
	// OverExtended lists the open exceptions extended more than
	// MaxExtensions times: violations ("temporary" that never ends).
	OverExtended []Exception `json:"over_extended_exceptions,omitempty"`
	// Retired counts retired service accounts (not in the tiers).
	Retired int `json:"retired"`
	// Humans counts people's accounts (not in the tiers' service account
	// counts: roster is about machine identities). The privileged ones are
	// also counted, by login strength, in tier 1's People line.
	Humans int `json:"human_accounts"`
	// System counts unused OS accounts holding no credential (not in the
	// tiers: nothing to migrate).
	System int `json:"system_accounts"`
	// Instances counts live account instances over all tiers.
	Instances int `json:"instances"`
	// PendingReview lists the service accounts a scan found under a name
	// that already is an identity in another environment: they get no
	// certificate until an operator confirms them as separate identities
	// or merges them.
	PendingReview []PendingReview `json:"pending_review,omitempty"`
	// Operators lists roster's own operators with their sign-in factor,
	// when the server added them (AddOperators); tier 1's Operators
	// counts them by strength.
	Operators []Operator `json:"operators,omitempty"`
}

// PendingReview is one service account waiting for review.
type PendingReview struct {
	// Account is its key (NAME@ENV), Name and Env its parts.
	Account string `json:"account"`
	Name    string `json:"name"`
	Env     string `json:"env"`
	// Established lists the environments where the name is an identity.
	Established []string `json:"established_envs"`
	// Instances counts its live instances; Hosts lists the first
	// (at most maxReviewHosts) of their hosts.
	Instances int       `json:"instances"`
	Hosts     []string  `json:"hosts"`
	FirstSeen time.Time `json:"first_seen"`
}

// maxReviewHosts bounds the hosts listed per account pending review.
const maxReviewHosts = 5

// TierStats counts one tier's service accounts.
type TierStats struct {
	Tier Tier   `json:"tier"`
	Name string `json:"name"`
	// Accounts counts live, unretired service accounts.
	Accounts  int `json:"accounts"`
	WithOwner int `json:"with_owner"`
	// ShortLived counts accounts on short-lived certificates (enrolled or
	// managed); Managed those with no static credential left.
	ShortLived int `json:"short_lived"`
	Managed    int `json:"managed"`
	Lapsed     int `json:"lapsed"`
	// Static counts accounts still holding a static credential; Covered
	// those of them fully covered by valid exceptions.
	Static  int `json:"static"`
	Covered int `json:"covered_by_exception"`
	// ExpiringExceptions and ExpiredExceptions count exceptions on the
	// tier's accounts.
	ExpiringExceptions int `json:"exceptions_expiring_30d"`
	ExpiredExceptions  int `json:"exceptions_expired"`
	SharedSecrets      int `json:"shared_secret_accounts"`
	// ByStrength counts the tier's service accounts per strength level,
	// by machine name (Strength.Name); levels without an account are
	// absent. A distribution, never one flat percentage.
	ByStrength map[string]int `json:"by_strength"`
	// Target is the level the tier's phase aims at (zero without a
	// phase: see SetPhase); BelowTarget counts the accounts below it, nil without a target.
	Target      Strength `json:"target,omitempty"`
	BelowTarget *int     `json:"below_target,omitempty"`
	// PhaseEnd is the end date recorded for the tier's phase (zero without
	// a phase or an end).
	PhaseEnd time.Time `json:"phase_end,omitzero"`
	// People counts privileged people's accounts (tier 1 only): roster
	// enrolls no person, but their login strength belongs to the first
	// priority. Unprivileged people's accounts are not counted.
	People *PeopleStats `json:"privileged_people,omitempty"`
	// Operators counts roster's own operators by the strength of their
	// sign-in factor (tier 1 only, once the server added them; see
	// Report.AddOperators), apart from the service accounts.
	Operators *PeopleStats `json:"roster_operators,omitempty"`
}

// PeopleStats counts people's accounts by login strength: privileged
// people's accounts (scan kind human with a root-equivalent privilege) in
// TierStats.People, roster's own operators in TierStats.Operators.
type PeopleStats struct {
	Accounts   int            `json:"accounts"`
	ByStrength map[string]int `json:"by_strength"`
}

// belowTarget counts the accounts of dist (by machine name) below target.
func belowTarget(dist map[string]int, target Strength) int {
	n := 0
	for _, l := range Strengths {
		if l < target {
			n += dist[l.Name()]
		}
	}
	return n
}

// maxHolders bounds the holders listed per shared credential in a report.
const maxHolders = 50

// Report computes the report at now. It reads the per-service-account
// summaries that ingest maintains, not the instances, so it stays fast for
// hundreds of thousands of instances.
func (inv *Inventory) Report(ctx context.Context, now time.Time) (*Report, error) {
	return inv.report(ctx, now, nil, nil)
}

// report is Report; in its transaction, pre (when set) runs first and
// visit (when set) sees every service account counted in a tier with its
// exceptions (Plan uses both).
func (inv *Inventory) report(ctx context.Context, now time.Time, pre func(store.Tx) error, visit func(AccountSummary, []Exception)) (*Report, error) {
	now = now.UTC()
	rep := &Report{GeneratedAt: now}
	for t := TierPrivileged; t <= TierRest; t++ {
		rep.Tiers = append(rep.Tiers, TierStats{Tier: t, Name: t.String(), ByStrength: map[string]int{}})
	}
	people := &PeopleStats{ByStrength: map[string]int{}}
	rep.Tiers[TierPrivileged-1].People = people
	err := inv.store.View(ctx, func(tx store.Tx) error {
		if pre != nil {
			if err := pre(tx); err != nil {
				return err
			}
		}
		phases, err := loadPhases(tx)
		if err != nil {
			return err
		}
		recs, err := allSA(tx)
		if err != nil {
			return err
		}
		v, err := loadView(tx, now, recs, true)
		if err != nil {
			return err
		}
		tierOfKey := map[string]Tier{}
		owned := map[string]*saRecord{} // account name -> first live group with an owner
		for _, r := range recs {
			if r.Owner != nil && r.present() && !r.Retired && owned[r.Name] == nil {
				owned[r.Name] = r
			}
		}
		hostNames := map[string]string{}
		for _, r := range recs {
			if r.Retired {
				rep.Retired++
				continue
			}
			if !r.present() {
				continue
			}
			s := v.summarize(r)
			if s.Human {
				rep.Humans++
				if s.Privileged {
					people.Accounts++
					people.ByStrength[s.Strength.Name()]++
				}
				continue
			}
			if s.System {
				rep.System++
				continue
			}
			if s.PendingReview {
				pr, err := pendingReview(tx, v, r, hostNames)
				if err != nil {
					return err
				}
				rep.PendingReview = append(rep.PendingReview, pr)
			}
			tierOfKey[r.Key] = s.Tier
			rep.Instances += s.Instances
			ts := &rep.Tiers[s.Tier-1]
			ts.Accounts++
			ts.ByStrength[s.Strength.Name()]++
			if s.Owner != nil {
				ts.WithOwner++
			} else if s.Tier == TierPrivileged {
				rep.OwnerlessPrivileged = append(rep.OwnerlessPrivileged, s)
			}
			if sib := owned[r.Name]; s.Owner == nil && sib != nil {
				rep.NeedOwner = append(rep.NeedOwner, OwnerNeeded{Account: r.Key, Sibling: sib.Key, SiblingOwner: sib.Owner.Name})
			}
			switch s.Status {
			case StatusEnrolled:
				ts.ShortLived++
			case StatusManaged:
				ts.ShortLived++
				ts.Managed++
			case StatusLapsed:
				ts.Lapsed++
			}
			if s.Static > 0 {
				ts.Static++
				if s.Status == StatusException {
					ts.Covered++
				}
			}
			if s.Strength == StrengthSharedSecret {
				ts.SharedSecrets++
			}
			if visit != nil {
				visit(s, v.exceptions[r.Key])
			}
		}
		for key, excs := range v.exceptions {
			t, ok := tierOfKey[key]
			for _, e := range excs {
				switch {
				case e.Expired(now) && renewed(e, excs, now):
					// A newer valid exception took over: not a violation.
				case e.Expired(now):
					rep.ExpiredExceptions = append(rep.ExpiredExceptions, e)
					if ok {
						rep.Tiers[t-1].ExpiredExceptions++
					}
				case e.Valid(now) && e.Expires.Before(now.Add(ExpiringWindow)):
					rep.ExpiringExceptions = append(rep.ExpiringExceptions, e)
					if ok {
						rep.Tiers[t-1].ExpiringExceptions++
					}
				}
				if e.OverExtended() && !(e.Expired(now) && renewed(e, excs, now)) {
					rep.OverExtended = append(rep.OverExtended, e)
				}
			}
		}
		rep.Shared = v.sharedList
		for i := range rep.Tiers {
			ts := &rep.Tiers[i]
			if p := phases[ts.Tier]; p != nil {
				ts.Target, ts.PhaseEnd = p.Target, p.End
			}
			if ts.Target != 0 {
				n := belowTarget(ts.ByStrength, ts.Target)
				ts.BelowTarget = &n
				if p := phases[ts.Tier]; p.State(now, n) == PhaseOverdue {
					rep.OverduePhases = append(rep.OverduePhases, *p)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	byExpiry := func(l []Exception) {
		sort.Slice(l, func(i, j int) bool { return l[i].Expires.Before(l[j].Expires) })
	}
	byExpiry(rep.ExpiredExceptions)
	byExpiry(rep.ExpiringExceptions)
	byExpiry(rep.OverExtended)
	sort.Slice(rep.OwnerlessPrivileged, func(i, j int) bool { return rep.OwnerlessPrivileged[i].Key < rep.OwnerlessPrivileged[j].Key })
	sort.Slice(rep.PendingReview, func(i, j int) bool { return rep.PendingReview[i].Account < rep.PendingReview[j].Account })
	return rep, nil
}

// pendingReview is the report line of service account r, which waits for
// review; hostNames caches host names by ID.
func pendingReview(tx store.Tx, v *view, r *saRecord, hostNames map[string]string) (PendingReview, error) {
	pr := PendingReview{Account: r.Key, Name: r.Name, Env: r.Group, Instances: r.Sum.Live, FirstSeen: r.FirstSeen,
		Established: []string{}, Hosts: []string{}}
	for _, g := range v.groups[r.Name] {
		if g != r.Group && !v.review[r.Name+"@"+g] {
			pr.Established = append(pr.Established, g)
		}
	}
	sort.Strings(pr.Established)
	err := tx.Scan(tSAInst, store.Prefix(r.Key), func(k, _ []byte) error {
		p := store.Split(k)
		var ir instRecord
		if ok, err := getInst(tx, store.Join(p[1], p[2]), &ir); err != nil || !ok || ir.GoneAt != nil {
			return err
		}
		name, ok := hostNames[p[1]]
		if !ok {
			var h hostRecord
			if _, err := getJSON(tx, tHosts, []byte(p[1]), &h); err != nil {
				return err
			}
			name, hostNames[p[1]] = h.Hostname, h.Hostname
		}
		pr.Hosts = append(pr.Hosts, name)
		if len(pr.Hosts) == maxReviewHosts {
			return store.ErrStop
		}
		return nil
	})
	if err != nil && err != store.ErrStop {
		return PendingReview{}, err
	}
	return pr, nil
}

// SharedCredentials lists every credential fingerprint held by more than
// one (host, account), most widely shared first.
func (inv *Inventory) SharedCredentials(ctx context.Context) ([]SharedCredential, error) {
	var out []SharedCredential
	err := inv.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = sharedCredentials(tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("shared credentials: %w", err)
	}
	return out, nil
}

func sharedCredentials(tx store.Tx) ([]SharedCredential, error) {
	var out []SharedCredential
	hostNames := map[string]string{}
	err := tx.Scan(tFPShared, nil, func(k, fpb []byte) error {
		fp := string(k)
		sc := SharedCredential{Fingerprint: string(fpb)}
		accts := map[string]bool{}
		err := tx.Scan(tFP, store.Prefix(fp), func(k, v []byte) error {
			p := store.Split(k)
			if len(p) != 3 {
				return fmt.Errorf("fp %q: corrupt key", k)
			}
			vp := store.Split(v)
			if len(vp) != 2 {
				return fmt.Errorf("fp %q: corrupt value", k)
			}
			sc.Type = vp[0]
			sc.HolderCount++
			accts[vp[1]] = true
			if len(sc.Holders) < maxHolders {
				name, ok := hostNames[p[1]]
				if !ok {
					var h hostRecord
					if _, err := getJSON(tx, tHosts, []byte(p[1]), &h); err != nil {
						return err
					}
					name = h.Hostname
					hostNames[p[1]] = name
				}
				sc.Holders = append(sc.Holders, Holder{Host: name, Account: p[2]})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for a := range accts {
			sc.Accounts = append(sc.Accounts, a)
		}
		sort.Strings(sc.Accounts)
		out = append(out, sc)
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].HolderCount > out[j].HolderCount })
	return out, err
}

// renewed reports whether a valid exception on the same account covers
// what expired exception e covered.
func renewed(e Exception, all []Exception, now time.Time) bool {
	for _, o := range all {
		if o.ID != e.ID && o.covers(e.Credential, now) {
			return true
		}
	}
	return false
}

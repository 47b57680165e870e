package inventory

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// view holds what summaries need beyond one saRecord: which service
// accounts hold a shared fingerprint, which names live in several groups,
// open exceptions, and lapsed certificates. Reports build one view for
// all accounts; single-account reads build a narrow one.
type view struct {
	now    time.Time
	shared map[string]bool // service account keys holding a shared fingerprint
	// groups maps an account name to its groups that an operator has not
	// confirmed as separate identities (see sharedAcrossEnvs).
	groups     map[string][]string
	exceptions map[string][]Exception
	lapsed     map[string]bool    // service account keys with a lapsed live certificate
	sharedList []SharedCredential // all shared credentials (full views only)
	// review holds the keys of groups waiting for review
	// (saRecord.waitsForReview): they do not make the other groups of
	// their name shared.
	review map[string]bool
}

// tierOf computes the tier and its reason.
func tierOf(r *saRecord) (Tier, string, bool) {
	if r.TierOverride != 0 {
		return r.TierOverride, "set by operator: " + r.TierReason, true
	}
	s := &r.Sum
	switch {
	case s.Priv > 0:
		return TierPrivileged, fmt.Sprintf("privileged on %d host(s), e.g. %s", s.Priv, s.PrivWhy), false
	case s.Listen > 0:
		return TierExternal, fmt.Sprintf("non-loopback listening socket on %d host(s), e.g. %s", s.Listen, s.ListenWhy), false
	case s.SSHExt > 0:
		return TierExternal, fmt.Sprintf("SSH key on %d host(s) tagged %s", s.SSHExt, TagExternal), false
	}
	if v, ok := tagValue(r.Tags, TagThirdPart); ok {
		return TierExternal, "used by third party " + v, false
	}
	if slices.Contains(r.Tags, TagCritical) {
		return TierCritical, "account tagged " + TagCritical, false
	}
	if s.Crit > 0 {
		return TierCritical, fmt.Sprintf("on %d host(s) tagged %s", s.Crit, TagCritical), false
	}
	if g := r.Registered; g != nil {
		return TierRest, registeredTierReason(r), false
	}
	return TierRest, "no privilege, exposure or critical tag found", false
}

// kindOf says whether the account is a person's (human) or an unused OS
// account (system): as an operator set it, else as the scan classed every
// live instance. over is true when an operator set it.
func kindOf(r *saRecord) (human, system, over bool) {
	switch r.KindOverride {
	case KindHuman:
		return true, false, true
	case KindSystem:
		return false, true, true
	case KindService:
		return false, false, true
	}
	s := &r.Sum
	return s.Live > 0 && s.Human == s.Live, s.Live > 0 && s.System == s.Live, false
}

// fromDirectory reports whether the account is of kind directory: no
// operator set its kind, and a directory scan found every live instance.
// A directory account is a service account in every count, tier and plan;
// the kind says where it lives.
func fromDirectory(r *saRecord) bool {
	return r.KindOverride == "" && r.Sum.Live > 0 && r.Sum.Directory == r.Sum.Live
}

// kindName names the kind kindOf gives.
func kindName(r *saRecord) string {
	switch human, system, _ := kindOf(r); {
	case human:
		return KindHuman
	case system:
		return KindSystem
	case fromDirectory(r):
		return KindDirectory
	}
	return KindService
}

// maxShortLived is the longest certificate lifetime counted as short-lived:
// one day, the longest the issuer's policy allows.
const maxShortLived = 24 * time.Hour

// certBackdate is how far the CA moves a certificate's NotBefore into the
// past against clock skew (ca.DefaultBackdate). It is not part of the
// lifetime an operator asked for: a 24-hour certificate spans 24h01m.
const certBackdate = time.Minute

// longLived reports whether c is valid for longer than maxShortLived,
// not counting the CA's backdate.
func longLived(c *CertState) bool {
	return c.NotAfter.Sub(c.NotBefore)-certBackdate > maxShortLived
}

// strengthOf is the account's level, its weakest live credential, and the
// credential that sets it (type and a location where one was found).
func strengthOf(r *saRecord, shared bool) (Strength, string) {
	s := &r.Sum
	by := func(l Strength, what string) (Strength, string) {
		if w := s.Where[l.Name()]; w != "" {
			return l, w
		}
		return l, what
	}
	switch {
	case shared:
		return StrengthSharedSecret, "a credential also held by other hosts or accounts (see shared credentials)"
	case s.Creds[scan.CredEmptyPassword] > 0:
		return by(StrengthEmptyPassword, scan.CredEmptyPassword)
	case s.Creds[scan.CredPassword] > 0:
		return by(StrengthStaticPassword, scan.CredPassword)
	case s.Creds[scan.CredSSHAuthorizedKey]+s.Creds[scan.CredSSHPrivateKey]-s.HW > 0:
		return by(StrengthStaticSSHKey, "ssh key")
	case s.Creds[scan.CredSecretFile]+s.Creds[scan.CredSecretEnv] > 0:
		return by(StrengthSecretFile, "secret file or environment")
	case s.LongCert > 0:
		return StrengthLongLivedCert, fmt.Sprintf("certificate valid longer than 24 h on %d instance(s)", s.LongCert)
	case s.Cert > 0:
		return StrengthShortLivedCert, fmt.Sprintf("certificate valid at most 24 h on %d instance(s)", s.Cert)
	case s.SSHCert > 0:
		// An SSH certificate login (a principals file under a trusted
		// user CA) is short-lived by how SSH CAs issue: roster's at most
		// 24 h. It is not a static credential.
		return by(StrengthShortLivedCert, scan.CredSSHCertificateLogin)
	case s.HW > 0:
		return by(StrengthHardwareBound, "FIDO security key")
	}
	return StrengthNone, ""
}

// covered reports whether valid exceptions cover every static credential
// type the account holds.
func covered(s *summary, excs []Exception, now time.Time) bool {
	if s.static() == 0 {
		return false
	}
	for t, n := range s.Creds {
		if n == 0 {
			continue
		}
		ok := false
		for _, e := range excs {
			if e.covers(t, now) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func statusOf(r *saRecord, v *view) Status {
	s := &r.Sum
	switch {
	case r.Retired:
		return StatusRetired
	case v.lapsed[r.Key]:
		return StatusLapsed
	// Every live instance is managed: by its X.509 certificate (a scan
	// after IssuedAt found no static credential left), or, without one,
	// by SSH certificates of our user CA with no static credential left
	// (contrib.SSHManaged). Enrolled: every instance has an X.509
	// certificate or is so managed.
	case s.Live > 0 && s.Cert+s.SSHManaged == s.Live && s.Managed+s.SSHManaged == s.Live:
		return StatusManaged
	case s.Live > 0 && s.Cert+s.SSHManaged == s.Live:
		return StatusEnrolled
	case s.static() > 0 && covered(s, v.exceptions[r.Key], v.now):
		return StatusException
	case s.static() > 0:
		return StatusStatic
	}
	return StatusNone
}

// sharedAcrossEnvs reports whether r's name lives in another group that
// no operator has told apart from r: r is not confirmed separate
// (Inventory.Split), and another group of the name is not either. A group
// confirmed separate, or split off, is its own identity, so it leaves the
// others unshared too: splitting the staging instance off billing-batch
// leaves billing-batch@prod alone in its name.
func (v *view) sharedAcrossEnvs(r *saRecord) bool {
	if r.waitsForReview() {
		// A name a scan found next to an identity in another group: shared
		// until an operator decides, without touching that identity.
		return true
	}
	n := 0
	for _, g := range v.groups[r.Name] {
		if !v.review[r.Name+"@"+g] {
			n++
		}
	}
	return !r.Separate && n > 1
}

func (v *view) summarize(r *saRecord) AccountSummary {
	r = r.effective()
	t, why, over := tierOf(r)
	st, by := strengthOf(r, v.shared[r.Key])
	if g := r.Registered; g != nil && g.Credential != 0 && g.Credential <= st {
		st, by = g.Credential, registeredBy(g)
	}
	purpose, from := r.Sum.Purpose.Text, r.Sum.Purpose.From
	if r.Purpose != "" {
		purpose, from = r.Purpose, PurposeFromOperator
	}
	name, group := r.Name, r.Group
	human, system, kindOver := kindOf(r)
	return AccountSummary{
		Purpose: purpose, PurposeFrom: from, Registered: r.Registered,
		Key: r.Key, Name: name, Env: group,
		Instances: r.Sum.Live, Owner: r.Owner,
		Tier: t, TierReason: why, TierOverride: over,
		Strength:         st,
		StrengthBy:       by,
		Status:           statusOf(r, v),
		Static:           r.Sum.static(),
		Privileged:       r.Sum.Priv > 0,
		SharedAcrossEnvs: v.sharedAcrossEnvs(r),
		PendingReview:    r.waitsForReview(),
		Retired:          r.Retired,
		Human:            human,
		System:           system,
		Directory:        fromDirectory(r),
		KindOverride:     kindOver,
		Tags:             r.Tags,
		FirstSeen:        r.FirstSeen,
		LastSeen:         r.LastSeen,
	}
}

// loadView builds the view for the given records (all of them when all is
// set, which scans the shared-fingerprint and certificate tables once).
func loadView(tx store.Tx, now time.Time, recs []*saRecord, all bool) (*view, error) {
	v := &view{now: now, shared: map[string]bool{}, groups: map[string][]string{},
		exceptions: map[string][]Exception{}, lapsed: map[string]bool{}, review: map[string]bool{}}
	want := map[string]bool{}
	names := map[string]bool{}
	for _, r := range recs {
		want[r.Key] = true
		names[r.Name] = true
	}
	noteReview := func(r *saRecord) {
		if r.waitsForReview() {
			v.review[r.Key] = true
		}
	}
	// Groups per name: for a full view from recs, else by prefix scan.
	if all {
		for _, r := range recs {
			if (r.Sum.Live > 0 || r.Retired) && !r.Separate {
				v.groups[r.Name] = append(v.groups[r.Name], r.Group)
			}
		}
	} else {
		for n := range names {
			g, err := groupsOf(tx, n, noteReview)
			if err != nil {
				return nil, err
			}
			v.groups[n] = g
		}
	}
	if all {
		for _, r := range recs {
			noteReview(r)
		}
	}
	// Exceptions.
	if err := tx.Scan(tExc, nil, func(k, b []byte) error {
		var e Exception
		if err := jsonUnmarshal(tExc, k, b, &e); err != nil {
			return err
		}
		if all || want[e.Account] {
			v.exceptions[e.Account] = append(v.exceptions[e.Account], e)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if all {
		// Shared fingerprints and lapsed certificates, from their indexes.
		var err error
		if v.sharedList, err = sharedCredentials(tx); err != nil {
			return nil, err
		}
		for _, sc := range v.sharedList {
			for _, a := range sc.Accounts {
				v.shared[a] = true
			}
		}
		if err := tx.Scan(tCertIdx, nil, func(k, b []byte) error {
			var c CertState
			if err := jsonUnmarshal(tCertIdx, k, b, &c); err != nil {
				return err
			}
			if c.RevokedAt != nil || now.Before(c.NotAfter) {
				return nil
			}
			sa, err := saOf(tx, k)
			v.lapsed[string(sa)] = true
			return err
		}); err != nil {
			return nil, err
		}
		return v, nil
	}
	// A few accounts: from their instances.
	for _, r := range recs {
		if err := tx.Scan(tSAInst, store.Prefix(r.Key), func(k, _ []byte) error {
			p := store.Split(k)
			var ir instRecord
			if ok, err := getInst(tx, store.Join(p[1], p[2]), &ir); err != nil || !ok || ir.GoneAt != nil {
				return err
			}
			if c := ir.Cert; c != nil && c.RevokedAt == nil && !now.Before(c.NotAfter) {
				v.lapsed[r.Key] = true
			}
			if v.shared[r.Key] {
				return nil
			}
			for _, c := range ir.Creds {
				if sh, err := isShared(tx, c.FP); err != nil {
					return err
				} else if sh {
					v.shared[r.Key] = true
					break
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// resolveAccount turns NAME or NAME@GROUP into a service account record.
// NAME alone must match exactly one group.
func resolveAccount(tx store.Tx, name string) (*saRecord, error) {
	if name == "" {
		return nil, &InvalidError{Field: "account", Reason: "missing"}
	}
	var r saRecord
	if strings.Contains(name, "@") {
		ok, err := getJSON(tx, tSA, []byte(name), &r)
		if err != nil {
			return nil, err
		}
		if ok {
			return &r, nil
		}
	}
	var found []saRecord
	if err := tx.Scan(tSA, []byte(name+"@"), func(k, b []byte) error {
		var o saRecord
		if err := jsonUnmarshal(tSA, k, b, &o); err != nil {
			return err
		}
		if o.Name == name {
			found = append(found, o)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// Prefer groups with live instances when the name is ambiguous.
	if len(found) > 1 {
		var live []saRecord
		for _, o := range found {
			if o.present() {
				live = append(live, o)
			}
		}
		if len(live) >= 1 {
			found = live
		}
	}
	switch len(found) {
	case 0:
		return nil, notFound(tx, name)
	case 1:
		return &found[0], nil
	}
	return nil, ambiguous(name, found)
}

// groupsOf lists the groups (environments) in which account name has live
// instances or is retired, leaving out those confirmed as separate
// identities. each, when not nil, sees every record scanned.
func groupsOf(tx store.Tx, name string, each func(*saRecord)) ([]string, error) {
	var groups []string
	err := tx.Scan(tSA, []byte(name+"@"), func(k, b []byte) error {
		var o saRecord
		if err := jsonUnmarshal(tSA, k, b, &o); err != nil {
			return err
		}
		if each != nil {
			each(&o)
		}
		if o.Name == name && (o.Sum.Live > 0 || o.Retired) && !o.Separate {
			groups = append(groups, o.Group)
		}
		return nil
	})
	return groups, err
}

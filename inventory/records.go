package inventory

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// Stored records. They are JSON so that a store can be read with standard
// tools; the public types in model.go are built from them.

type hostRecord struct {
	Host
	// Bound is the host identity (certificate) this record is bound to,
	// from the host's enrollment on: a report sent with that certificate
	// may change this record and no other (see checkSubmitter).
	Bound *hostBinding `json:"bound,omitempty"`
	// Received is the server's clock when it received the newest report
	// ingested: scans are ordered by it, not by the host's scanned_at.
	Received time.Time `json:"received,omitzero"`
}

// hostBinding ties a host identity to a host record: Name is the host ID
// in the certificate (spiffe://TD/host/NAME), Hostname and MachineID what
// the record said when the identity was enrolled (or an operator moved the
// host since).
type hostBinding struct {
	Name      string    `json:"name"`
	Hostname  string    `json:"hostname"`
	MachineID string    `json:"machine_id,omitempty"`
	At        time.Time `json:"at"`
}

// instRecord is the small part of an instance that ingest and reports read;
// the scan data rides along in Data (see putInst).
type instRecord struct {
	Account string `json:"account"`
	// SA is the key of the service account the instance belongs to.
	SA        string    `json:"-"`
	FirstSeen time.Time `json:"first_seen"`
	// LastSeen is kept up to date only when the instance goes: while it is
	// live, it was seen at the host's last scan.
	LastSeen time.Time  `json:"last_seen"`
	GoneAt   *time.Time `json:"gone_at,omitempty"`
	Digest   string     `json:"digest"`
	Facts    facts      `json:"facts"`
	Creds    []credRef  `json:"creds,omitempty"`
	Cert     *CertState `json:"cert,omitempty"`
	// Data is the scan.Account JSON of the latest scan.
	Data []byte `json:"-"`
}

// facts are what tiers, strengths and statuses need from one scan.Account.
type facts struct {
	Priv      bool   `json:"priv,omitempty"`
	PrivWhy   string `json:"priv_why,omitempty"`
	Listen    bool   `json:"listen,omitempty"`
	ListenWhy string `json:"listen_why,omitempty"`
	SSHKeys   int    `json:"ssh_keys,omitempty"`
	HW        int    `json:"hw,omitempty"` // hardware-bound (FIDO sk-) authorized keys, also counted in Creds
	// SSHCert is set when the account logs in with SSH certificates
	// (scan.Account.SSHCertLogin: a principals file under a trusted user
	// CA); SSHOurs when one of those CAs is ours (Options.SSHUserCAFingerprints,
	// or any CA when that list is empty). Neither is a static credential.
	SSHCert bool `json:"ssh_cert,omitempty"`
	SSHOurs bool `json:"ssh_ours,omitempty"`
	// Where names, per strength level (machine name), the first credential
	// that puts the instance at that level: "TYPE at LOCATION".
	Where  map[string]string `json:"where,omitempty"`
	Creds  map[string]int    `json:"creds,omitempty"`  // static credentials by type
	Human  bool              `json:"human,omitempty"`  // scan kind "human"
	System bool              `json:"system,omitempty"` // scan kind "system": unused, no credential
	// Directory is set for scan kind "directory": an account of a
	// directory (the instance's host is the domain), a service account.
	Directory bool `json:"directory,omitempty"`
	// Purpose is the prefilled purpose (purposeOf): Text, and From where
	// it was read ("passwd gecos", "unit NAME").
	Purpose purposeNote `json:"purpose,omitzero"`
}

type credRef struct {
	FP   string `json:"fp"`
	Type string `json:"type"`
	Loc  string `json:"loc,omitempty"`
	// key is fpKey(FP) when already computed (prepare does it outside the
	// transaction); not stored.
	key string
}

// indexKey is the fingerprint index key of c.
func (c *credRef) indexKey() string {
	if c.key == "" {
		c.key = fpKey(c.FP)
	}
	return c.key
}

// contrib is one live instance's share of its service account's summary.
type contrib struct {
	Live, Priv, Listen, SSHExt, Crit, Cert, Managed, LongCert, Human, System, Directory, HW int
	// SSHCert: the instance logs in with SSH certificates; SSHManaged:
	// it has no live X.509 certificate, logs in with certificates of our
	// SSH user CA and holds no static credential (see statusOf).
	SSHCert, SSHManaged int
	PrivWhy, ListenWhy  string
	Creds               map[string]int
	// Where is Facts.Where with the host: "TYPE at LOCATION on HOST".
	Where map[string]string
	// Purpose is Facts.Purpose with the host in From.
	Purpose purposeNote
}

// certCounts is the part of c that an instance's certificate decides.
func (c contrib) certCounts() [3]int { return [3]int{c.Cert, c.Managed, c.LongCert} }

// summary is the running total of contribs of a service account's live
// instances, kept up to date by every write that changes an instance.
type summary struct {
	Live      int    `json:"live"`
	Priv      int    `json:"priv,omitempty"`
	PrivWhy   string `json:"priv_why,omitempty"`
	Listen    int    `json:"listen,omitempty"`
	ListenWhy string `json:"listen_why,omitempty"`
	SSHExt    int    `json:"ssh_ext,omitempty"`
	Crit      int    `json:"crit,omitempty"`
	Cert      int    `json:"cert,omitempty"`
	Managed   int    `json:"managed,omitempty"`
	LongCert  int    `json:"long_cert,omitempty"`
	HW        int    `json:"hw,omitempty"` // live hardware-bound (FIDO sk-) keys
	// SSHCert counts live instances that log in with SSH certificates,
	// SSHManaged those of them managed by SSH certificates alone (contrib).
	SSHCert    int `json:"ssh_cert,omitempty"`
	SSHManaged int `json:"ssh_managed,omitempty"`
	// Where names, per strength level, a credential of a live instance at
	// that level (contrib.Where); it may be missing where the instance that
	// gave it went while others stay.
	Where  map[string]string `json:"where,omitempty"`
	Human  int               `json:"human,omitempty"`  // live instances the scanner classed as a person's account
	System int               `json:"system,omitempty"` // live instances the scanner classed as unused OS accounts
	// Directory counts live instances found in a directory (scan kind
	// "directory").
	Directory int            `json:"directory,omitempty"`
	Creds     map[string]int `json:"creds,omitempty"`
	// Purpose is the prefilled purpose of a live instance (the first one
	// that had one); like Where it may be missing where the instance that
	// gave it went while others stay, until their next change.
	Purpose purposeNote `json:"purpose,omitzero"`
}

type saRecord struct {
	Key          string   `json:"key"`
	Name         string   `json:"name"`
	Group        string   `json:"group"`
	Owner        *Owner   `json:"owner,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	TierOverride Tier     `json:"tier_override,omitempty"`
	TierReason   string   `json:"tier_reason,omitempty"`
	// KindOverride is the kind an operator set (roster account kind):
	// KindService, KindHuman or KindSystem; "" keeps the scan's kinds.
	KindOverride string    `json:"kind_override,omitempty"`
	Retired      bool      `json:"retired,omitempty"`
	Separate     bool      `json:"separate,omitempty"` // operator split: not shared across envs
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	Sum          summary   `json:"sum"`

	// Registered is set for an account an operator registered (roster
	// account add): on a system no scan reaches, with no instances
	// (registered.go).
	Registered *Registration `json:"registered,omitempty"`
	// Purpose is what the account is for, as an operator set it; it wins
	// over the prefilled Sum.Purpose.
	Purpose string `json:"purpose,omitempty"`

	// Review is set when a scan first found the name in this group while
	// it already lived in another: the group waits for an operator to
	// confirm it as a separate identity or merge it (see view.pendingReview).
	Review bool `json:"review,omitempty"`
}

// waitsForReview reports whether the group waits for an operator to tell
// it apart from, or join it to, the other groups of its name.
func (r *saRecord) waitsForReview() bool { return r.Review && !r.Separate }

// factsOf extracts the facts of one scanned account, counting any
// trusted SSH user CA as ours.
func factsOf(a *scan.Account) (facts, []credRef) { return factsWith(a, nil) }

// factsWith extracts the facts of one scanned account; ourCAs are the
// SHA256 fingerprints of our SSH user CA keys (none: any CA is ours).
func factsWith(a *scan.Account, ourCAs []string) (facts, []credRef) {
	f := facts{Human: a.Kind == scan.KindHuman, System: a.Kind == scan.KindSystem, Directory: a.Kind == scan.KindDirectory, Purpose: purposeOf(a)}
	if l := a.SSHCertLogin; l != nil && len(l.Principals) > 0 && len(l.CAFingerprints) > 0 {
		f.SSHCert = true
		f.SSHOurs = len(ourCAs) == 0
		for _, fp := range l.CAFingerprints {
			f.SSHOurs = f.SSHOurs || slices.Contains(ourCAs, fp)
		}
		lvl := StrengthShortLivedCert.Name()
		if f.Where == nil {
			f.Where = map[string]string{}
		}
		f.Where[lvl] = scan.CredSSHCertificateLogin + " at " + l.PrincipalsFile
	}
	if a.Privileged {
		f.Priv = true
		f.PrivWhy = "privileged"
		if len(a.PrivilegeReasons) > 0 {
			f.PrivWhy = a.PrivilegeReasons[0]
		} else if a.UID == 0 {
			f.PrivWhy = "uid 0"
		}
	}
	for _, s := range a.Exposure.Listening {
		if !s.Loopback {
			f.Listen = true
			f.ListenWhy = fmt.Sprintf("listens on %s %s:%d", s.Proto, s.Address, s.Port)
			break
		}
	}
	var refs []credRef
	for _, c := range a.Credentials {
		if f.Creds == nil {
			f.Creds = map[string]int{}
		}
		f.Creds[c.Type]++
		if c.Type == scan.CredSSHAuthorizedKey || c.Type == scan.CredSSHPrivateKey {
			f.SSHKeys++
		}
		level := credLevel(c.Type)
		if c.Type == scan.CredSSHAuthorizedKey && scan.IsFIDOKey(c.Algorithm) {
			f.HW++
			level = StrengthHardwareBound
		}
		if n := level.Name(); n != "" && f.Where[n] == "" && c.Location != "" {
			if f.Where == nil {
				f.Where = map[string]string{}
			}
			what := c.Type
			if level == StrengthHardwareBound {
				what = c.Algorithm + " key"
			}
			f.Where[n] = what + " at " + c.Location
		}
		if c.Fingerprint != "" {
			refs = append(refs, credRef{FP: c.Fingerprint, Type: c.Type, Loc: c.Location})
		}
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].FP != refs[j].FP {
			return refs[i].FP < refs[j].FP
		}
		return refs[i].Loc < refs[j].Loc
	})
	return f, refs
}

// credLevel is the strength level of a static credential of type t, not
// counting sharing or FIDO keys (factsOf sees those); 0 for an unknown type.
func credLevel(t string) Strength {
	switch t {
	case scan.CredEmptyPassword:
		return StrengthEmptyPassword
	case scan.CredPassword:
		return StrengthStaticPassword
	case scan.CredSSHAuthorizedKey, scan.CredSSHPrivateKey:
		return StrengthStaticSSHKey
	case scan.CredSecretFile, scan.CredSecretEnv:
		return StrengthSecretFile
	}
	return 0
}

// contribOf is the share of a live instance on host h.
func contribOf(r *instRecord, h *Host) contrib {
	if r == nil || r.GoneAt != nil {
		return contrib{}
	}
	c := contrib{Live: 1, Creds: r.Facts.Creds, HW: r.Facts.HW}
	if r.Facts.SSHCert {
		c.SSHCert = 1
	}
	if p := r.Facts.Purpose; p.Text != "" {
		c.Purpose = purposeNote{Text: p.Text, From: p.From + " on " + h.Hostname}
	}
	for lvl, w := range r.Facts.Where {
		if c.Where == nil {
			c.Where = map[string]string{}
		}
		c.Where[lvl] = w + " on " + h.Hostname
	}
	if r.Facts.Human {
		c.Human = 1
	}
	if r.Facts.System {
		c.System = 1
	}
	if r.Facts.Directory {
		c.Directory = 1
	}
	if r.Facts.Priv {
		c.Priv, c.PrivWhy = 1, h.Hostname+": "+r.Facts.PrivWhy
	}
	if r.Facts.Listen {
		c.Listen, c.ListenWhy = 1, h.Hostname+": "+r.Facts.ListenWhy
	}
	if r.Facts.SSHKeys > 0 && slices.Contains(h.Tags, TagExternal) {
		c.SSHExt = 1
	}
	if slices.Contains(h.Tags, TagCritical) {
		c.Crit = 1
	}
	if r.Cert != nil && r.Cert.RevokedAt == nil {
		c.Cert = 1
		if r.Cert.Managed {
			c.Managed = 1
		}
		if longLived(r.Cert) {
			c.LongCert = 1
		}
	}
	// Managed by SSH certificates: no live X.509 certificate (that one
	// decides when there is one), our CA, nothing static left.
	if c.Cert == 0 && r.Facts.SSHOurs && len(r.Facts.Creds) == 0 {
		c.SSHManaged = 1
	}
	return c
}

// add adds sign*c to the summary.
func (s *summary) add(c contrib, sign int) {
	s.Live += sign * c.Live
	s.Priv += sign * c.Priv
	s.Listen += sign * c.Listen
	s.SSHExt += sign * c.SSHExt
	s.Crit += sign * c.Crit
	s.Cert += sign * c.Cert
	s.Managed += sign * c.Managed
	s.LongCert += sign * c.LongCert
	s.Human += sign * c.Human
	s.System += sign * c.System
	s.Directory += sign * c.Directory
	s.HW += sign * c.HW
	s.SSHCert += sign * c.SSHCert
	s.SSHManaged += sign * c.SSHManaged
	for lvl, w := range c.Where {
		switch {
		case sign > 0 && s.Where[lvl] == "":
			if s.Where == nil {
				s.Where = map[string]string{}
			}
			s.Where[lvl] = w
		case sign < 0 && s.Where[lvl] == w:
			delete(s.Where, lvl)
		}
	}
	switch {
	case c.Purpose.Text == "":
	case sign > 0 && s.Purpose.Text == "":
		s.Purpose = c.Purpose
	case sign < 0 && s.Purpose == c.Purpose:
		s.Purpose = purposeNote{}
	}
	if sign > 0 {
		if c.PrivWhy != "" && s.PrivWhy == "" {
			s.PrivWhy = c.PrivWhy
		}
		if c.ListenWhy != "" && s.ListenWhy == "" {
			s.ListenWhy = c.ListenWhy
		}
	}
	if s.Priv == 0 {
		s.PrivWhy = ""
	}
	if s.Listen == 0 {
		s.ListenWhy = ""
	}
	for t, n := range c.Creds {
		if s.Creds == nil {
			s.Creds = map[string]int{}
		}
		s.Creds[t] += sign * n
		if s.Creds[t] == 0 {
			delete(s.Creds, t)
		}
	}
}

// static counts the summary's static credentials.
func (s *summary) static() int {
	n := 0
	for _, v := range s.Creds {
		n += v
	}
	return n
}

func tagValue(tags []string, prefix string) (string, bool) {
	for _, x := range tags {
		if v, ok := strings.CutPrefix(x, prefix); ok {
			return v, true
		}
	}
	return "", false
}

func envOf(tags []string) string {
	if v, ok := tagValue(tags, TagEnvPrefix); ok && v != "" {
		return v
	}
	return DefaultEnv
}

func getJSON(tx store.Tx, table string, key []byte, v any) (bool, error) {
	b, err := tx.Get(table, key)
	if err != nil || b == nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s %q: corrupt record: %w", table, key, err)
	}
	return true, nil
}

func putJSON(tx store.Tx, table string, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s %q: %w", table, key, err)
	}
	return tx.Put(table, key, b)
}

func jsonUnmarshal(table string, key, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s %q: corrupt record: %w", table, key, err)
	}
	return nil
}

// Instance records are stored as uvarint(len(sa)) || service account key
// || uvarint(len(meta)) || meta JSON || scan data JSON, so that readers
// needing only the state skip the data, and ingest can encode a new
// instance's meta before it knows its service account.

func decodeInst(k, b []byte, r *instRecord) error {
	bad := fmt.Errorf("%s %q: corrupt record framing", tInst, k)
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return bad
	}
	sa := string(b[w : w+int(n)])
	b = b[w+int(n):]
	if n, w = binary.Uvarint(b); w <= 0 || uint64(len(b)-w) < n {
		return bad
	}
	if err := json.Unmarshal(b[w:w+int(n)], r); err != nil {
		return fmt.Errorf("%s %q: corrupt record: %w", tInst, k, err)
	}
	r.SA, r.Data = sa, b[w+int(n):]
	return nil
}

func frameInst(sa string, meta, data []byte) []byte {
	b := make([]byte, 0, 2*binary.MaxVarintLen64+len(sa)+len(meta)+len(data))
	b = binary.AppendUvarint(b, uint64(len(sa)))
	b = append(b, sa...)
	b = binary.AppendUvarint(b, uint64(len(meta)))
	b = append(b, meta...)
	return append(b, data...)
}

func getInst(tx store.Tx, k []byte, r *instRecord) (bool, error) {
	b, err := tx.Get(tInst, k)
	if err != nil || b == nil {
		return false, err
	}
	return true, decodeInst(k, b, r)
}

// findInst reads the instance of account on host h: its key and record, or
// an error wrapping ErrNotFound.
func findInst(tx store.Tx, h *hostRecord, account string) ([]byte, *instRecord, error) {
	k := store.Join(h.ID, account)
	var ir instRecord
	ok, err := getInst(tx, k, &ir)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("account %s on host %s: %w", account, h.Hostname, ErrNotFound)
	}
	return k, &ir, nil
}

func putInst(tx store.Tx, k []byte, r *instRecord) error {
	meta, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("%s %q: %w", tInst, k, err)
	}
	return tx.Put(tInst, k, frameInst(r.SA, meta, r.Data))
}

// saOf returns the service account key of instance k, or nil.
func saOf(tx store.Tx, k []byte) ([]byte, error) {
	var r instRecord
	if ok, err := getInst(tx, k, &r); err != nil || !ok {
		return nil, err
	}
	return []byte(r.SA), nil
}

package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// prepared is a validated report with each account encoded once, outside
// the transaction, so the group-commit goroutine only moves bytes.
type prepared struct {
	r     *scan.Report
	data  [][]byte
	sums  []string
	facts []facts
	refs  [][]credRef
	meta  [][]byte // instRecord JSON for the account as a new instance
}

func prepare(r *scan.Report) (*prepared, error) {
	if r == nil {
		return nil, &scan.ValidationError{Field: "report", Reason: "missing"}
	}
	if err := scan.Validate(r); err != nil {
		return nil, err
	}
	n := len(r.Accounts)
	p := &prepared{r: r, data: make([][]byte, n), sums: make([]string, n), facts: make([]facts, n), refs: make([][]credRef, n), meta: make([][]byte, n)}
	at := r.Host.ScannedAt.UTC()
	for i := range r.Accounts {
		b, err := json.Marshal(&r.Accounts[i])
		if err != nil {
			return nil, fmt.Errorf("accounts[%d]: %w", i, err)
		}
		s := sha256.Sum256(b)
		p.data[i], p.sums[i] = b, hex.EncodeToString(s[:16])
		p.facts[i], p.refs[i] = factsOf(&r.Accounts[i])
		p.meta[i], err = json.Marshal(&instRecord{Account: r.Accounts[i].Name, FirstSeen: at, LastSeen: at,
			Digest: p.sums[i], Facts: p.facts[i], Creds: p.refs[i]})
		if err != nil {
			return nil, fmt.Errorf("accounts[%d]: %w", i, err)
		}
	}
	return p, nil
}

// Ingest merges one scan report into the inventory, in one transaction:
// the host is found by machine-id (else hostname) or created, each account
// becomes or updates an instance, instances and credentials the report no
// longer lists are marked gone, and every change is a history event.
//
// Ingest is idempotent: a report whose scanned_at equals the host's last
// scan changes nothing (Unchanged), and an older one is ignored (Stale).
// Concurrent calls share transactions (group commit); Ingest returns only
// after its report is durably committed or refused. A report that fails
// validation returns a *scan.ValidationError and writes nothing.
func (inv *Inventory) Ingest(ctx context.Context, r *scan.Report) (IngestResult, error) {
	p, err := prepare(r)
	if err != nil {
		return IngestResult{}, err
	}
	var res IngestResult
	err = inv.group.Update(ctx, func(tx store.Tx) error {
		res = IngestResult{}
		return ingestTx(tx, p, &res)
	})
	if err != nil {
		return IngestResult{}, fmt.Errorf("ingest report of %s: %w", r.Host.Hostname, err)
	}
	return res, nil
}

// resolveHost finds the host a report is about, or returns a new record.
func resolveHost(tx store.Tx, h *scan.Host) (*hostRecord, bool, error) {
	var id []byte
	var err error
	if h.MachineID != "" {
		if id, err = tx.Get(tHostMID, []byte(h.MachineID)); err != nil {
			return nil, false, err
		}
	}
	if id == nil {
		byName, err := tx.Get(tHostName, []byte(h.Hostname))
		if err != nil {
			return nil, false, err
		}
		if byName != nil {
			var cand hostRecord
			if ok, err := getJSON(tx, tHosts, byName, &cand); err != nil {
				return nil, false, err
			} else if ok && (cand.MachineID == "" || h.MachineID == "" || cand.MachineID == h.MachineID) {
				id = byName
			}
		}
	}
	if id != nil {
		var hr hostRecord
		ok, err := getJSON(tx, tHosts, id, &hr)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, false, fmt.Errorf("host index points to missing host %s", id)
		}
		return &hr, false, nil
	}
	n, err := store.NextSeq(tx, "host")
	if err != nil {
		return nil, false, err
	}
	return &hostRecord{Host: Host{ID: hostIDString(n), Env: DefaultEnv}}, true, nil
}

// txState caches the service account records one write touches, and
// numbers its history events. Inside a group-commit batch the cache is the
// batch's, so a record is decoded and encoded once per batch, not once per
// report.
type txState struct {
	tx      store.Tx
	sas     map[string]*saRecord
	inBatch bool
	ev      int
	seq     uint64
	seqSet  bool
}

func newTxState(tx store.Tx) *txState {
	if b, ok := tx.(*batchTx); ok {
		return &txState{tx: tx, sas: b.sas, inBatch: true}
	}
	return &txState{tx: tx, sas: map[string]*saRecord{}}
}

// sa loads (or creates in memory) a service account record.
func (s *txState) sa(key string) (*saRecord, error) {
	if r, ok := s.sas[key]; ok {
		return r, nil
	}
	var r saRecord
	ok, err := getJSON(s.tx, tSA, []byte(key), &r)
	if err != nil {
		return nil, err
	}
	if !ok {
		name, group := splitKey(key)
		r = saRecord{Key: key, Name: name, Group: group}
	}
	s.sas[key] = &r
	return &r, nil
}

func (s *txState) event(e Event) error {
	if !s.seqSet {
		v, err := s.tx.Get(store.MetaTable, []byte("seq/event"))
		if err != nil {
			return err
		}
		if len(v) == 8 {
			s.seq = binary.BigEndian.Uint64(v)
		}
		s.seqSet = true
	}
	s.seq++
	s.ev++
	return putJSON(s.tx, tHistory, append(store.Prefix(e.Account), store.U64(s.seq)...), e)
}

// flush writes the event counter and, outside a batch, the touched
// records (a batch writes its records once, at its end).
func (s *txState) flush() error {
	if s.seqSet {
		if err := s.tx.Put(store.MetaTable, []byte("seq/event"), store.U64(s.seq)); err != nil {
			return err
		}
	}
	if s.inBatch {
		return nil
	}
	return flushSAs(s.tx, s.sas)
}

// groupOf is the service account key of account on host h.
func groupOf(tx store.Tx, h *Host, account string) (string, error) {
	g, err := tx.Get(tGrouping, store.Join(h.ID, account))
	if err != nil {
		return "", err
	}
	if g != nil {
		return account + "@" + string(g), nil
	}
	return account + "@" + h.Env, nil
}

func ingestTx(tx store.Tx, p *prepared, res *IngestResult) error {
	r := p.r
	at := r.Host.ScannedAt.UTC()
	hr, isNew, err := resolveHost(tx, &r.Host)
	if err != nil {
		return err
	}
	res.HostID, res.Hostname, res.Accounts = hr.ID, r.Host.Hostname, len(r.Accounts)
	if !isNew && !hr.LastScan.IsZero() {
		if at.Equal(hr.LastScan) {
			res.Unchanged = true
			return nil
		}
		if at.Before(hr.LastScan) {
			res.Stale = true
			return nil
		}
	}
	prevScan := hr.LastScan
	// Host record and indexes.
	if hr.FirstSeen.IsZero() {
		hr.FirstSeen = at
	}
	if hr.Hostname != r.Host.Hostname {
		if hr.Hostname != "" {
			if old, _ := tx.Get(tHostName, []byte(hr.Hostname)); string(old) == hr.ID {
				if err := tx.Delete(tHostName, []byte(hr.Hostname)); err != nil {
					return err
				}
			}
		}
		hr.Hostname = r.Host.Hostname
	}
	if err := tx.Put(tHostName, []byte(hr.Hostname), []byte(hr.ID)); err != nil {
		return err
	}
	if r.Host.MachineID != "" && hr.MachineID != r.Host.MachineID {
		hr.MachineID = r.Host.MachineID
	}
	if hr.MachineID != "" {
		if err := tx.Put(tHostMID, []byte(hr.MachineID), []byte(hr.ID)); err != nil {
			return err
		}
	}
	hr.OS = r.Host.OS
	hr.LastSeen, hr.LastScan = at, at
	if hr.Env == "" {
		hr.Env = envOf(hr.Tags)
	}
	h := &hr.Host

	// Existing instances of the host.
	old := map[string]*instRecord{}
	if err := tx.Scan(tInst, store.Prefix(h.ID), func(k, v []byte) error {
		var ir instRecord
		if err := decodeInst(k, v, &ir); err != nil {
			return err
		}
		old[ir.Account] = &ir
		return nil
	}); err != nil {
		return err
	}

	st := newTxState(tx)
	seen := make(map[string]bool, len(r.Accounts))
	for i := range r.Accounts {
		a := &r.Accounts[i]
		seen[a.Name] = true
		if err := ingestAccount(st, h, a, p, i, old[a.Name], at, res); err != nil {
			return fmt.Errorf("account %s: %w", a.Name, err)
		}
	}
	// Instances the report no longer lists.
	goneNames := make([]string, 0)
	for name, ir := range old {
		if !seen[name] && ir.GoneAt == nil {
			goneNames = append(goneNames, name)
		}
	}
	sort.Strings(goneNames)
	for _, name := range goneNames {
		if err := markGone(st, h, old[name], at, prevScan, res); err != nil {
			return fmt.Errorf("account %s: %w", name, err)
		}
	}
	h.Accounts = len(r.Accounts) // names are unique (scan.Validate)
	if err := putJSON(tx, tHosts, []byte(h.ID), hr); err != nil {
		return err
	}
	res.Events = st.ev
	return st.flush()
}

func ingestAccount(st *txState, h *Host, a *scan.Account, p *prepared, i int, prev *instRecord, at time.Time, res *IngestResult) error {
	tx := st.tx
	data, digest, f, refs := p.data[i], p.sums[i], p.facts[i], p.refs[i]
	ikey := store.Join(h.ID, a.Name)
	// An instance stays in its service account; only host tags, Split and
	// Merge move it.
	var saKey string
	if prev != nil {
		saKey = prev.SA
	} else {
		var err error
		if saKey, err = groupOf(tx, h, a.Name); err != nil {
			return err
		}
	}
	sa, err := st.sa(saKey)
	if err != nil {
		return err
	}
	cur := &instRecord{Account: a.Name, SA: saKey, FirstSeen: at, LastSeen: at, Digest: digest, Facts: f, Creds: refs, Data: data}
	var oldC contrib
	if prev != nil {
		cur.FirstSeen, cur.Cert = prev.FirstSeen, prev.Cert
		oldC = contribOf(prev, h)
	}
	// Managed: a scan after issuance finds no static credential left.
	if c := cur.Cert; c != nil && c.RevokedAt == nil && !c.Managed && at.After(c.IssuedAt) && len(a.Credentials) == 0 {
		c2 := *c
		c2.Managed = true
		cur.Cert = &c2
		if err := st.event(Event{Time: at, Account: saKey, Kind: EventStatusChanged, Host: h.Hostname,
			Detail: "managed: no static credential left after enrollment"}); err != nil {
			return err
		}
	}
	sa.Sum.add(oldC, -1)
	sa.Sum.add(contribOf(cur, h), +1)
	if sa.FirstSeen.IsZero() {
		sa.FirstSeen = at
	}
	if at.After(sa.LastSeen) {
		sa.LastSeen = at
	}

	switch {
	case prev == nil:
		// The first appearance is not stored as an event: AccountHistory
		// derives it from the instance's first_seen.
		res.AccountsNew++
		res.CredentialsNew += len(a.Credentials)
		st.ev++
		if err := tx.Put(tSAInst, store.Join(saKey, h.ID, a.Name), nil); err != nil {
			return err
		}
	case prev.GoneAt != nil:
		res.AccountsNew++
		if err := st.event(Event{Time: at, Account: saKey, Kind: EventAccountAppeared, Host: h.Hostname,
			Detail: "returned after being gone since " + prev.GoneAt.Format(time.RFC3339)}); err != nil {
			return err
		}
		if c := cur.Cert; c != nil && c.RevokedAt == nil {
			if err := putJSON(tx, tCertIdx, ikey, c); err != nil {
				return err
			}
		}
	}
	// Credentials appeared and gone, by (fingerprint, location).
	var prevRefs []credRef
	if prev != nil && prev.GoneAt == nil {
		prevRefs = prev.Creds
	}
	added, removed := diffRefs(prevRefs, refs)
	if prev != nil && prev.GoneAt == nil {
		for _, c := range added {
			res.CredentialsNew++
			if err := st.event(Event{Time: at, Account: saKey, Kind: EventCredentialAppeared, Host: h.Hostname,
				Detail: c.Type + " at " + c.Loc}); err != nil {
				return err
			}
		}
		for _, c := range removed {
			res.CredentialsGone++
			if err := st.event(Event{Time: at, Account: saKey, Kind: EventCredentialGone, Host: h.Hostname,
				Detail: c.Type + " at " + c.Loc}); err != nil {
				return err
			}
		}
	}
	if err := updateFPIndex(tx, h.ID, a.Name, saKey, prevRefs, refs); err != nil {
		return err
	}
	if prev != nil && prev.Cert != cur.Cert && cur.Cert != nil {
		if err := putJSON(tx, tCertIdx, ikey, cur.Cert); err != nil {
			return err
		}
	}
	switch {
	case prev == nil:
		return tx.Put(tInst, ikey, frameInst(saKey, p.meta[i], data))
	case prev.GoneAt == nil && prev.Digest == digest && prev.Cert == cur.Cert:
		return nil // unchanged: last_seen follows the host's last scan
	}
	return putInst(tx, ikey, cur)
}

func markGone(st *txState, h *Host, ir *instRecord, at, prevScan time.Time, res *IngestResult) error {
	tx := st.tx
	ikey := store.Join(h.ID, ir.Account)
	saKey := ir.SA
	sa, err := st.sa(saKey)
	if err != nil {
		return err
	}
	sa.Sum.add(contribOf(ir, h), -1)
	if err := updateFPIndex(tx, h.ID, ir.Account, saKey, ir.Creds, nil); err != nil {
		return err
	}
	if err := tx.Delete(tCertIdx, ikey); err != nil {
		return err
	}
	t := at
	ir.GoneAt = &t
	ir.LastSeen = prevScan
	res.AccountsGone++
	res.CredentialsGone += len(ir.Creds)
	if err := st.event(Event{Time: at, Account: saKey, Kind: EventAccountGone, Host: h.Hostname}); err != nil {
		return err
	}
	return putInst(tx, ikey, ir)
}

// diffRefs returns the refs in cur but not prev, and in prev but not cur.
func diffRefs(prev, cur []credRef) (added, removed []credRef) {
	if len(prev) == 0 {
		return cur, nil
	}
	key := func(c credRef) string { return c.FP + "\x00" + c.Loc }
	p := map[string]bool{}
	for _, c := range prev {
		p[key(c)] = true
	}
	c := map[string]bool{}
	for _, x := range cur {
		c[key(x)] = true
		if !p[key(x)] {
			added = append(added, x)
		}
	}
	for _, x := range prev {
		if !c[key(x)] {
			removed = append(removed, x)
		}
	}
	return added, removed
}

// updateFPIndex moves the (host, account) holder entries from the
// fingerprints in prev to those in cur, keeping tFPShared (fingerprints
// with two or more holders) in step. A fingerprint seen for the first time
// costs one seek to count its holders and one to insert.
func updateFPIndex(tx store.Tx, hostID, account, saKey string, prev, cur []credRef) error {
	if len(prev) == 0 && len(cur) == 0 {
		return nil
	}
	pf, cf := make(map[string]string, len(prev)), make(map[string]string, len(cur))
	for _, c := range prev {
		pf[c.FP] = c.Type
	}
	for _, c := range cur {
		cf[c.FP] = c.Type
	}
	for fp := range pf {
		if _, ok := cf[fp]; ok {
			continue
		}
		k := fpKey(fp)
		if err := tx.Delete(tFP, store.Join(k, hostID, account)); err != nil {
			return err
		}
		n, err := countHolders(tx, k, 2)
		if err != nil {
			return err
		}
		if n < 2 {
			if err := tx.Delete(tFPShared, []byte(k)); err != nil {
				return err
			}
		}
	}
	for fp, typ := range cf {
		if _, ok := pf[fp]; ok {
			continue
		}
		k := fpKey(fp)
		n, err := countHolders(tx, k, 1)
		if err != nil {
			return err
		}
		if err := tx.Put(tFP, store.Join(k, hostID, account), store.Join(typ, saKey)); err != nil {
			return err
		}
		if n == 0 { // the only holder: cannot be listed as shared
			continue
		}
		if sh, err := tx.Get(tFPShared, []byte(k)); err != nil {
			return err
		} else if sh == nil {
			if err := tx.Put(tFPShared, []byte(k), []byte(fp)); err != nil {
				return err
			}
		}
	}
	return nil
}

// countHolders counts the index entries of fingerprint key k, up to limit.
func countHolders(tx store.Tx, k string, limit int) (int, error) {
	n := 0
	err := tx.Scan(tFP, store.Prefix(k), func(_, _ []byte) error {
		if n++; n >= limit {
			return store.ErrStop
		}
		return nil
	})
	if err != nil && err != store.ErrStop {
		return 0, err
	}
	return n, nil
}

// rekeyFPIndex points an instance's fingerprint entries at a new service
// account.
func rekeyFPIndex(tx store.Tx, hostID, account, saKey string, refs []credRef) error {
	seen := map[string]bool{}
	for _, c := range refs {
		if seen[c.FP] {
			continue
		}
		seen[c.FP] = true
		if err := tx.Put(tFP, store.Join(fpKey(c.FP), hostID, account), store.Join(c.Type, saKey)); err != nil {
			return err
		}
	}
	return nil
}

// fpKey is the index key of a fingerprint: 96 bits of its SHA-256 in hex,
// short so that the index stays small.
func fpKey(fp string) string {
	s := sha256.Sum256([]byte(fp))
	return hex.EncodeToString(s[:12])
}

// isShared reports whether fingerprint fp has several holders.
func isShared(tx store.Tx, fp string) (bool, error) {
	v, err := tx.Get(tFPShared, []byte(fpKey(fp)))
	return v != nil, err
}

// IngestResult says what one Ingest changed.
type IngestResult struct {
	HostID   string `json:"host_id"`
	Hostname string `json:"hostname"`
	// Stale is true when the report is older than the newest one already
	// ingested for the host; nothing was written.
	Stale bool `json:"stale,omitempty"`
	// Unchanged is true when the same report was ingested before.
	Unchanged       bool `json:"unchanged,omitempty"`
	Accounts        int  `json:"accounts"`
	AccountsNew     int  `json:"accounts_new"`
	AccountsGone    int  `json:"accounts_gone"`
	CredentialsNew  int  `json:"credentials_new"`
	CredentialsGone int  `json:"credentials_gone"`
	Events          int  `json:"events"`
}

// batchTx is the Tx request functions see inside a group-commit batch: it
// carries the batch's cache of service account records, written once when
// the batch's last request succeeded.
type batchTx struct {
	store.Tx
	sas map[string]*saRecord
}

// wrapBatch is the inventory's store.GroupOptions.Wrap.
func wrapBatch(tx store.Tx) (store.Tx, func() error) {
	b := &batchTx{Tx: tx, sas: map[string]*saRecord{}}
	return b, func() error { return flushSAs(tx, b.sas) }
}

// flushSAs writes service account records in key order.
func flushSAs(tx store.Tx, sas map[string]*saRecord) error {
	for _, k := range slices.Sorted(maps.Keys(sas)) {
		if err := putJSON(tx, tSA, []byte(k), sas[k]); err != nil {
			return err
		}
	}
	return nil
}

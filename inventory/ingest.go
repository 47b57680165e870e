package inventory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// DefaultMaxClockSkew is how far ahead of the inventory's clock a report's
// scanned_at may be (Options.MaxClockSkew).
const DefaultMaxClockSkew = 5 * time.Minute

// Submitter is who sends a scan report, as the server authenticated it.
// The zero value is an operator named by the context's actor
// ([audit.WithActor]).
type Submitter struct {
	// Host is the host name in the submitter's host identity certificate
	// (spiffe://TD/host/HOST). Such a submitter may only change the host
	// record its identity is bound to (see [HostMismatchError]).
	Host string
	// Operator is the name of the operator token that submits. An operator
	// may report for any host, and may move one (rename it, give it a
	// machine-id), which is audited as audit.ActionHostMove.
	Operator string
}

// Actor is the submitter as the audit log names it: "host:HOST",
// "token:NAME", else the context's actor.
func (s Submitter) Actor(ctx context.Context) string {
	switch {
	case s.Host != "":
		return "host:" + s.Host
	case s.Operator != "":
		return "token:" + s.Operator
	}
	return audit.Actor(ctx)
}

func (s Submitter) check() error {
	switch {
	case s.Host != "" && s.Operator != "":
		return &InvalidError{Field: "submitter", Reason: "both a host identity and an operator token"}
	case s.Host != "" && !validName(s.Host):
		return &InvalidError{Field: "submitter", Reason: "the host identity's name is not a valid name"}
	}
	return nil
}

// prepared is a validated report with each account encoded once, outside
// the transaction, so the group-commit goroutine only moves bytes.
type prepared struct {
	r     *scan.Report
	at    time.Time // scanned_at, UTC
	accts []prepAcct
	names map[string]bool
}

// prepAcct is one account of a prepared report.
type prepAcct struct {
	name   string
	data   []byte // scan.Account JSON
	digest string
	facts  facts
	refs   []credRef // with their fingerprint index keys
	creds  int       // static credentials, with or without a fingerprint
	// frame is the stored record of the account as a new instance (see
	// frameInst) with frameRoom bytes free in front for the service
	// account key, which only the transaction knows; meta and data are
	// parts of it.
	frame, meta []byte
}

// frameRoom is the room left in front of a prepared frame for the length
// and bytes of a service account key.
const frameRoom = 96

func (p *prepared) has(name string) bool { return p.names[name] }

// frameFor returns a's new-instance record in service account sa, written
// into the room in front of the prepared frame when the key fits.
func (a *prepAcct) frameFor(sa string) []byte {
	var lb [binary.MaxVarintLen64]byte
	w := binary.PutUvarint(lb[:], uint64(len(sa)))
	n := w + len(sa)
	if n > frameRoom {
		return frameInst(sa, a.meta, a.data)
	}
	b := a.frame[frameRoom-n:]
	copy(b, lb[:w])
	copy(b[w:], sa)
	return b
}

func prepare(r *scan.Report) (*prepared, error) { return prepareWith(r, nil) }

// prepareWith is prepare with our SSH user CA fingerprints (factsWith).
func prepareWith(r *scan.Report, ourCAs []string) (*prepared, error) {
	if r == nil {
		return nil, &scan.ValidationError{Field: "report", Reason: "missing"}
	}
	if err := scan.Validate(r); err != nil {
		return nil, err
	}
	n := len(r.Accounts)
	p := &prepared{r: r, at: r.Host.ScannedAt.UTC(), accts: make([]prepAcct, n), names: make(map[string]bool, n)}
	// Both encodings go through one scratch buffer; each account's frame
	// is then its only allocation that lasts.
	var dataBuf, metaBuf bytes.Buffer
	encode := func(buf *bytes.Buffer, v any) ([]byte, error) {
		buf.Reset()
		if err := json.NewEncoder(buf).Encode(v); err != nil {
			return nil, err
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
	}
	for i := range r.Accounts {
		a := &r.Accounts[i]
		pa := &p.accts[i]
		data, err := encode(&dataBuf, a)
		if err != nil {
			return nil, fmt.Errorf("accounts[%d]: %w", i, err)
		}
		s := sha256.Sum256(data)
		pa.name, pa.digest, pa.creds = a.Name, hex.EncodeToString(s[:16]), len(a.Credentials)
		pa.facts, pa.refs = factsWith(a, ourCAs)
		for j := range pa.refs {
			pa.refs[j].indexKey()
		}
		meta, err := encode(&metaBuf, &instRecord{Account: a.Name, FirstSeen: p.at, LastSeen: p.at,
			Digest: pa.digest, Facts: pa.facts, Creds: pa.refs})
		if err != nil {
			return nil, fmt.Errorf("accounts[%d]: %w", i, err)
		}
		f := make([]byte, frameRoom, frameRoom+binary.MaxVarintLen64+len(meta)+len(data))
		f = binary.AppendUvarint(f, uint64(len(meta)))
		f = append(f, meta...)
		pa.meta = f[len(f)-len(meta):]
		f = append(f, data...)
		pa.frame, pa.data = f, f[len(f)-len(data):]
		p.names[a.Name] = true
	}
	return p, nil
}

// Ingest merges one scan report into the inventory for an operator, the
// context's actor: it is [Inventory.IngestAs] with the zero Submitter.
func (inv *Inventory) Ingest(ctx context.Context, r *scan.Report) (IngestResult, error) {
	return inv.IngestAs(ctx, r, Submitter{})
}

// IngestAs merges one scan report sent by sub into the inventory, in one
// transaction: the host is found by machine-id (else hostname) or
// created, each account becomes or updates an instance, instances and
// credentials the report no longer lists are marked gone, and every
// change is a history event. The same transaction holds the report's audit
// record (audit.ActionScanIngest: who, which host, what changed).
//
// Refused, each in an audit record of its own (outcome refused), with
// nothing else written:
//   - a report that fails validation: a *scan.ValidationError;
//   - a report whose scanned_at is more than Options.MaxClockSkew ahead of
//     the inventory's clock: a *scan.ValidationError on host.scanned_at;
//   - a report from a host identity (sub.Host) about a host record other
//     than the one that identity is bound to, or renaming that host or
//     changing its machine-id: a *HostMismatchError, which wraps
//     ErrForbidden.
//
// Scans of a host are ordered by the time the inventory receives them,
// not by their scanned_at, so a host whose clock is wrong cannot freeze
// its record. IngestAs is idempotent: a report whose scanned_at equals the
// host's last scan changes nothing (Unchanged), and one received before the
// newest report ingested for the host is ignored (Stale). Concurrent calls
// share transactions (group commit); IngestAs returns only after its report
// is durably committed or refused.
func (inv *Inventory) IngestAs(ctx context.Context, r *scan.Report, sub Submitter) (IngestResult, error) {
	if err := sub.check(); err != nil {
		return IngestResult{}, err
	}
	recv, actor := inv.now(), sub.Actor(ctx)
	p, err := prepareWith(r, inv.opts.SSHUserCAFingerprints)
	if err == nil {
		err = inv.checkScannedAt(p.at, recv)
	}
	if err != nil {
		host := sub.Host
		if p != nil && host == "" {
			host = r.Host.Hostname // validated
		}
		return IngestResult{}, inv.auditRefused(ctx, audit.Event{Time: recv, Actor: actor, Host: host}, err)
	}
	var res IngestResult
	var refused error
	err = inv.group.Update(ctx, func(tx store.Tx) error {
		res, refused = IngestResult{}, nil
		return ingestTx(tx, p, sub, actor, recv, &res, &refused)
	})
	if err != nil {
		return IngestResult{}, fmt.Errorf("ingest report of %s: %w", r.Host.Hostname, err)
	}
	if refused != nil {
		return IngestResult{}, refused
	}
	return res, nil
}

// checkScannedAt refuses a report from the future, whose scanned_at would
// otherwise stand as the host's last scan.
func (inv *Inventory) checkScannedAt(at, now time.Time) error {
	max := inv.opts.MaxClockSkew
	if d := at.Sub(now); d > max {
		return &scan.ValidationError{Field: "host.scanned_at", Reason: fmt.Sprintf(
			"%s is %s ahead of the server's clock (%s; at most %s allowed): set the host's clock (NTP) and scan again",
			at.Format(time.RFC3339), d.Round(time.Second), now.Format(time.RFC3339), max)}
	}
	return nil
}

// maxAuditReason bounds the reason a refused report leaves in the log.
const maxAuditReason = 1024

// auditRefused records refusal err of a report in an audit record of its
// own and returns err (with the audit's failure, if any).
func (inv *Inventory) auditRefused(ctx context.Context, e audit.Event, err error) error {
	e.Action, e.Outcome, e.Reason = audit.ActionScanIngest, audit.OutcomeRefused, truncate(err.Error(), maxAuditReason)
	if aerr := audit.Record(ctx, inv, e); aerr != nil {
		return fmt.Errorf("%w (recording the refusal in the audit log failed: %v)", err, aerr)
	}
	return err
}

// AuditRefusedScan records, in an audit record of its own, a scan report
// refused before it reached the inventory (a body that does not decode,
// say): the submitter and the reason (cut to 1 KiB). The server calls it
// for each refusal of its own; IngestAs audits the inventory's.
func (inv *Inventory) AuditRefusedScan(ctx context.Context, sub Submitter, reason string) error {
	e := audit.Event{Time: inv.now(), Actor: sub.Actor(ctx), Host: sub.Host, Action: audit.ActionScanIngest,
		Outcome: audit.OutcomeRefused, Reason: truncate(reason, maxAuditReason)}
	if err := audit.Record(ctx, inv, e); err != nil {
		return fmt.Errorf("audit refused scan: %w", err)
	}
	return nil
}

// truncate cuts s to at most n bytes, on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// ingestTx is one report's request in a group-commit batch: read, plan,
// write. A refusal by checkSubmitter is audited in the transaction and
// handed back in refused, so that it does not roll back the batch (and
// the other requests in it, which would run again).
func ingestTx(tx store.Tx, p *prepared, sub Submitter, actor string, recv time.Time, res *IngestResult, refused *error) error {
	st := newTxState(tx)
	s, bound, err := readHost(st, p, sub)
	if err != nil {
		return err
	}
	if sub.Host != "" {
		if err := checkSubmitter(sub.Host, bound, s, &p.r.Host); err != nil {
			*refused = err
			return audit.Append(tx, audit.Event{Time: recv, Actor: actor, Action: audit.ActionScanIngest, Host: sub.Host,
				Outcome: audit.OutcomeRefused, Reason: truncate(err.Error(), maxAuditReason)})
		}
	}
	pl := planIngest(s, p, recv)
	if err := writePlan(st, p, pl, actor, recv); err != nil {
		return err
	}
	*res = pl.res
	return nil
}

// readHost reads what report p can change: the host it resolves to, the
// index entries that point at it, its instances and groupings, and the
// service accounts its accounts join without a live instance (with the
// groups their names already live in). For a host submitter it also reads
// the record the identity is bound to, and stops there when that is not
// the report's.
func readHost(st *txState, p *prepared, sub Submitter) (*hostState, *hostRecord, error) {
	tx := st.tx
	rh := &p.r.Host
	rs, err := resolveHost(tx, rh)
	if err != nil {
		return nil, nil, err
	}
	s := &hostState{host: rs.host, isNew: rs.isNew, nameIdx: rs.nameIdx, midIdx: rs.midIdx,
		insts: map[string]*instRecord{}, groups: map[string]string{}, sas: map[string]saState{}, established: map[string][]string{}}
	hr := &s.host
	get := func(table, key string) (string, error) {
		v, err := tx.Get(table, []byte(key))
		return string(v), err
	}
	if !rs.nameRead {
		if s.nameIdx, err = get(tHostName, rh.Hostname); err != nil {
			return nil, nil, err
		}
	}
	if hr.Hostname != "" && hr.Hostname != rh.Hostname {
		if s.oldNameIdx, err = get(tHostName, hr.Hostname); err != nil {
			return nil, nil, err
		}
	}
	switch {
	case rh.MachineID == "" && hr.MachineID != "":
		if s.midIdx, err = get(tHostMID, hr.MachineID); err != nil {
			return nil, nil, err
		}
	case rh.MachineID != "" && !rs.midRead:
		if s.midIdx, err = get(tHostMID, rh.MachineID); err != nil {
			return nil, nil, err
		}
	}
	var bound *hostRecord
	if sub.Host != "" {
		id, err := tx.Get(tHostBind, []byte(sub.Host))
		if err != nil {
			return nil, nil, err
		}
		switch {
		case id == nil:
		case !s.isNew && string(id) == hr.ID:
			if hr.Bound != nil && hr.Bound.Name == sub.Host {
				b := *hr
				bound = &b
			}
		default:
			if bound, err = boundHost(tx, sub.Host); err != nil {
				return nil, nil, err
			}
		}
		if bound == nil || s.isNew || bound.ID != hr.ID {
			return s, bound, nil // refused: nothing more to read
		}
	}
	if !s.isNew {
		if err := tx.Scan(tInst, store.Prefix(hr.ID), func(k, v []byte) error {
			ir := new(instRecord)
			if err := decodeInst(k, v, ir); err != nil {
				return err
			}
			s.insts[ir.Account] = ir
			return nil
		}); err != nil {
			return nil, nil, err
		}
		if err := tx.Scan(tGrouping, store.Prefix(hr.ID), func(k, v []byte) error {
			s.groups[store.Split(k)[1]] = string(v)
			return nil
		}); err != nil {
			return nil, nil, err
		}
	}
	h := hr.Host
	h.Env = hostEnv(&h)
	for i := range p.accts {
		name := p.accts[i].name
		prev := s.insts[name]
		if prev != nil && prev.GoneAt == nil {
			continue // live already: its service account has a live instance
		}
		key := saKeyFor(&h, s.groups, prev, name)
		r, err := st.sa(key)
		if err != nil {
			return nil, nil, err
		}
		s.sas[key] = saState{Live: r.Sum.Live, Separate: r.Separate}
		if r.Sum.Live > 0 || r.Separate {
			continue
		}
		recs, err := st.groupsNamed(name)
		if err != nil {
			return nil, nil, err
		}
		var est []string
		for _, o := range recs {
			if o.Key != key && (o.Sum.Live > 0 || o.Retired) && !o.waitsForReview() {
				est = append(est, o.Group)
			}
		}
		sort.Strings(est)
		s.established[name] = est
	}
	return s, bound, nil
}

// writePlan writes plan pl of report p: index entries, instances and their
// indexes, service account summaries and review flags, history events,
// the host record, and the audit records (the host's move, the ingest).
func writePlan(st *txState, p *prepared, pl *ingestPlan, actor string, recv time.Time) error {
	tx := st.tx
	hr := &pl.host
	if !pl.skip && hr.ID == "" {
		n, err := store.NextSeq(tx, "host")
		if err != nil {
			return err
		}
		hr.ID = hostIDString(n)
		pl.res.HostID = hr.ID
	}
	accepted := audit.Event{Time: recv, Actor: actor, Action: audit.ActionScanIngest, Host: pl.res.Hostname,
		Outcome: audit.OutcomeOK, Detail: pl.res.auditDetail(p.at, pl.pending)}
	if pl.skip {
		return audit.Append(tx, accepted)
	}
	if pl.delOldName {
		if err := tx.Delete(tHostName, []byte(pl.oldName)); err != nil {
			return err
		}
	}
	if pl.putName {
		if err := tx.Put(tHostName, []byte(hr.Hostname), []byte(hr.ID)); err != nil {
			return err
		}
	}
	if pl.putMID {
		if err := tx.Put(tHostMID, []byte(hr.MachineID), []byte(hr.ID)); err != nil {
			return err
		}
	}
	for i := range pl.insts {
		if err := writeInst(st, p, pl, &pl.insts[i]); err != nil {
			return fmt.Errorf("account %s: %w", pl.insts[i].account, err)
		}
	}
	for _, rc := range pl.review {
		sa, err := st.sa(rc.sa)
		if err != nil {
			return err
		}
		sa.Review = rc.review
	}
	for _, e := range pl.events {
		if err := st.event(e); err != nil {
			return err
		}
	}
	if err := putJSON(tx, tHosts, []byte(hr.ID), hr); err != nil {
		return err
	}
	if pl.moved != "" {
		if err := audit.Append(tx, audit.Event{Time: recv, Actor: actor, Action: audit.ActionHostMove, Host: hr.Hostname,
			Outcome: audit.OutcomeOK, Detail: fmt.Sprintf("host %s: %s", hr.ID, pl.moved)}); err != nil {
			return err
		}
	}
	if err := audit.Append(tx, accepted); err != nil {
		return err
	}
	return st.flush()
}

// writeInst writes one instance's change.
func writeInst(st *txState, p *prepared, pl *ingestPlan, ch *instChange) error {
	tx := st.tx
	hostID := pl.host.ID
	key := joinKey(hostID, ch.account)
	sa, err := st.sa(ch.sa)
	if err != nil {
		return err
	}
	sa.Sum.add(ch.before, -1)
	sa.Sum.add(ch.after, +1)
	if ch.live {
		if sa.FirstSeen.IsZero() {
			sa.FirstSeen = pl.seen
		}
		if pl.seen.After(sa.LastSeen) {
			sa.LastSeen = pl.seen
		}
	}
	if ch.link {
		if err := tx.Put(tSAInst, joinKey(ch.sa, hostID, ch.account), nil); err != nil {
			return err
		}
	}
	for i := range ch.fpDel {
		if err := st.fpRemove(&ch.fpDel[i], hostID, ch.account); err != nil {
			return err
		}
	}
	for i := range ch.fpAdd {
		if err := st.fpAdd(&ch.fpAdd[i], hostID, ch.account, ch.sa); err != nil {
			return err
		}
	}
	if ch.certDel {
		if err := tx.Delete(tCertIdx, key); err != nil {
			return err
		}
	}
	if ch.certPut != nil {
		if err := putJSON(tx, tCertIdx, key, ch.certPut); err != nil {
			return err
		}
	}
	switch {
	case !ch.write:
		return nil
	case ch.rec == nil:
		return tx.Put(tInst, key, p.accts[ch.prep].frameFor(ch.sa))
	}
	return putInst(tx, key, ch.rec)
}

// The fingerprint index: one entry per (fingerprint, host, account)
// holding it, and fpshared listing the fingerprints with two or more
// holders. fpAdd and fpRemove keep both in step, counting a fingerprint's
// holders (up to two) with one seek unless the transaction's fpCounts
// already knows them.

func (s *txState) fpAdd(c *credRef, hostID, account, saKey string) error {
	k := c.indexKey()
	n, known := s.fpCounts[k]
	if !known {
		var err error
		if n, err = countHolders(s.tx, k, 2); err != nil {
			return err
		}
	}
	if err := s.tx.Put(tFP, joinKey(k, hostID, account), joinKey(c.Type, saKey)); err != nil {
		return err
	}
	s.fpCounts[k] = min(n+1, 2)
	switch {
	case n == 1: // the second holder
		return s.tx.Put(tFPShared, []byte(k), []byte(c.FP))
	case n >= 2 && !known:
		if sh, err := s.tx.Get(tFPShared, []byte(k)); err != nil || sh != nil {
			return err
		}
		return s.tx.Put(tFPShared, []byte(k), []byte(c.FP))
	}
	return nil
}

func (s *txState) fpRemove(c *credRef, hostID, account string) error {
	k := c.indexKey()
	if err := s.tx.Delete(tFP, joinKey(k, hostID, account)); err != nil {
		return err
	}
	if n, ok := s.fpCounts[k]; ok && n == 1 {
		s.fpCounts[k] = 0 // it was the only holder: never listed as shared
		return nil
	}
	n, err := countHolders(s.tx, k, 2)
	if err != nil {
		return err
	}
	s.fpCounts[k] = n
	if n < 2 {
		return s.tx.Delete(tFPShared, []byte(k))
	}
	return nil
}

// countHolders counts the index entries of fingerprint key k, up to limit.
func countHolders(tx store.Tx, k string, limit int) (int, error) {
	n := 0
	err := tx.Scan(tFP, append(joinKey(k), 0), func(_, _ []byte) error {
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
	// Stale is true when the report was received before the newest one
	// already ingested for the host; nothing was written.
	Stale bool `json:"stale,omitempty"`
	// Unchanged is true when the same report was ingested before.
	Unchanged       bool `json:"unchanged,omitempty"`
	Accounts        int  `json:"accounts"`
	AccountsNew     int  `json:"accounts_new"`
	AccountsGone    int  `json:"accounts_gone"`
	CredentialsNew  int  `json:"credentials_new"`
	CredentialsGone int  `json:"credentials_gone"`
	Events          int  `json:"events"`
	// PendingReview counts the service accounts this report found a name
	// in while the name already is an identity in another environment:
	// they get no certificate until an operator decides (the report's
	// PendingReview and the accounts' history say which).
	PendingReview int `json:"pending_review,omitempty"`
}

// auditDetail is the result as the ingest's audit record says it; pending
// lists the service accounts pending review.
func (r *IngestResult) auditDetail(at time.Time, pending []string) string {
	scanned := "scanned_at " + at.Format(time.RFC3339)
	switch {
	case r.Unchanged:
		return scanned + ": unchanged (ingested before)"
	case r.Stale:
		return scanned + ": stale (a newer report was received first); nothing changed"
	}
	d := fmt.Sprintf("%s: %d accounts, %d new, %d gone; credentials %d new, %d gone", scanned,
		r.Accounts, r.AccountsNew, r.AccountsGone, r.CredentialsNew, r.CredentialsGone)
	if len(pending) > 0 {
		d += "; pending review: " + strings.Join(pending, ", ")
	}
	return d
}

package inventory

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Ingest in three steps: readHost reads what the report can change (the
// host record, the index entries pointing at it, its instances and
// groupings, the service accounts they join), planIngest computes the
// change from that alone, and writePlan writes it. This file is the middle
// step: a pure function, tested without a store.

// hostState is what ingest reads before deciding anything.
type hostState struct {
	// host is the record the report resolved to; for a new host (isNew)
	// a fresh record without an ID (writePlan allocates one).
	host  hostRecord
	isNew bool
	// nameIdx and midIdx are the host IDs the hostname and machine-id
	// indexes hold for the report's hostname and for the host's machine-id
	// after the report ("" if none); oldNameIdx the one the hostname index
	// holds for the host's previous hostname when the report renames it.
	nameIdx, midIdx, oldNameIdx string
	// insts are the host's instances by account name, gone ones included.
	insts map[string]*instRecord
	// groups are operator-chosen groups (Inventory.Split) by account name.
	groups map[string]string
	// sas describes the service accounts the report's accounts belong to,
	// by key, before the report.
	sas map[string]saState
	// established lists, for each name whose instance joins a service
	// account without live instances, the other groups in which the name
	// already is an identity (live or retired, not itself waiting for
	// review). A name newly seen next to those waits for review.
	established map[string][]string
}

// saState is what planIngest needs of a service account record.
type saState struct {
	Live     int
	Separate bool
}

// ingestPlan is the change one report makes.
type ingestPlan struct {
	res IngestResult
	// skip is set for a stale or unchanged report: nothing to write but
	// its audit record.
	skip bool
	// host is the host record to write (ID "" for a new host).
	host hostRecord
	// putName and putMID ask for the hostname and machine-id index entries
	// to point at the host; delOldName for the entry of the host's
	// previous hostname to go.
	putName, putMID bool
	oldName         string
	delOldName      bool
	// moved describes how the report moved an existing host (renamed it
	// or gave it another machine-id), "" if it did not.
	moved string
	// insts are the instances that change, in report order, then those
	// gone, by name.
	insts []instChange
	// review lists the service accounts whose review flag is decided;
	// pending the keys of those set.
	review  []reviewChange
	pending []string
	// events are the history events, in order.
	events []Event
	// seen is the scan time, which joins the first_seen / last_seen
	// of the service accounts live instances belong to.
	seen time.Time
}

// instChange is one instance's part of a plan.
type instChange struct {
	account string
	sa      string
	// before and after are the instance's shares of sa's summary.
	before, after contrib
	// live is true when the instance is present after the report (its
	// service account's first and last seen follow the scan).
	live bool
	// link asks for the service account -> instance link (a new instance).
	link bool
	// fpAdd and fpDel are fingerprint index entries to add and remove.
	fpAdd, fpDel []credRef
	// certPut writes the instance's certificate index entry; certDel
	// removes it.
	certPut *CertState
	certDel bool
	// write says whether the instance record is written: from rec, or,
	// for a new instance (rec nil), from the account's prepared frame.
	write bool
	rec   *instRecord
	// prep is the account's index in the prepared report (-1 for gone
	// instances).
	prep int
}

// reviewChange sets or clears a service account's review flag.
type reviewChange struct {
	sa          string
	review      bool
	established []string
}

// hostEnv is the environment a host's new instances join.
func hostEnv(h *Host) string {
	if h.Env == "" {
		return envOf(h.Tags)
	}
	return h.Env
}

// saKeyFor is the service account an instance of account on host h
// belongs to: an existing instance stays in its own (only host tags, Split
// and Merge move it), a new one joins the group an operator chose for it,
// else the host's environment.
func saKeyFor(h *Host, groups map[string]string, prev *instRecord, account string) string {
	if prev != nil {
		return prev.SA
	}
	if g, ok := groups[account]; ok {
		return account + "@" + g
	}
	return account + "@" + hostEnv(h)
}

// planIngest computes what report p, received at recv, changes on host
// state s. It reads nothing but its arguments.
func planIngest(s *hostState, p *prepared, recv time.Time) *ingestPlan {
	r := p.r
	at := p.at
	pl := &ingestPlan{host: s.host, seen: at,
		res: IngestResult{HostID: s.host.ID, Hostname: r.Host.Hostname, Accounts: len(p.accts)}}
	hr := &pl.host
	if !s.isNew && !hr.LastScan.IsZero() {
		// Scans are ordered by the server's receive time, so that a host
		// whose clock runs ahead cannot freeze its record; two reports
		// received at the same instant are ordered by scanned_at.
		switch {
		case at.Equal(hr.LastScan):
			pl.res.Unchanged, pl.skip = true, true
			return pl
		case recv.Before(hr.Received), recv.Equal(hr.Received) && at.Before(hr.LastScan):
			pl.res.Stale, pl.skip = true, true
			return pl
		}
	}
	prevScan := hr.LastScan
	if hr.FirstSeen.IsZero() {
		hr.FirstSeen = at
	}
	var moves []string
	if hr.Hostname != r.Host.Hostname {
		if hr.Hostname != "" {
			pl.oldName = hr.Hostname
			pl.delOldName = s.oldNameIdx == hr.ID
			if !s.isNew && !prevScan.IsZero() {
				moves = append(moves, fmt.Sprintf("hostname %s -> %s", hr.Hostname, r.Host.Hostname))
			}
		}
		hr.Hostname = r.Host.Hostname
	}
	if r.Host.MachineID != "" && hr.MachineID != r.Host.MachineID {
		if hr.MachineID != "" {
			moves = append(moves, fmt.Sprintf("machine-id %s -> %s", hr.MachineID, r.Host.MachineID))
		}
		hr.MachineID = r.Host.MachineID
	}
	pl.moved = strings.Join(moves, ", ")
	if pl.moved != "" && hr.Bound != nil {
		// An operator moved a bound host: its identity follows it.
		b := *hr.Bound
		b.Hostname, b.MachineID = hr.Hostname, hr.MachineID
		hr.Bound = &b
		pl.moved += fmt.Sprintf(" (host identity %s follows)", b.Name)
	}
	pl.putName = s.isNew || s.nameIdx != hr.ID
	pl.putMID = hr.MachineID != "" && (s.isNew || s.midIdx != hr.ID)
	hr.OS = r.Host.OS
	hr.LastSeen, hr.LastScan, hr.Received = at, at, recv
	hr.Env = hostEnv(&hr.Host)
	hr.Accounts = len(p.accts) // names are unique (scan.Validate)
	h := &hr.Host

	event := func(sa, kind, detail string) {
		pl.events = append(pl.events, Event{Time: at, Account: sa, Kind: kind, Host: h.Hostname, Detail: detail})
	}
	for i := range p.accts {
		a := &p.accts[i]
		prev := s.insts[a.name]
		saKey := saKeyFor(h, s.groups, prev, a.name)
		ch := instChange{account: a.name, sa: saKey, live: true, prep: i}
		cur := &instRecord{Account: a.name, SA: saKey, FirstSeen: at, LastSeen: at, Digest: a.digest, Facts: a.facts,
			Creds: a.refs, Data: a.data}
		if prev != nil {
			cur.FirstSeen, cur.Cert = prev.FirstSeen, prev.Cert
			ch.before = contribOf(prev, h)
		}
		// Managed: a scan after issuance finds no static credential left.
		if c := cur.Cert; c != nil && c.RevokedAt == nil && !c.Managed && at.After(c.IssuedAt) && a.creds == 0 {
			c2 := *c
			c2.Managed = true
			cur.Cert = &c2
			event(saKey, EventStatusChanged, "managed: no static credential left after enrollment")
		}
		ch.after = contribOf(cur, h)
		if ch.after.SSHManaged > ch.before.SSHManaged {
			event(saKey, EventStatusChanged, "managed: logs in with SSH certificates of our user CA, no static credential left")
		}
		live := prev != nil && prev.GoneAt == nil
		switch {
		case prev == nil:
			// The first appearance is not stored as an event:
			// AccountHistory derives it from the instance's first_seen.
			pl.res.AccountsNew++
			pl.res.CredentialsNew += a.creds
			pl.res.Events++
			ch.link = true
		case prev.GoneAt != nil:
			pl.res.AccountsNew++
			event(saKey, EventAccountAppeared, "returned after being gone since "+prev.GoneAt.Format(time.RFC3339))
			if c := cur.Cert; c != nil && c.RevokedAt == nil {
				ch.certPut = c
			}
		}
		if !live {
			planReview(pl, s, a.name, saKey, event)
		}
		// Credentials appeared and gone, by (fingerprint, location).
		var prevRefs []credRef
		if live {
			prevRefs = prev.Creds
			added, removed := diffRefs(prevRefs, a.refs)
			for _, c := range added {
				pl.res.CredentialsNew++
				event(saKey, EventCredentialAppeared, c.Type+" at "+c.Loc)
			}
			for _, c := range removed {
				pl.res.CredentialsGone++
				event(saKey, EventCredentialGone, c.Type+" at "+c.Loc)
			}
		}
		ch.fpDel, ch.fpAdd = diffFPs(prevRefs, a.refs)
		if prev != nil && prev.Cert != cur.Cert && cur.Cert != nil {
			ch.certPut = cur.Cert
		}
		switch {
		case prev == nil:
			ch.write = true // from the prepared frame
		case live && prev.Digest == a.digest && prev.Cert == cur.Cert && prev.Facts.SSHOurs == cur.Facts.SSHOurs:
			// (SSHOurs follows Options.SSHUserCAFingerprints, not the report.)
			// Unchanged: last_seen follows the host's last scan.
		default:
			ch.write, ch.rec = true, cur
		}
		pl.insts = append(pl.insts, ch)
	}
	// Instances the report no longer lists.
	var goneNames []string
	for name, ir := range s.insts {
		if ir.GoneAt == nil && !p.has(name) {
			goneNames = append(goneNames, name)
		}
	}
	sort.Strings(goneNames)
	for _, name := range goneNames {
		ir := *s.insts[name]
		ch := instChange{account: name, sa: ir.SA, before: contribOf(&ir, h), certDel: true, write: true, prep: -1}
		ch.fpDel, _ = diffFPs(ir.Creds, nil)
		t := at
		ir.GoneAt, ir.LastSeen = &t, prevScan
		ch.rec = &ir
		pl.res.AccountsGone++
		pl.res.CredentialsGone += len(ir.Creds)
		event(ir.SA, EventAccountGone, "")
		pl.insts = append(pl.insts, ch)
	}
	pl.res.Events += len(pl.events)
	return pl
}

// planReview decides the review flag of service account saKey, which the
// instance of name on this host joins while it has no live instance: a
// name newly seen in a group while it is an identity in another waits for
// an operator (Inventory.Split confirms it separate, Inventory.Merge joins
// it), and the identities it shares the name with are left alone. A
// report may change only its own host's instances.
func planReview(pl *ingestPlan, s *hostState, name, saKey string, event func(sa, kind, detail string)) {
	st := s.sas[saKey]
	if st.Live > 0 || st.Separate {
		return
	}
	est := s.established[name]
	rc := reviewChange{sa: saKey, review: len(est) > 0, established: est}
	pl.review = append(pl.review, rc)
	if !rc.review {
		return
	}
	pl.res.PendingReview++
	pl.pending = append(pl.pending, saKey)
	event(saKey, EventPendingReview, fmt.Sprintf("%s is already an identity in %s; %s, first seen on host %s, gets no certificate "+
		"until an operator merges it (roster account merge %s@%s %s) or confirms it as an identity of its own (roster account split %s --separate)",
		name, strings.Join(est, ", "), saKey, pl.host.Hostname, name, est[0], saKey, saKey))
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

// diffFPs returns the fingerprints (one ref each, the first listed) in
// prev but not cur, and in cur but not prev: the instance's fingerprint
// index entries to remove and to add, in the refs' order.
func diffFPs(prev, cur []credRef) (del, add []credRef) {
	fps := func(refs []credRef) map[string]bool {
		m := make(map[string]bool, len(refs))
		for _, c := range refs {
			m[c.FP] = true
		}
		return m
	}
	pf, cf := fps(prev), fps(cur)
	for _, c := range prev {
		if !cf[c.FP] {
			del = append(del, c)
			cf[c.FP] = true // once
		}
	}
	for _, c := range cur {
		if !pf[c.FP] {
			add = append(add, c)
			pf[c.FP] = true
		}
	}
	return del, add
}

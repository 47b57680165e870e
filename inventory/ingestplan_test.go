package inventory

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/scan"
)

var p0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func planAccount(name string, creds ...scan.Credential) scan.Account {
	return scan.Account{Name: name, UID: 1000, GID: 1000, Home: "/var/lib/" + name, Shell: "/usr/sbin/nologin",
		Kind: scan.KindService, KindEvidence: []string{"uid in system range"}, Password: scan.Password{Status: "none"},
		Credentials: creds}
}

func planCred(typ, loc, fp string) scan.Credential {
	return scan.Credential{Type: typ, Location: loc, Fingerprint: "hmac-sha256:" + fp + strings.Repeat("A", 43-len(fp))}
}

func planReport(host, mid string, at time.Time, accts ...scan.Account) *prepared {
	r := &scan.Report{SchemaVersion: scan.SchemaVersion, Scanner: scan.Scanner{Name: "t", Version: "0"},
		Host:     scan.Host{Hostname: host, MachineID: mid, ScannedAt: at, Root: "/", Live: true, OS: scan.OS{ID: "debian"}},
		Accounts: accts}
	p, err := prepare(r)
	if err != nil {
		panic(err)
	}
	return p
}

// stateAfter is the host state a store would hold after report p was
// ingested into an empty inventory as host id (received when scanned).
func stateAfter(id string, p *prepared) *hostState {
	s := &hostState{host: hostRecord{Host: Host{ID: id, Hostname: p.r.Host.Hostname, MachineID: p.r.Host.MachineID,
		Env: DefaultEnv, FirstSeen: p.at, LastSeen: p.at, LastScan: p.at, Accounts: len(p.accts)}, Received: p.at},
		nameIdx: id, midIdx: id, insts: map[string]*instRecord{}, groups: map[string]string{}, sas: map[string]saState{},
		established: map[string][]string{}}
	if p.r.Host.MachineID == "" {
		s.midIdx = ""
	}
	for _, a := range p.accts {
		s.insts[a.name] = &instRecord{Account: a.name, SA: a.name + "@" + DefaultEnv, FirstSeen: p.at, LastSeen: p.at,
			Digest: a.digest, Facts: a.facts, Creds: a.refs, Data: a.data}
	}
	return s
}

func newHost() *hostState {
	return &hostState{host: hostRecord{Host: Host{Env: DefaultEnv}}, isNew: true, insts: map[string]*instRecord{},
		groups: map[string]string{}, sas: map[string]saState{}, established: map[string][]string{}}
}

// planText is a plan as one comparable line per part.
func planText(pl *ingestPlan) string {
	var b strings.Builder
	r := pl.res
	fmt.Fprintf(&b, "result new=%d gone=%d cred+%d cred-%d events=%d stale=%v unchanged=%v review=%d\n",
		r.AccountsNew, r.AccountsGone, r.CredentialsNew, r.CredentialsGone, r.Events, r.Stale, r.Unchanged, r.PendingReview)
	if pl.skip {
		return b.String()
	}
	fmt.Fprintf(&b, "host %s putName=%v putMID=%v delOld=%v moved=%q\n", pl.host.Hostname, pl.putName, pl.putMID, pl.delOldName, pl.moved)
	for _, ch := range pl.insts {
		fmt.Fprintf(&b, "inst %s sa=%s live=%v link=%v write=%v", ch.account, ch.sa, ch.live, ch.link, ch.write)
		if ch.write && ch.rec == nil {
			b.WriteString(" (new)")
		}
		for _, c := range ch.fpAdd {
			fmt.Fprintf(&b, " +fp:%s", c.FP[12:14])
		}
		for _, c := range ch.fpDel {
			fmt.Fprintf(&b, " -fp:%s", c.FP[12:14])
		}
		if ch.certPut != nil {
			fmt.Fprintf(&b, " +cert(managed=%v)", ch.certPut.Managed)
		}
		if ch.certDel {
			b.WriteString(" -cert")
		}
		fmt.Fprintf(&b, " live %d->%d\n", ch.before.Live, ch.after.Live)
	}
	for _, rc := range pl.review {
		fmt.Fprintf(&b, "review %s=%v %v\n", rc.sa, rc.review, rc.established)
	}
	for _, e := range pl.events {
		fmt.Fprintf(&b, "event %s %s %s\n", e.Account, e.Kind, firstWords(e.Detail, 3))
	}
	return b.String()
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = f[:n]
	}
	return strings.Join(f, " ")
}

func TestPlanIngest(t *testing.T) {
	k1 := planCred(scan.CredSSHAuthorizedKey, "/k:1", "k1")
	k2 := planCred(scan.CredSSHAuthorizedKey, "/k:2", "k2")
	pw := planCred(scan.CredPassword, "/etc/shadow:3", "pw")
	first := planReport("web1", "m1", p0, planAccount("app", k1, pw), planAccount("db"))
	hour := p0.Add(time.Hour)
	for _, tc := range []struct {
		desc string
		s    func() *hostState
		p    *prepared
		recv time.Time
		want string
	}{
		{desc: "first scan of a new host", s: newHost, p: first, recv: p0, want: `
result new=2 gone=0 cred+2 cred-0 events=2 stale=false unchanged=false review=0
host web1 putName=true putMID=true delOld=false moved=""
inst app sa=app@default live=true link=true write=true (new) +fp:k1 +fp:pw live 0->1
inst db sa=db@default live=true link=true write=true (new) live 0->1
review app@default=false []
review db@default=false []`},
		{desc: "the same report again", s: func() *hostState { return stateAfter("h1", first) }, p: first, recv: hour, want: `
result new=0 gone=0 cred+0 cred-0 events=0 stale=false unchanged=true review=0`},
		{desc: "an older report received later is applied: scans go by receive time",
			s: func() *hostState { return stateAfter("h1", first) },
			p: planReport("web1", "m1", p0.Add(-time.Hour), planAccount("app", k1, pw), planAccount("db")), recv: hour, want: `
result new=0 gone=0 cred+0 cred-0 events=0 stale=false unchanged=false review=0
host web1 putName=false putMID=false delOld=false moved=""
inst app sa=app@default live=true link=false write=false live 1->1
inst db sa=db@default live=true link=false write=false live 1->1`},
		{desc: "a report received before the newest one is stale",
			s: func() *hostState { return stateAfter("h1", first) },
			p: planReport("web1", "m1", hour, planAccount("app")), recv: p0.Add(-time.Minute), want: `
result new=0 gone=0 cred+0 cred-0 events=0 stale=true unchanged=false review=0`},
		{desc: "received at the same instant, the older scan is stale",
			s: func() *hostState { return stateAfter("h1", first) },
			p: planReport("web1", "m1", p0.Add(-time.Minute), planAccount("app")), recv: p0, want: `
result new=0 gone=0 cred+0 cred-0 events=0 stale=true unchanged=false review=0`},
		{desc: "key rotated, password gone, db gone",
			s: func() *hostState { return stateAfter("h1", first) },
			p: planReport("web1", "m1", hour, planAccount("app", k2)), recv: hour, want: `
result new=0 gone=1 cred+1 cred-2 events=4 stale=false unchanged=false review=0
host web1 putName=false putMID=false delOld=false moved=""
inst app sa=app@default live=true link=false write=true +fp:k2 -fp:k1 -fp:pw live 1->1
inst db sa=db@default live=false link=false write=true -cert live 1->0
event app@default credential appeared ssh_authorized_key at /k:2
event app@default credential gone ssh_authorized_key at /k:1
event app@default credential gone password at /etc/shadow:3
event db@default account gone `},
		{desc: "no static credential left after enrollment: managed",
			s: func() *hostState {
				s := stateAfter("h1", first)
				s.insts["app"].Cert = &CertState{Serial: "01", IssuedAt: p0.Add(time.Minute), NotBefore: p0, NotAfter: hour.Add(time.Hour)}
				return s
			},
			p: planReport("web1", "m1", hour, planAccount("app"), planAccount("db")), recv: hour, want: `
result new=0 gone=0 cred+0 cred-2 events=3 stale=false unchanged=false review=0
host web1 putName=false putMID=false delOld=false moved=""
inst app sa=app@default live=true link=false write=true -fp:k1 -fp:pw +cert(managed=true) live 1->1
inst db sa=db@default live=true link=false write=false live 1->1
event app@default status changed managed: no static
event app@default credential gone ssh_authorized_key at /k:1
event app@default credential gone password at /etc/shadow:3`},
		{desc: "an account back after being gone keeps its certificate",
			s: func() *hostState {
				s := stateAfter("h1", first)
				gone := p0.Add(time.Minute)
				s.insts["db"].GoneAt, s.insts["db"].Cert = &gone, &CertState{Serial: "02", Managed: true}
				s.sas["db@default"] = saState{Live: 0}
				return s
			},
			p: planReport("web1", "m1", hour, planAccount("app", k1, pw), planAccount("db")), recv: hour, want: `
result new=1 gone=0 cred+0 cred-0 events=1 stale=false unchanged=false review=0
host web1 putName=false putMID=false delOld=false moved=""
inst app sa=app@default live=true link=false write=false live 1->1
inst db sa=db@default live=true link=false write=true +cert(managed=true) live 0->1
review db@default=false []
event db@default account appeared returned after being`},
		{desc: "a name new here while it is an identity elsewhere waits for review",
			s: func() *hostState {
				s := newHost()
				s.host.Tags, s.host.Env = []string{"env=staging"}, "staging"
				s.established["billing"] = []string{"prod"}
				return s
			},
			p: planReport("app2", "m2", p0, planAccount("billing"), planAccount("solo")), recv: p0, want: `
result new=2 gone=0 cred+0 cred-0 events=3 stale=false unchanged=false review=1
host app2 putName=true putMID=true delOld=false moved=""
inst billing sa=billing@staging live=true link=true write=true (new) live 0->1
inst solo sa=solo@staging live=true link=true write=true (new) live 0->1
review billing@staging=true [prod]
review solo@staging=false []
event billing@staging pending review billing is already`},
		{desc: "a group that has live instances, or that an operator set apart, is not reviewed again",
			s: func() *hostState {
				s := newHost()
				s.sas["billing@default"] = saState{Live: 3}
				s.sas["solo@default"] = saState{Separate: true}
				s.established["billing"], s.established["solo"] = []string{"prod"}, []string{"prod"}
				return s
			},
			p: planReport("app3", "", p0, planAccount("billing"), planAccount("solo")), recv: p0, want: `
result new=2 gone=0 cred+0 cred-0 events=2 stale=false unchanged=false review=0
host app3 putName=true putMID=false delOld=false moved=""
inst billing sa=billing@default live=true link=true write=true (new) live 0->1
inst solo sa=solo@default live=true link=true write=true (new) live 0->1`},
		{desc: "an operator's grouping places a new instance",
			s: func() *hostState {
				s := stateAfter("h1", first)
				s.groups["etl"] = "legacy"
				return s
			},
			p: planReport("web1", "m1", hour, planAccount("app", k1, pw), planAccount("db"), planAccount("etl")), recv: hour, want: `
result new=1 gone=0 cred+0 cred-0 events=1 stale=false unchanged=false review=0
host web1 putName=false putMID=false delOld=false moved=""
inst app sa=app@default live=true link=false write=false live 1->1
inst db sa=db@default live=true link=false write=false live 1->1
inst etl sa=etl@legacy live=true link=true write=true (new) live 0->1
review etl@legacy=false []`},
		{desc: "a renamed host (same machine-id) is moved; its identity follows",
			s: func() *hostState {
				s := stateAfter("h1", first)
				s.host.Bound = &hostBinding{Name: "web1", Hostname: "web1", MachineID: "m1"}
				s.oldNameIdx, s.nameIdx = "h1", ""
				return s
			},
			p: planReport("web1.example", "m1", hour, planAccount("app", k1, pw), planAccount("db")), recv: hour, want: `
result new=0 gone=0 cred+0 cred-0 events=0 stale=false unchanged=false review=0
host web1.example putName=true putMID=false delOld=true moved="hostname web1 -> web1.example (host identity web1 follows)"
inst app sa=app@default live=true link=false write=false live 1->1
inst db sa=db@default live=true link=false write=false live 1->1`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			s := tc.s()
			pl := planIngest(s, tc.p, tc.recv)
			if got, want := strings.TrimSpace(planText(pl)), strings.TrimSpace(tc.want); got != want {
				t.Errorf("plan\n got:\n%s\nwant:\n%s", got, want)
			}
			if !pl.skip && !pl.host.Received.Equal(tc.recv) {
				t.Errorf("host received %v, want %v", pl.host.Received, tc.recv)
			}
		})
	}
}

func TestPlanIngestBindingFollowsOperatorMove(t *testing.T) {
	first := planReport("web1", "m1", p0, planAccount("app"))
	s := stateAfter("h1", first)
	s.host.Bound = &hostBinding{Name: "web1", Hostname: "web1", MachineID: "m1"}
	s.oldNameIdx = "h1"
	pl := planIngest(s, planReport("web2", "m1", p0.Add(time.Hour), planAccount("app")), p0.Add(time.Hour))
	if b := pl.host.Bound; b == nil || b.Name != "web1" || b.Hostname != "web2" || b.MachineID != "m1" {
		t.Errorf("binding after the move: %+v", b)
	}
	if s.host.Bound.Hostname != "web1" {
		t.Error("planIngest changed its input")
	}
}

func TestCheckSubmitter(t *testing.T) {
	bound := &hostRecord{Host: Host{ID: "h2", Hostname: "app2", MachineID: "m2"},
		Bound: &hostBinding{Name: "app2", Hostname: "app2", MachineID: "m2"}}
	app1 := &hostState{host: hostRecord{Host: Host{ID: "h1", Hostname: "app1", MachineID: "m1"}}}
	app2 := &hostState{host: *bound}
	for _, tc := range []struct {
		desc     string
		bound    *hostRecord
		s        *hostState
		host     scan.Host
		refusal  string // "" accepts
		identity string
	}{
		{"its own host", bound, app2, scan.Host{Hostname: "app2", MachineID: "m2"}, "", "app2"},
		{"its own host, no machine-id sent", bound, app2, scan.Host{Hostname: "app2"}, "", "app2"},
		{"another host's machine-id", bound, app1, scan.Host{Hostname: "app2", MachineID: "m1"}, "is about host app1 (h1); app2 is bound to host app2 (h2)", "app2"},
		{"a host the inventory does not know", bound, newHost(), scan.Host{Hostname: "app9", MachineID: "m9"}, "does not know", "app2"},
		{"renaming itself", bound, app2, scan.Host{Hostname: "app2.new", MachineID: "m2"}, "renaming a host takes an operator", "app2"},
		{"an identity bound to nothing", nil, app2, scan.Host{Hostname: "app2", MachineID: "m2"}, "bound to no host record", "app2"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			err := checkSubmitter(tc.identity, tc.bound, tc.s, &tc.host)
			if tc.refusal == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.refusal) {
				t.Fatalf("err = %v, want a refusal saying %q", err, tc.refusal)
			}
			if _, ok := err.(*HostMismatchError); !ok {
				t.Errorf("err is %T, want *HostMismatchError", err)
			}
		})
	}
}

func TestDiffFPs(t *testing.T) {
	ref := func(fp, loc string) credRef { return credRef{FP: fp, Type: "t", Loc: loc} }
	for _, tc := range []struct {
		prev, cur []credRef
		del, add  string
	}{
		{nil, nil, "", ""},
		{nil, []credRef{ref("a", "1"), ref("a", "2"), ref("b", "1")}, "", "a b"},
		{[]credRef{ref("a", "1")}, []credRef{ref("a", "2")}, "", ""}, // moved, same secret
		{[]credRef{ref("a", "1"), ref("b", "1")}, []credRef{ref("b", "1"), ref("c", "1")}, "a", "c"},
		{[]credRef{ref("a", "1"), ref("a", "2")}, nil, "a", ""},
	} {
		del, add := diffFPs(tc.prev, tc.cur)
		fps := func(l []credRef) string {
			var s []string
			for _, c := range l {
				s = append(s, c.FP)
			}
			return strings.Join(s, " ")
		}
		if fps(del) != tc.del || fps(add) != tc.add {
			t.Errorf("diffFPs(%v, %v) = -%q +%q, want -%q +%q", tc.prev, tc.cur, fps(del), fps(add), tc.del, tc.add)
		}
	}
}

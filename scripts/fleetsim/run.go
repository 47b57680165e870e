package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// run runs the simulation of args and writes its result to out; progress
// goes to log.
func run(ctx context.Context, args []string, out, log io.Writer) (*result, error) {
	o, err := parseFlags(args)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "roster-fleetsim-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintf(log, "fleetsim: work directory %s (kept)\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	bin := o.roster
	if bin == "" {
		fmt.Fprintln(log, "fleetsim: building cmd/roster")
		if bin, err = buildRoster(ctx, work); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(log, "fleetsim: starting %d node(s) on %s\n", o.nodes, storeKind(o.store))
	nodes, err := clusterSetup(ctx, o, bin, work)
	defer func() {
		for _, n := range nodes {
			n.stop()
			n.logf.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	sim, err := newSim(o, nodes)
	if err != nil {
		return nil, err
	}
	if o.store != storeBbolt {
		if sim.db, err = openDBStats(ctx, o.store); err != nil {
			return nil, err
		}
		defer sim.db.close()
	}
	res, err := sim.run(ctx, log)
	if err != nil {
		return nil, err
	}
	if o.json {
		err = res.writeJSON(out)
	} else {
		err = res.writeTable(out)
	}
	return res, err
}

func storeKind(store string) string {
	if store == storeBbolt {
		return storeBbolt
	}
	return "postgres"
}

// sim is one simulation: the nodes, the balancer in front of them, the
// hosts and what they measure.
type sim struct {
	o     *options
	nodes []*node
	b     *balancer
	st    *stats
	op    *operator
	root  *x509.Certificate
	db    *dbStats // nil with bbolt
	hosts []*simHost
}

func newSim(o *options, nodes []*node) (*sim, error) {
	root, err := readRoot(nodes[0].dir)
	if err != nil {
		return nil, err
	}
	token, err := os.ReadFile(filepath.Join(nodes[0].dir, "admin.token"))
	if err != nil {
		return nil, fmt.Errorf("read the admin token: %w", err)
	}
	st := newStats(len(nodes))
	pool := x509.NewCertPool()
	pool.AddCert(root)
	b := &balancer{roots: pool, stats: st}
	for _, n := range nodes {
		b.urls = append(b.urls, n.url())
	}
	b.budget.Store(o.maxRequests)
	return &sim{o: o, nodes: nodes, b: b, st: st, root: root,
		op: &operator{b: b, token: strings.TrimSpace(string(token))}}, nil
}

// sample is a reading of every counter at one moment.
type sample struct {
	at    time.Time
	nodes []time.Duration
	self  time.Duration
	db    dbSample
	files int64         // bbolt files of the nodes' data directories
	dbCPU time.Duration // the PostgreSQL server's, with --db-pid
}

func (s *sim) sample(ctx context.Context) (sample, error) {
	sm := sample{at: time.Now(), self: selfCPU()}
	for _, n := range s.nodes {
		sm.nodes = append(sm.nodes, n.cpu())
		sm.files += boltBytes(n.dir)
	}
	if s.db != nil {
		var err error
		if sm.db, err = s.db.sample(ctx); err != nil {
			return sm, err
		}
	}
	if s.o.dbPID > 0 {
		var err error
		if sm.dbCPU, err = treeCPU(s.o.dbPID); err != nil {
			return sm, fmt.Errorf("--db-pid %d: %w", s.o.dbPID, err)
		}
	}
	return sm, nil
}

// run sets the fleet up, measures the window, and returns the result.
func (s *sim) run(ctx context.Context, log io.Writer) (*result, error) {
	o := s.o
	var idle *idleResult
	if o.idle > 0 {
		fmt.Fprintf(log, "fleetsim: measuring %s with no traffic\n", o.idle)
		var err error
		if idle, err = s.measureIdle(ctx); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(log, "fleetsim: submitting %d host scans, owners for %d accounts\n", o.hosts, o.hosts*o.identities)
	if err := s.op.submitScans(ctx, o.hosts, o.identities); err != nil {
		return nil, err
	}
	hostCtx, stopHosts := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer func() {
		// Stop the hosts before waiting for them, also when the setup
		// failed.
		stopHosts()
		running.Wait()
	}()
	fmt.Fprintf(log, "fleetsim: enrolling %d identities\n", o.hosts*(o.identities+1))
	enrollStart := time.Now()
	if err := s.enrollAll(ctx, hostCtx, &running); err != nil {
		return nil, err
	}
	enrollTime := time.Since(enrollStart)

	if o.warmup > 0 {
		fmt.Fprintf(log, "fleetsim: warming up for %s\n", o.warmup)
		if !sleepCtx(ctx, o.warmup) {
			return nil, ctx.Err()
		}
	}
	fmt.Fprintf(log, "fleetsim: measuring for %s\n", o.duration)
	before, err := s.sample(ctx)
	if err != nil {
		return nil, err
	}
	s.st.measuring.Store(true)
	window, endWindow := context.WithTimeout(ctx, o.duration)
	defer endWindow()
	var chaos sync.WaitGroup
	var chaosErr error
	if o.killAt > 0 {
		chaos.Go(func() { chaosErr = s.killAndRestart(window, log) })
	}
	tick := time.NewTicker(100 * time.Millisecond)
	peakConns := before.db.conns
	for n := 0; window.Err() == nil && s.b.budget.Load() > 0; n++ {
		select {
		case <-window.Done():
		case <-tick.C:
		}
		if s.db != nil && n%10 == 0 {
			if c, err := s.db.conns(ctx); err == nil {
				peakConns = max(peakConns, c)
			}
		}
	}
	tick.Stop()
	s.st.measuring.Store(false)
	after, err := s.sample(ctx)
	if err != nil {
		return nil, err
	}
	endWindow()
	chaos.Wait()
	stopHosts()
	running.Wait()
	now := time.Now()
	for _, h := range s.hosts {
		h.checkLapses(now)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res := s.result(before, after)
	res.Idle = idle
	if s.db != nil {
		// Less the simulator's own connection.
		res.DBPeakConns = max(peakConns, after.db.conns) - 1
	}
	res.Enrolled = len(s.hosts) * (o.identities + 1)
	res.SetupRetries = int(s.op.retries.Load())
	res.EnrollSeconds = enrollTime.Seconds()
	if s.b.budget.Load() <= 0 {
		res.Stopped = "max-requests"
	}
	if chaosErr != nil {
		res.Errors = append(res.Errors, chaosErr.Error())
	}
	return res, nil
}

// enrollAll enrolls every host's identities, o.enrollers at a time, and
// starts each host's renewal loop under hostCtx once its identities are
// enrolled.
func (s *sim) enrollAll(ctx, hostCtx context.Context, running *sync.WaitGroup) error {
	o := s.o
	jobs := make(chan int)
	errs := make(chan error, o.enrollers)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range o.enrollers {
		wg.Go(func() {
			for h := range jobs {
				host, err := s.enrollHost(ctx, h)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				s.hosts = append(s.hosts, host)
				mu.Unlock()
				running.Go(func() { host.run(hostCtx) })
			}
		})
	}
	var err error
feed:
	for h := range o.hosts {
		select {
		case jobs <- h:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// enrollHost enrolls host h's host identity and its accounts' identities.
func (s *sim) enrollHost(ctx context.Context, h int) (*simHost, error) {
	host := &simHost{index: h, b: s.b, st: s.st, root: s.root, rnd: defaultRand, scanEvery: s.o.scanEvery}
	for i := -1; i < s.o.identities; i++ {
		account := ""
		if i >= 0 {
			account = accountName(h, i)
		}
		var id *ident
		err := s.op.retry(ctx, func() (err error) {
			id, err = s.op.enroll(ctx, s.root, hostName(h), account)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("enroll %s on %s: %w", orHost(account), hostName(h), err)
		}
		host.ids = append(host.ids, id)
	}
	return host, nil
}

func orHost(account string) string {
	if account == "" {
		return "the host identity"
	}
	return account
}

// killAndRestart kills one node o.killAt into the window and, with
// --restart-after, starts it again.
func (s *sim) killAndRestart(window context.Context, log io.Writer) error {
	n := s.nodes[s.o.killNode-1]
	if !sleepCtx(window, s.o.killAt) {
		return nil
	}
	fmt.Fprintf(log, "fleetsim: kill -9 %s\n", n.name)
	if err := n.kill(); err != nil {
		return err
	}
	if s.o.restartAfter == 0 || !sleepCtx(window, s.o.restartAfter) {
		return nil
	}
	fmt.Fprintf(log, "fleetsim: restarting %s\n", n.name)
	if err := n.start(window); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("restart %s: %w", n.name, err)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// measureIdle measures o.idle with no request at all.
func (s *sim) measureIdle(ctx context.Context) (*idleResult, error) {
	before, err := s.sample(ctx)
	if err != nil {
		return nil, err
	}
	if !sleepCtx(ctx, s.o.idle) {
		return nil, ctx.Err()
	}
	after, err := s.sample(ctx)
	if err != nil {
		return nil, err
	}
	secs := after.at.Sub(before.at).Seconds()
	var nodes time.Duration
	for i := range s.nodes {
		nodes += after.nodes[i] - before.nodes[i]
	}
	r := &idleResult{Seconds: secs, NodesCPU: nodes.Seconds() / secs}
	if s.db != nil {
		r.DBXacts = float64(after.db.xacts-before.db.xacts) / secs
	}
	if s.o.dbPID > 0 {
		r.DBCPU = (after.dbCPU - before.dbCPU).Seconds() / secs
	}
	return r, nil
}

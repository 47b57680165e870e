// Command renewbench measures certificate renewals per second against
// running servers' POST /1.0/renew over mutual TLS: roster, and step-ca for
// comparison, since both take the same request and give the same response.
//
// Each concurrent client authenticates with its own identity directory (the
// layout roster-agent writes: cert.pem, key.pem, root.pem). Two modes:
//
//   - fresh (the default): every renewal opens a new TLS connection, with a
//     full handshake and no session resumption, and presents the
//     certificate the previous renewal returned, as agents do. Each renewal
//     is a real one, on roster as on step-ca.
//   - replay (alias keepalive): each client keeps one TLS connection,
//     authenticated once with the certificate it held when the run started,
//     and renews on it again and again. Roster renews a certificate once and
//     answers every later renewal of it with that same successor, so against
//     roster this measures the replay answer (no new certificate); step-ca
//     issues a new certificate each time. Replay figures of the two are not
//     comparable, and the output says so.
//
// Every answer must be 201 Created with a chain for the client's key; any
// other answer stops the run. The "new %" column is the share of timed
// renewals answered with a certificate the client did not hold before, and
// "conns" the TLS connections the timed renewals opened.
//
// The current chain of each identity is kept in memory, shared by the
// targets that name the same identity directory, and written back to the
// directory at the end (also after a failure), so that the directory holds
// what the server considers current and a later run can renew it: a stale
// certificate is refused by roster as reuse. Use identities enrolled for the
// benchmark, never those of running agents.
//
//	renewbench --target NAME,URL,IDS[,PID] [--target ...] [--clients 1,8,64]
//	           [--modes fresh,replay] [--n 3000] [--repeat 1]
//
// With several targets, each configuration is run on every target in turn,
// round after round, so that both see the same machine; with --repeat above
// one a median row per target follows, and with two targets the ratio of
// their median rates. Given a server's PID, its CPU time per renewal is read
// from /proc/PID/stat and printed beside the load generator's own.
//
//	renewbench serve-null --listen ADDR --cert FILE --key FILE
//
// serves the floor to compare with: an HTTPS server with roster's TLS
// settings that answers /1.0/renew without signing anything (it returns the
// client's own chain), so that only the connection and the handshake cost.
//
//	renewbench stepca-init --dir DIR [--listen ADDR]
//	renewbench stepca-enroll --dir DIR --url URL --ids IDS [--n N]
//
// set up a step-ca (built elsewhere) to measure beside roster: a CA
// directory with a JWK provisioner, then N identities from the running
// step-ca (stepca.go).
package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rosterhq/roster/agent"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/ca"
)

func main() {
	run := run
	if len(os.Args) > 1 {
		if sub, ok := map[string]func([]string, io.Writer) error{
			"serve-null": serveNull, "stepca-init": stepcaInit, "stepca-enroll": stepcaEnroll,
		}[os.Args[1]]; ok {
			run = sub
			os.Args = os.Args[1:]
		}
	}
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "renewbench:", err)
		os.Exit(1)
	}
}

// The modes; keepalive is accepted for replay.
const (
	modeFresh  = "fresh"
	modeReplay = "replay"
	modeBatch  = "batch"
)

// modeNotes say what each mode measures; they head the output.
var modeNotes = map[string]string{
	modeFresh: "fresh:  a new TLS connection per renewal, presenting the certificate the previous renewal\n" +
		"        returned (as agents do): every renewal is a real one.\n",
	modeReplay: "replay: one TLS connection per client, authenticated once with its first certificate. Against\n" +
		"        roster every renewal after the first on it is a replay (the answer to an earlier renewal,\n" +
		"        no new certificate); against step-ca each is a real renewal. Replay figures of roster and\n" +
		"        step-ca are NOT comparable; see \"new %\".\n",
	modeBatch: "batch:  each client is a host: a new TLS connection per POST /v1/renew-batch, authenticated by\n" +
		"        its host identity, renewing --batch N of its identities (each entry a CSR signed by the\n" +
		"        identity's key and the serial of the certificate it holds). renewals/s and CPU are per\n" +
		"        identity renewed, p50/p99 per batch request, clients = hosts. A target whose identities\n" +
		"        include no host identity (step-ca, which has no batch route) renews them one by one in\n" +
		"        fresh mode instead, its row labelled fresh.\n",
}

// target is one server under test.
type target struct {
	name string
	url  string // base URL
	ids  string // directory of identity directories
	pid  int    // server process, 0 when not known

	idents []*identity // account identities (every identity not a host's own)
	hosts  []*hostSet  // host identities with their accounts, for batch mode
	roots  *x509.CertPool
}

// parseTarget reads NAME,URL,IDS[,PID].
func parseTarget(v string) (*target, error) {
	f := strings.Split(v, ",")
	if len(f) < 3 || len(f) > 4 || f[0] == "" || f[2] == "" {
		return nil, fmt.Errorf("--target %q: want NAME,URL,IDS[,PID]", v)
	}
	u, err := url.Parse(f[1])
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("--target %q: %q is not an https:// URL", v, f[1])
	}
	t := &target{name: f[0], url: strings.TrimSuffix(f[1], "/"), ids: f[2]}
	if len(f) == 4 {
		if t.pid, err = strconv.Atoi(f[3]); err != nil || t.pid < 1 {
			return nil, fmt.Errorf("--target %q: %q is not a process id", v, f[3])
		}
	}
	return t, nil
}

type options struct {
	targets []*target
	clients []int
	modes   []string
	n       int
	warmup  int
	repeat  int
	batch   int // identities per batch request in batch mode
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("renewbench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &options{}
	var clients, modes string
	fs.Func("target", "NAME,URL,IDS[,PID]: a server, its identities and its process; repeat to compare", func(v string) error {
		t, err := parseTarget(v)
		if err == nil {
			o.targets = append(o.targets, t)
		}
		return err
	})
	fs.StringVar(&clients, "clients", "1,8,64", "comma-separated numbers of concurrent clients")
	fs.StringVar(&modes, "modes", "fresh,replay", "comma-separated: fresh, replay (or its old name keepalive)")
	fs.IntVar(&o.n, "n", 3000, "renewals per run")
	fs.IntVar(&o.warmup, "warmup", 2, "untimed renewals per client before each run")
	fs.IntVar(&o.repeat, "repeat", 1, "rounds per configuration; with more than one, median rows follow")
	fs.IntVar(&o.batch, "batch", 10, "identities per POST /v1/renew-batch in batch mode")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w (flags: --target --clients --modes --n --warmup --repeat --batch)", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if len(o.targets) == 0 {
		return nil, errors.New("--target NAME,URL,IDS[,PID] is required")
	}
	if o.n < 1 || o.warmup < 0 || o.repeat < 1 {
		return nil, errors.New("--n and --repeat must be at least 1, --warmup not negative")
	}
	if o.batch < 1 || o.batch > api.MaxRenewBatch {
		return nil, fmt.Errorf("--batch: %d is not within 1..%d", o.batch, api.MaxRenewBatch)
	}
	for f := range strings.SplitSeq(clients, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			return nil, fmt.Errorf("--clients: %q is not a positive number", f)
		}
		o.clients = append(o.clients, c)
	}
	for f := range strings.SplitSeq(modes, ",") {
		switch m := strings.TrimSpace(f); m {
		case modeFresh, modeReplay, modeBatch:
			o.modes = append(o.modes, m)
		case "keepalive":
			o.modes = append(o.modes, modeReplay)
		default:
			return nil, fmt.Errorf("--modes: unknown mode %q (fresh, replay, batch)", m)
		}
	}
	return o, nil
}

func run(args []string, out io.Writer) (err error) {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	// Targets naming the same directory share its identities: what one
	// server issued is what the next run presents.
	sets := map[string]*target{}
	var loaded [][]*identity
	defer func() {
		for _, ids := range loaded {
			err = errors.Join(err, saveIdentities(out, ids))
		}
	}()
	need := slices.Max(o.clients)
	for _, t := range o.targets {
		key := filepath.Clean(t.ids)
		if abs, err := filepath.Abs(t.ids); err == nil {
			key = abs
		}
		if s := sets[key]; s != nil {
			t.idents, t.hosts, t.roots = s.idents, s.hosts, s.roots
		} else {
			var all []*identity
			if all, t.roots, err = loadIdentities(t.ids); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			t.idents, t.hosts = splitHosts(all)
			sets[key] = t
			loaded = append(loaded, all)
		}
		if need > len(t.idents) {
			return fmt.Errorf("%s: %d clients need %d identities, %s has %d", t.name, need, need, t.ids, len(t.idents))
		}
		if slices.Contains(o.modes, modeBatch) && len(t.hosts) > 0 {
			if err := t.checkHosts(need, o.batch); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}
	var seen []string
	for _, m := range o.modes {
		if !slices.Contains(seen, m) {
			seen = append(seen, m)
			fmt.Fprint(out, modeNotes[m])
		}
	}
	const row = "%-10s %-9s %7s %10s %7s %7s %5s %6s %13s %13s\n"
	fmt.Fprintf(out, row, "target", "mode", "clients", "renewals/s", "p50 ms", "p99 ms", "new %", "conns", "client cpu ms", "server cpu ms")
	print := func(t *target, mode, clients string, r *result) {
		server := "-"
		if t.pid > 0 {
			server = fmt.Sprintf("%.3f", r.serverCPU)
		}
		fmt.Fprintf(out, row, t.name, mode, clients, fmt.Sprintf("%.0f", r.rate), fmt.Sprintf("%.1f", r.p50),
			fmt.Sprintf("%.1f", r.p99), fmt.Sprintf("%.0f", r.newPct), fmt.Sprintf("%.0f", r.conns),
			fmt.Sprintf("%.3f", r.clientCPU), server)
	}
	for _, mode := range o.modes {
		label := mode
		if mode == modeBatch {
			label = fmt.Sprintf("%s/%d", mode, o.batch)
		}
		for _, c := range o.clients {
			runs := make([][]*result, len(o.targets))
			for range o.repeat {
				for i, t := range o.targets {
					measure, label := measure, label
					switch {
					case mode == modeBatch && len(t.hosts) > 0:
						measure = measureBatch
					case mode == modeBatch:
						label = "fresh" // no host identities (step-ca): one by one, as it renews
					}
					r, err := measure(o, t, c, mode == modeReplay)
					if err != nil {
						return fmt.Errorf("%s, %s, %d clients: %w", t.name, mode, c, err)
					}
					print(t, label, strconv.Itoa(c), r)
					runs[i] = append(runs[i], r)
				}
			}
			if o.repeat == 1 {
				continue
			}
			meds := make([]*result, len(runs))
			for i, t := range o.targets {
				meds[i] = median(runs[i])
				label := label
				if mode == modeBatch && len(t.hosts) == 0 {
					label = "fresh"
				}
				print(t, label, "median/"+strconv.Itoa(c), meds[i])
			}
			if len(meds) == 2 {
				fmt.Fprintf(out, "%s/%s %s %d clients: %.2fx (new certificates: %.0f%% / %.0f%%)\n", o.targets[0].name,
					o.targets[1].name, label, c, meds[0].rate/meds[1].rate, meds[0].newPct, meds[1].newPct)
			}
		}
	}
	return nil
}

// identity is one client's credential: its key, and the chain it presents
// next, which each renewal replaces.
type identity struct {
	dir    string
	root   *x509.Certificate
	key    crypto.Signer
	loaded *x509.Certificate // the leaf read from dir
	cur    atomic.Pointer[held]
}

// held is a chain and the TLS client certificate made of it.
type held struct {
	chain []*x509.Certificate
	cert  tls.Certificate
}

func (id *identity) current() *held { return id.cur.Load() }

func (id *identity) hold(chain []*x509.Certificate) {
	c := &agent.Credential{Chain: chain, Key: id.key}
	id.cur.Store(&held{chain: chain, cert: c.TLSCertificate()})
}

// loadIdentities reads every identity directory under dir, in name order.
func loadIdentities(dir string) ([]*identity, *x509.CertPool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read identities: %w", err)
	}
	var ids []*identity
	roots := x509.NewCertPool()
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		d := filepath.Join(dir, e.Name())
		st, err := agent.OpenDir(d, "", false)
		if err != nil {
			return nil, nil, err
		}
		c, err := st.Load(context.Background())
		if err != nil {
			return nil, nil, fmt.Errorf("identity %s: %w", d, err)
		}
		root, err := st.LoadRoot()
		if err != nil {
			return nil, nil, fmt.Errorf("identity %s: %w", d, err)
		}
		roots.AddCert(root)
		id := &identity{dir: d, root: root, key: c.Key, loaded: c.Leaf()}
		id.hold(c.Chain)
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, nil, fmt.Errorf("no identity directories in %s", dir)
	}
	return ids, roots, nil
}

// saveIdentities writes back each identity whose certificate the run
// replaced, after checking the chain as the agent does.
func saveIdentities(out io.Writer, ids []*identity) error {
	var errs []error
	saved := 0
	for _, id := range ids {
		h := id.current()
		if h.chain[0].Equal(id.loaded) {
			continue
		}
		err := agent.VerifyChain(h.chain, id.root, id.key.Public(), time.Now())
		if err == nil {
			var st *agent.DirStore
			if st, err = agent.OpenDir(id.dir, "", false); err == nil {
				err = st.Save(context.Background(), &agent.Credential{Chain: h.chain, Key: id.key})
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("save the renewed certificate of %s: %w", id.dir, err))
			continue
		}
		id.loaded = h.chain[0]
		saved++
	}
	if saved > 0 {
		fmt.Fprintf(out, "saved the current certificates of %d identities under %s\n", saved, filepath.Dir(ids[0].dir))
	}
	return errors.Join(errs...)
}

type result struct {
	rate, p50, p99       float64 // renewals/s, milliseconds
	newPct               float64 // renewals answered with a certificate the client did not hold, %
	conns                float64 // TLS connections opened by the timed renewals
	clientCPU, serverCPU float64 // milliseconds per renewal
}

// client renews one identity, in one mode.
type client struct {
	id         *identity
	hc         *http.Client
	handshakes atomic.Int64 // TLS handshakes, each presenting a certificate
}

// newClient makes id's client. In fresh mode each renewal dials anew and
// presents id's current chain; in replay mode the connection is kept and a
// (re)connection presents the chain id held when the client was made.
func newClient(id *identity, roots *x509.CertPool, replay bool) *client {
	c := &client{id: id}
	first := id.current()
	cfg := &tls.Config{
		RootCAs:    roots,
		MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c.handshakes.Add(1)
			if replay {
				return &first.cert, nil
			}
			return &id.current().cert, nil
		},
	}
	c.hc = &http.Client{
		Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: !replay, MaxIdleConnsPerHost: 1},
		Timeout:   time.Minute,
	}
	return c
}

// renew makes one renewal, requires 201 and a chain for the client's key,
// and makes that chain the identity's current one. It reports whether the
// answer is a certificate the identity did not hold.
func (c *client) renew(url string) (bool, error) {
	resp, err := c.hc.Post(url, "application/json", http.NoBody)
	if err != nil {
		return false, fmt.Errorf("%s: %w", c.id.dir, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, fmt.Errorf("%s: read response: %w", c.id.dir, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return false, fmt.Errorf("%s: %s, want 201 Created: %.300s", c.id.dir, resp.Status, body)
	}
	chain, err := agent.DecodeSignResponse(body)
	if err != nil {
		return false, fmt.Errorf("%s: %w", c.id.dir, err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if k, ok := chain[0].PublicKey.(equaler); !ok || !k.Equal(c.id.key.Public()) {
		return false, fmt.Errorf("%s: the answer's certificate %s is for another key than the client's", c.id.dir, chain[0].SerialNumber)
	}
	prev := c.id.current().chain[0]
	c.id.hold(chain)
	return !chain[0].Equal(prev), nil
}

func measure(o *options, t *target, n int, replay bool) (*result, error) {
	url := t.url + "/1.0/renew"
	clients := make([]*client, n)
	for i, id := range t.idents[:n] {
		clients[i] = newClient(id, t.roots, replay)
		defer clients[i].hc.CloseIdleConnections()
		for range o.warmup {
			if _, err := clients[i].renew(url); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	workers := make([]func() (int, int, error), len(clients))
	for i, c := range clients {
		workers[i] = func() (int, int, error) {
			isNew, err := c.renew(url)
			if isNew {
				return 1, 1, err
			}
			return 1, 0, err
		}
	}
	return timed(o.n, 1, t.pid, workers, handshakes(clients))
}

// handshakes counts the TLS handshakes of clients so far.
func handshakes[C interface{ shakes() int64 }](clients []C) func() int64 {
	return func() (n int64) {
		for _, c := range clients {
			n += c.shakes()
		}
		return n
	}
}

func (c *client) shakes() int64 { return c.handshakes.Load() }

// timed runs the workers concurrently until they have renewed total
// identities, each call renewing per of them and reporting how many it
// renewed and how many of those are new certificates; the first error
// stops the run. Latencies are per call; rates and CPU per identity.
func timed(total, per, pid int, workers []func() (int, int, error), handshakes func() int64) (*result, error) {
	var (
		next    atomic.Int64
		fresh   atomic.Int64
		done    atomic.Int64
		mu      sync.Mutex
		lats    = make([]time.Duration, 0, total/per+1)
		wg      sync.WaitGroup
		failure atomic.Pointer[error]
	)
	hs0 := handshakes()
	cpu0, srv0 := selfCPU(), procCPU(pid)
	start := time.Now()
	for _, w := range workers {
		wg.Go(func() {
			var local []time.Duration
			for failure.Load() == nil && next.Add(int64(per))-int64(per) < int64(total) {
				t0 := time.Now()
				n, k, err := w()
				if err != nil {
					failure.CompareAndSwap(nil, &err)
					return
				}
				local = append(local, time.Since(t0))
				done.Add(int64(n))
				fresh.Add(int64(k))
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, srv1 := selfCPU(), procCPU(pid)
	if err := failure.Load(); err != nil {
		return nil, *err
	}
	slices.Sort(lats)
	pct := func(p float64) float64 {
		return float64(lats[int(float64(len(lats)-1)*p)].Microseconds()) / 1000
	}
	renewed := float64(done.Load())
	return &result{
		rate:      renewed / elapsed.Seconds(),
		p50:       pct(0.50),
		p99:       pct(0.99),
		newPct:    100 * float64(fresh.Load()) / renewed,
		conns:     float64(handshakes() - hs0),
		clientCPU: float64((cpu1 - cpu0).Microseconds()) / 1000 / renewed,
		serverCPU: float64((srv1 - srv0).Microseconds()) / 1000 / renewed,
	}, nil
}

// median takes each figure's median over runs on its own.
func median(runs []*result) *result {
	pick := func(f func(*result) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return &result{
		rate:      pick(func(r *result) float64 { return r.rate }),
		p50:       pick(func(r *result) float64 { return r.p50 }),
		p99:       pick(func(r *result) float64 { return r.p99 }),
		newPct:    pick(func(r *result) float64 { return r.newPct }),
		conns:     pick(func(r *result) float64 { return r.conns }),
		clientCPU: pick(func(r *result) float64 { return r.clientCPU }),
		serverCPU: pick(func(r *result) float64 { return r.serverCPU }),
	}
}

// selfCPU is the user and system CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the user and system CPU time process pid has used, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s); zero when
// pid is 0 or unreadable.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields count from after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// serveNull runs the null server until the process is stopped. Its TLS
// settings are roster's listener's (ca.ListenerTLSConfig) and its GC target
// is roster server's.
func serveNull(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("renewbench serve-null", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "127.0.0.1:18445", "address to listen on")
	certFile := fs.String("cert", "", "server certificate chain (PEM)")
	keyFile := fs.String("key", "", "server key (PEM)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("serve-null: %w (flags: --listen --cert --key)", err)
	}
	if *certFile == "" || *keyFile == "" {
		return errors.New("serve-null: --cert and --key are required")
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return fmt.Errorf("serve-null: %w", err)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("serve-null: %w", err)
	}
	cfg := ca.ListenerTLSConfig()
	cfg.Certificates = []tls.Certificate{cert}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /1.0/renew", nullRenew)
	fmt.Fprintf(out, "serve-null listening on https://%s\n", ln.Addr())
	return http.Serve(tls.NewListener(ln, cfg), mux)
}

// nullRenew answers a renewal with the client's own chain, in the shape of
// a sign response.
func nullRenew(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		http.Error(w, "a client certificate is required", http.StatusUnauthorized)
		return
	}
	var chain []string
	for _, c := range r.TLS.PeerCertificates {
		chain = append(chain, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	body, err := json.Marshal(map[string]any{"crt": chain[0], "ca": chain[len(chain)-1], "certChain": chain})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(body)
}

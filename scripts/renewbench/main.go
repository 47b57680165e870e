// Command renewbench measures certificate renewals per second against
// running servers' POST /1.0/renew over mutual TLS: roster, and step-ca for
// comparison, since both answer the same request with the same response.
//
// Each concurrent client authenticates with its own identity directory (the
// layout roster-agent writes: cert.pem, key.pem, root.pem) and renews the
// same certificate again and again. In fresh mode every renewal opens a new
// TLS connection with a full handshake and no session resumption, as agents
// do; in keepalive mode each client keeps its connection. Every response is
// decoded as a certificate chain; any failure stops the run.
//
//	renewbench --target NAME,URL,IDS[,PID] [--target ...] [--clients 1,8,64]
//	           [--modes fresh,keepalive] [--n 3000] [--repeat 1]
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
package main

import (
	"context"
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
	"github.com/rosterhq/roster/ca"
)

func main() {
	run := run
	if len(os.Args) > 1 && os.Args[1] == "serve-null" {
		run = serveNull
		os.Args = os.Args[1:]
	}
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "renewbench:", err)
		os.Exit(1)
	}
}

// target is one server under test.
type target struct {
	name string
	url  string // base URL
	ids  string // directory of identity directories
	pid  int    // server process, 0 when not known

	creds []*agent.Credential
	roots *x509.CertPool
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
	fs.StringVar(&modes, "modes", "fresh,keepalive", "comma-separated: fresh, keepalive")
	fs.IntVar(&o.n, "n", 3000, "renewals per run")
	fs.IntVar(&o.warmup, "warmup", 2, "untimed renewals per client before each run")
	fs.IntVar(&o.repeat, "repeat", 1, "rounds per configuration; with more than one, median rows follow")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w (flags: --target --clients --modes --n --warmup --repeat)", err)
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
	for f := range strings.SplitSeq(clients, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			return nil, fmt.Errorf("--clients: %q is not a positive number", f)
		}
		o.clients = append(o.clients, c)
	}
	for f := range strings.SplitSeq(modes, ",") {
		switch m := strings.TrimSpace(f); m {
		case "fresh", "keepalive":
			o.modes = append(o.modes, m)
		default:
			return nil, fmt.Errorf("--modes: unknown mode %q (fresh, keepalive)", m)
		}
	}
	return o, nil
}

func run(args []string, out io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	need := slices.Max(o.clients)
	for _, t := range o.targets {
		if t.creds, t.roots, err = loadIdentities(t.ids); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		if need > len(t.creds) {
			return fmt.Errorf("%s: %d clients need %d identities, %s has %d", t.name, need, need, t.ids, len(t.creds))
		}
	}
	const row = "%-10s %-9s %7s %10s %7s %7s %13s %13s\n"
	fmt.Fprintf(out, row, "target", "mode", "clients", "renewals/s", "p50 ms", "p99 ms", "client cpu ms", "server cpu ms")
	print := func(t *target, mode, clients string, r *result) {
		server := "-"
		if t.pid > 0 {
			server = fmt.Sprintf("%.3f", r.serverCPU)
		}
		fmt.Fprintf(out, row, t.name, mode, clients, fmt.Sprintf("%.0f", r.rate), fmt.Sprintf("%.1f", r.p50),
			fmt.Sprintf("%.1f", r.p99), fmt.Sprintf("%.3f", r.clientCPU), server)
	}
	for _, mode := range o.modes {
		for _, c := range o.clients {
			runs := make([][]*result, len(o.targets))
			for range o.repeat {
				for i, t := range o.targets {
					r, err := measure(o, t, c, mode == "keepalive")
					if err != nil {
						return fmt.Errorf("%s, %s, %d clients: %w", t.name, mode, c, err)
					}
					print(t, mode, strconv.Itoa(c), r)
					runs[i] = append(runs[i], r)
				}
			}
			if o.repeat == 1 {
				continue
			}
			meds := make([]*result, len(runs))
			for i, t := range o.targets {
				meds[i] = median(runs[i])
				print(t, mode, "median/"+strconv.Itoa(c), meds[i])
			}
			if len(meds) == 2 {
				fmt.Fprintf(out, "%s/%s %s %d clients: %.2fx\n", o.targets[0].name, o.targets[1].name, mode, c, meds[0].rate/meds[1].rate)
			}
		}
	}
	return nil
}

// loadIdentities reads every identity directory under dir, in name order.
func loadIdentities(dir string) ([]*agent.Credential, *x509.CertPool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read identities: %w", err)
	}
	var creds []*agent.Credential
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
		creds = append(creds, c)
	}
	if len(creds) == 0 {
		return nil, nil, fmt.Errorf("no identity directories in %s", dir)
	}
	return creds, roots, nil
}

type result struct {
	rate, p50, p99       float64 // renewals/s, milliseconds
	clientCPU, serverCPU float64 // milliseconds per renewal
}

func newClient(c *agent.Credential, roots *x509.CertPool, keepAlive bool) *http.Client {
	cfg := &tls.Config{
		RootCAs:      roots,
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{c.TLSCertificate()},
	}
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 1},
		Timeout:   time.Minute,
	}
}

func renew(hc *http.Client, url string) error {
	resp, err := hc.Post(url, "application/json", http.NoBody)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %.200s", resp.Status, body)
	}
	if _, err := agent.DecodeSignResponse(body); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

func measure(o *options, t *target, n int, keepAlive bool) (*result, error) {
	url := t.url + "/1.0/renew"
	clients := make([]*http.Client, n)
	for i, c := range t.creds[:n] {
		clients[i] = newClient(c, t.roots, keepAlive)
		defer clients[i].CloseIdleConnections()
		for range o.warmup {
			if err := renew(clients[i], url); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	var (
		next    atomic.Int64
		mu      sync.Mutex
		lats    = make([]time.Duration, 0, o.n)
		wg      sync.WaitGroup
		failure atomic.Pointer[error]
	)
	cpu0, srv0 := selfCPU(), procCPU(t.pid)
	start := time.Now()
	for _, hc := range clients {
		wg.Go(func() {
			var local []time.Duration
			for failure.Load() == nil && next.Add(1) <= int64(o.n) {
				t0 := time.Now()
				if err := renew(hc, url); err != nil {
					failure.CompareAndSwap(nil, &err)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, srv1 := selfCPU(), procCPU(t.pid)
	if err := failure.Load(); err != nil {
		return nil, *err
	}
	slices.Sort(lats)
	pct := func(p float64) float64 {
		return float64(lats[int(float64(len(lats)-1)*p)].Microseconds()) / 1000
	}
	done := float64(len(lats))
	return &result{
		rate:      done / elapsed.Seconds(),
		p50:       pct(0.50),
		p99:       pct(0.99),
		clientCPU: float64((cpu1 - cpu0).Microseconds()) / 1000 / done,
		serverCPU: float64((srv1 - srv0).Microseconds()) / 1000 / done,
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

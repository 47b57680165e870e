// Command fleetsim simulates a fleet of hosts, each with its host identity
// and several service-account identities, against one to three real roster
// server processes on 127.0.0.1, with certificate lifetimes compressed
// (one hour becomes a minute), and measures what the fleet costs the
// servers and the database.
//
//	go run ./scripts/fleetsim --nodes 2 --store postgres://… --hosts 200 --identities 10 \
//	    --lifetime 60s --duration 3m [--kill-node-at 60s [--restart-after 20s]] [--json]
//
// It builds cmd/roster (or takes --roster BIN), starts the nodes (the first
// initialises its data directory, the others start from a copy of it with
// the same --store, as the README's "PostgreSQL store" describes; bbolt
// allows one node), submits the scan of every made-up host, gives every
// account an owner in one owner import, and enrolls every identity through
// POST /v1/enrollments and POST /v1/enroll, as roster-agent enroll does.
// From its enrollment on, each host renews its identities at roster-agent's
// schedule (two thirds of the lifetime less a jitter, at least half of the
// remaining validity; see schedule.go) over a fresh mutual-TLS connection
// each time: those due within the same window in one POST /v1/renew-batch
// authenticated by the host identity, a single one over POST /1.0/renew,
// with the agent's backoff after a failure. It re-submits its host scan
// every --scan-every. Requests go to the nodes in turn, and one that cannot
// be reached is skipped for the next, as behind a load balancer.
//
// The measured window opens --warmup after every identity is enrolled and
// lasts --duration, or until --max-requests (setup included) are spent. It
// reports identities renewed per second, p50 and p99 latency per request
// kind, refusals by status, failovers, the CPU time each node spent per
// identity renewed (utime+stime from /proc/PID/stat), and with PostgreSQL
// the database's transactions (pg_stat_database) and growth per renewal,
// and given --db-pid the database server's CPU per renewal (postmaster
// and backends). --idle measures the same with no traffic first, the
// floor that does not grow with the fleet.
// A lapse, an identity whose certificate expired before it was renewed, is
// a failure: the exit status is 1 when there was any. --kill-node-at kills
// one node with SIGKILL that long into the window (and --restart-after
// starts it again later): with more than one node, or a restart sooner
// than a third of the lifetime, there must still be no lapse.
//
// Everything listens on loopback and lives in a temporary directory,
// removed at the end unless --keep.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rosterhq/roster/api"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetsim:", err)
		os.Exit(2)
	}
	if res.Lapses > 0 {
		fmt.Fprintf(os.Stderr, "fleetsim: %d identities lapsed (their certificate expired before renewal)\n", res.Lapses)
		os.Exit(1)
	}
}

// storeBbolt is --store's value for the embedded store.
const storeBbolt = "bbolt"

// Bounds on the simulation, so that a typo cannot exhaust the machine.
const (
	maxNodes      = 3
	maxHosts      = 20000
	maxIdentities = api.MaxRenewBatch - 1 // a batch holds every identity of a host, its own included
	minLifetime   = 10 * time.Second
	maxDuration   = 2 * time.Hour
)

type options struct {
	nodes        int
	store        string // storeBbolt or a postgres:// URL
	hosts        int
	identities   int // service-account identities per host, besides the host identity
	lifetime     time.Duration
	duration     time.Duration
	warmup       time.Duration
	maxRequests  int64
	scanEvery    time.Duration
	killAt       time.Duration
	killNode     int // 1-based
	restartAfter time.Duration
	enrollers    int
	dbPID        int           // the PostgreSQL server's postmaster, for its CPU; 0 when not known
	idle         time.Duration // measured with no traffic before the setup
	roster       string        // prebuilt roster binary; empty: go build
	json         bool
	keep         bool
}

const usage = "flags: --nodes --store --hosts --identities --lifetime --duration --max-requests --scan-every " +
	"--kill-node-at --kill-node --restart-after --enrollers --db-pid --idle --roster --json --keep"

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("fleetsim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &options{}
	fs.IntVar(&o.nodes, "nodes", 1, "roster server processes, 1 to 3 (more than one needs PostgreSQL)")
	fs.StringVar(&o.store, "store", storeBbolt, "bbolt, or a postgres:// URL shared by the nodes")
	fs.IntVar(&o.hosts, "hosts", 20, "simulated hosts")
	fs.IntVar(&o.identities, "identities", 10, "service-account identities per host, besides its host identity")
	fs.DurationVar(&o.lifetime, "lifetime", time.Minute, "certificate lifetime (--default-validity of the nodes)")
	fs.DurationVar(&o.duration, "duration", 3*time.Minute, "length of the measured window")
	fs.DurationVar(&o.warmup, "warmup", 0, "time between the last enrollment and the window, for the first renewals after enrollment to pass")
	fs.Int64Var(&o.maxRequests, "max-requests", 1_000_000, "most requests of the whole run, setup included")
	fs.DurationVar(&o.scanEvery, "scan-every", 0, "host scan interval (default: the lifetime, as one-hour certificates with the agent's hourly scan)")
	fs.DurationVar(&o.killAt, "kill-node-at", 0, "kill one node with SIGKILL this long into the window (0: never)")
	fs.IntVar(&o.killNode, "kill-node", 0, "which node --kill-node-at kills, 1-based (default: the last)")
	fs.DurationVar(&o.restartAfter, "restart-after", 0, "start the killed node again this long after the kill (0: leave it down)")
	fs.IntVar(&o.enrollers, "enrollers", 8, "enrollments at once during setup")
	fs.IntVar(&o.dbPID, "db-pid", 0, "process id of the PostgreSQL server (postmaster), to measure its CPU with its backends'")
	fs.DurationVar(&o.idle, "idle", 0, "measure the nodes and the database this long with no traffic before the setup")
	fs.StringVar(&o.roster, "roster", "", "roster binary to run (default: go build ./cmd/roster)")
	fs.BoolVar(&o.json, "json", false, "print the result as JSON")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (data directories, node logs)")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w (%s)", err, usage)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (%s)", fs.Arg(0), usage)
	}
	if o.scanEvery == 0 {
		o.scanEvery = o.lifetime
	}
	if o.killNode == 0 {
		o.killNode = o.nodes
	}
	return o, o.check()
}

// check reports the first bad option.
func (o *options) check() error {
	switch {
	case o.nodes < 1 || o.nodes > maxNodes:
		return fmt.Errorf("--nodes %d: want 1 to %d", o.nodes, maxNodes)
	case o.store != storeBbolt && !strings.HasPrefix(o.store, "postgres://") && !strings.HasPrefix(o.store, "postgresql://"):
		return errors.New("--store: want bbolt or a postgres:// URL")
	case o.store == storeBbolt && o.nodes > 1:
		return errors.New("--nodes: several nodes share a PostgreSQL database (--store postgres://…); bbolt is one node's")
	case o.hosts < 1 || o.hosts > maxHosts:
		return fmt.Errorf("--hosts %d: want 1 to %d", o.hosts, maxHosts)
	case o.identities < 0 || o.identities > maxIdentities:
		return fmt.Errorf("--identities %d: want 0 to %d", o.identities, maxIdentities)
	case o.lifetime < minLifetime || o.lifetime > 24*time.Hour:
		return fmt.Errorf("--lifetime %s: want %s to 24h", o.lifetime, minLifetime)
	case o.duration <= 0 || o.duration > maxDuration:
		return fmt.Errorf("--duration %s: want more than 0, at most %s", o.duration, maxDuration)
	case o.warmup < 0 || o.warmup > maxDuration:
		return fmt.Errorf("--warmup %s: want 0 to %s", o.warmup, maxDuration)
	case o.maxRequests < 1:
		return errors.New("--max-requests must be at least 1")
	case o.scanEvery < time.Second:
		return fmt.Errorf("--scan-every %s: want at least 1s", o.scanEvery)
	case o.killAt < 0 || o.killAt >= o.duration:
		return fmt.Errorf("--kill-node-at %s: want 0 (never) or less than --duration %s", o.killAt, o.duration)
	case o.killNode < 1 || o.killNode > o.nodes:
		return fmt.Errorf("--kill-node %d: want 1 to %d", o.killNode, o.nodes)
	case o.restartAfter < 0:
		return errors.New("--restart-after must not be negative")
	case o.killAt > 0 && o.nodes == 1 && o.restartAfter == 0:
		return errors.New("--kill-node-at with one node needs --restart-after: else every identity lapses")
	case o.dbPID < 0 || (o.dbPID > 0 && o.store == storeBbolt):
		return errors.New("--db-pid: want the process id of the PostgreSQL server of --store postgres://…")
	case o.idle < 0 || o.idle > maxDuration:
		return fmt.Errorf("--idle %s: want 0 to %s", o.idle, maxDuration)
	case o.enrollers < 1 || o.enrollers > 64:
		return fmt.Errorf("--enrollers %d: want 1 to 64", o.enrollers)
	}
	return nil
}

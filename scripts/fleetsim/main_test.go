package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/pgtest"
)

// rosterBin builds cmd/roster once for the package's tests.
var rosterBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "fleetsim-test-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	return buildRoster(context.Background(), dir)
})

var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// simulate runs fleetsim with args against the test's roster binary and
// returns its result, decoded from --json as a user would read it.
func simulate(t *testing.T, args ...string) *result {
	t.Helper()
	bin, err := rosterBin()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out, log bytes.Buffer
	res, err := run(ctx, append([]string{"--roster", bin, "--json"}, args...), &out, &log)
	if err != nil {
		t.Fatalf("fleetsim %s: %v\n%s", strings.Join(args, " "), err, log.String())
	}
	var got result
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	if got.Renewed != res.Renewed || got.Lapses != res.Lapses {
		t.Errorf("--json says %d renewed, %d lapses; the run %d, %d", got.Renewed, got.Lapses, res.Renewed, res.Lapses)
	}
	t.Logf("fleetsim %s:\n%s", strings.Join(args, " "), out.String())
	return &got
}

// checkHealthy asserts what every run must show: renewals in batches and
// scans, no lapse, no refusal, CPU per renewal measured.
func checkHealthy(t *testing.T, r *result) {
	t.Helper()
	if r.Lapses != 0 {
		t.Errorf("%d lapses: %+v", r.Lapses, r.LapsedIDs)
	}
	if r.Renewed == 0 || r.Latency[kindBatch].Count == 0 {
		t.Errorf("renewed %d identities in %d batches, want some", r.Renewed, r.Latency[kindBatch].Count)
	}
	if r.Scans == 0 {
		t.Error("no host scan was submitted")
	}
	if len(r.Refusals) != 0 {
		t.Errorf("refusals: %v", r.Refusals)
	}
	if r.CPUPerRenewal <= 0 {
		t.Errorf("server CPU per renewal %v, want more than 0", r.CPUPerRenewal)
	}
}

// A tiny real fleet on one bbolt node: every identity renewed in time.
func TestFleetBbolt(t *testing.T) {
	t.Parallel()
	r := simulate(t, "--hosts", "4", "--identities", "2", "--lifetime", "12s", "--duration", "15s")
	checkHealthy(t, r)
	if r.Enrolled != 12 || r.DBXacts != nil {
		t.Errorf("enrolled %d, want 12; database transactions %v, want none on bbolt", r.Enrolled, r.DBXacts)
	}
}

// Two nodes on one PostgreSQL database, the second killed with SIGKILL
// mid-window and left down: the fleet fails over to the first, and no
// identity lapses.
func TestFleetPostgresNodeKilled(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t, pgtest.Options{})
	_, url := pg.NewDatabase()
	pid, err := os.ReadFile(filepath.Join(pg.Dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	r := simulate(t, "--nodes", "2", "--store", url, "--db-pid", strings.SplitN(string(pid), "\n", 2)[0],
		"--hosts", "3", "--identities", "2",
		"--lifetime", "12s", "--duration", "15s", "--kill-node-at", "4s")
	checkHealthy(t, r)
	if r.PerNode[1].Kills != 1 || r.PerNode[0].Renewed == 0 {
		t.Errorf("per node: %+v, want node2 killed once and node1 renewing", r.PerNode)
	}
	if r.DBXacts == nil || *r.DBXacts <= 0 || r.DBXactsPerRen == nil {
		t.Errorf("database transactions %v, want some", r.DBXacts)
	}
	if r.DBPeakConns < 2 || r.DBTableBytes["audit"] <= 0 {
		t.Errorf("database: %d connections at most, audit growth %v bytes/renewal; want two nodes' and some",
			r.DBPeakConns, r.DBTableBytes["audit"])
	}
	if r.DBCPUSeconds == nil || *r.DBCPUSeconds <= 0 {
		t.Errorf("database server CPU %v, want some", r.DBCPUSeconds)
	}
}

// A setup that fails once some hosts already renew (here: the request
// budget spent during enrollment) ends the run with the error, after
// stopping those hosts.
func TestFleetSetupFails(t *testing.T) {
	t.Parallel()
	bin, err := rosterBin()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, err = run(ctx, []string{"--roster", bin, "--hosts", "4", "--identities", "2", "--lifetime", "12s",
		"--duration", "10s", "--max-requests", "15", "--enrollers", "1"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--max-requests") || ctx.Err() != nil {
		t.Errorf("run: %v (context: %v), want the budget's error", err, ctx.Err())
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string // error substring; "" for none
	}{
		{args: nil},
		{args: []string{"--nodes", "2", "--store", "postgres://u@127.0.0.1:5432/db"}},
		{args: []string{"--nodes", "4", "--store", "postgres://u@127.0.0.1/db"}, want: "--nodes 4: want 1 to 3"},
		{args: []string{"--nodes", "2"}, want: "bbolt is one node's"},
		{args: []string{"--store", "mysql://x"}, want: "want bbolt or a postgres:// URL"},
		{args: []string{"--identities", "64"}, want: "--identities 64: want 0 to 63"},
		{args: []string{"--lifetime", "1s"}, want: "--lifetime 1s: want 10s to 24h"},
		{args: []string{"--kill-node-at", "10s"}, want: "needs --restart-after"},
		{args: []string{"--kill-node-at", "10s", "--restart-after", "5s"}},
		{args: []string{"--kill-node-at", "5m", "--duration", "3m"}, want: "less than --duration"},
		{args: []string{"--max-requests", "0"}, want: "--max-requests must be at least 1"},
		{args: []string{"--db-pid", "1"}, want: "--db-pid: want the process id of the PostgreSQL server"},
		{args: []string{"extra"}, want: `unexpected argument "extra"`},
		{args: []string{"--bogus"}, want: "flag provided but not defined"},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.args)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%v: %v", tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%v: error %v, want %q", tt.args, err, tt.want)
		}
	}
	o, err := parseFlags([]string{"--nodes", "3", "--store", "postgres://u@h/d", "--lifetime", "30s"})
	if err != nil || o.killNode != 3 || o.scanEvery != 30*time.Second {
		t.Errorf("defaults: kill node %d, scan every %v (%v), want 3 and the lifetime", o.killNode, o.scanEvery, err)
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		desc, stat string
		want       procStat
		bad        bool
	}{
		{desc: "plain", stat: "123 (roster) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 9 0 1000 0 0",
			want: procStat{ppid: 1, cpu: 3 * time.Second, children: 100 * time.Millisecond}},
		{desc: "command name with spaces and parentheses", stat: "7 (a) b (c) R 42 7 7 0 -1 0 0 0 0 0 1 2 0 0 20",
			want: procStat{ppid: 42, cpu: 30 * time.Millisecond}},
		{desc: "no command name", stat: "7 a R 1", bad: true},
		{desc: "short", stat: "7 (a) R 1 2 3", bad: true},
		{desc: "not a number", stat: "7 (a) R 1 7 7 0 -1 0 0 0 0 0 x 2 0 0 20", bad: true},
	}
	for _, tt := range tests {
		got, err := parseStat(tt.stat)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("%s: %+v, %v; want %+v (error %v)", tt.desc, got, err, tt.want, tt.bad)
		}
	}
}

// treeCPU counts at least what the process itself used (read first: the
// counts only grow).
func TestTreeCPU(t *testing.T) {
	own, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	self, err := treeCPU(os.Getpid())
	if err != nil || self < own {
		t.Fatalf("tree CPU %v is less than the process's own %v (%v)", self, own, err)
	}
	if _, err := treeCPU(-1); err == nil {
		t.Error("treeCPU of no process gave no error")
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		d := make([]time.Duration, len(v))
		for i, x := range v {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	tests := []struct {
		desc     string
		d        []time.Duration
		p50, p99 float64
	}{
		{desc: "empty", d: nil},
		{desc: "one", d: ms(7), p50: 7, p99: 7},
		{desc: "unsorted", d: ms(5, 1, 4, 2, 3), p50: 3, p99: 5},
		{desc: "hundred", d: func() []time.Duration {
			v := make([]int, 100)
			for i := range v {
				v[i] = 100 - i
			}
			return ms(v...)
		}(), p50: 50, p99: 99},
	}
	for _, tt := range tests {
		got := summarize(tt.d)
		if got.Count != len(tt.d) || got.P50 != tt.p50 || got.P99 != tt.p99 {
			t.Errorf("%s: %+v, want p50 %v p99 %v", tt.desc, got, tt.p50, tt.p99)
		}
	}
}

// The table says what it measured, and a lapse is printed.
func TestWriteTable(t *testing.T) {
	x, per := int64(90), 1.5
	r := &result{Nodes: 2, Store: "postgres", Hosts: 2, PerHost: 3, Lifetime: "1m0s", Enrolled: 6, EnrollSeconds: 1,
		Seconds: 10, Renewed: 60, RenewalsPerSec: 6, Latency: map[string]latency{kindBatch: {Count: 20, P50: 5, P99: 9}},
		Refusals: map[string]int{"renew 403": 1}, Lapses: 1,
		LapsedIDs: []lapse{{Identity: "roster.local/host/sim00001", NotAfter: time.Unix(0, 0).UTC(), SeenAt: time.Unix(1, 0).UTC()}},
		PerNode:   []nodeResult{{Name: "node1", Renewed: 60, CPUSeconds: 0.6, CPUPerRenewal: 10}, {Name: "node2", Kills: 1}},
		DBXacts:   &x, DBXactsPerRen: &per}
	var b bytes.Buffer
	if err := r.writeTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 hosts x 3 identities (6)", "6.0 renewals/s", "renew-batch     20     5.0     9.0",
		"node2        0   0.00           0.000      1", "database: 90 transactions, 1.50 per renewal",
		"refusals: renew 403: 1", "LAPSE: roster.local/host/sim00001 expired 1970-01-01T00:00:00Z"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if err := r.writeTable(failingWriter{}); err == nil {
		t.Error("a failing writer gave no error")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

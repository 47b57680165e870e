package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/internal/textout"
)

// result is what a run measured; --json prints it as is.
type result struct {
	Nodes         int     `json:"nodes"`
	Store         string  `json:"store"` // bbolt or postgres
	Hosts         int     `json:"hosts"`
	PerHost       int     `json:"identities_per_host"` // the host identity and its accounts'
	Lifetime      string  `json:"lifetime"`
	Enrolled      int     `json:"enrolled"`
	EnrollSeconds float64 `json:"enroll_seconds"`
	SetupRetries  int     `json:"setup_retries"` // setup steps tried again after an error

	Seconds        float64 `json:"seconds"` // the measured window
	Stopped        string  `json:"stopped,omitempty"`
	Renewed        int     `json:"renewed"` // identities renewed in the window
	RenewalsPerSec float64 `json:"renewals_per_second"`
	// Expected is the steady state of the agent's schedule for this
	// fleet: identities divided by the mean renewal interval of one
	// identity (renewalInterval). Batches renew a little more often when
	// the jitter decides (two thirds of a long lifetime): the earliest
	// identity due takes the others along.
	Expected  float64            `json:"expected_renewals_per_second"`
	Latency   map[string]latency `json:"latency"`
	Scans     int                `json:"scans"`
	Refusals  map[string]int     `json:"refusals"`
	Failovers int                `json:"failovers"`
	Lapses    int                `json:"lapses"`
	LapsedIDs []lapse            `json:"lapsed,omitempty"`

	PerNode          []nodeResult       `json:"per_node"`
	CPUPerRenewal    float64            `json:"server_cpu_ms_per_renewal"` // all nodes
	ClientCPUPerRen  float64            `json:"simulator_cpu_ms_per_renewal"`
	DBXacts          *int64             `json:"db_transactions,omitempty"`
	DBXactsPerRen    *float64           `json:"db_transactions_per_renewal,omitempty"`
	DBPeakConns      int                `json:"db_peak_connections,omitempty"`        // the nodes', sampled every second
	DBTableBytes     map[string]float64 `json:"db_table_bytes_per_renewal,omitempty"` // growth of each roster table's keys and values
	DBCPUSeconds     *float64           `json:"db_cpu_seconds,omitempty"`             // with --db-pid
	DBCPUPerRen      *float64           `json:"db_cpu_ms_per_renewal,omitempty"`
	StoreBytes       int64              `json:"store_growth_bytes"` // bbolt files or the database
	StoreBytesPerRen float64            `json:"store_growth_bytes_per_renewal"`
	Idle             *idleResult        `json:"idle,omitempty"` // with --idle
	Errors           []string           `json:"errors,omitempty"`
}

// idleResult is what the nodes and the database cost with no traffic,
// per second.
type idleResult struct {
	Seconds  float64 `json:"seconds"`
	NodesCPU float64 `json:"nodes_cpu_seconds_per_second"`
	DBXacts  float64 `json:"db_transactions_per_second"`
	DBCPU    float64 `json:"db_cpu_seconds_per_second"`
}

// nodeResult is one node's share.
type nodeResult struct {
	Name          string  `json:"name"`
	Renewed       int     `json:"renewed"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPerRenewal float64 `json:"cpu_ms_per_renewal"`
	Kills         int     `json:"kills"`
}

// result computes the run's figures from the window's two samples.
func (s *sim) result(before, after sample) *result {
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	secs := after.at.Sub(before.at).Seconds()
	r := &result{Nodes: len(s.nodes), Store: storeKind(s.o.store), Hosts: s.o.hosts, PerHost: s.o.identities + 1,
		Lifetime: s.o.lifetime.String(), Seconds: secs, Renewed: st.renewed, Scans: st.scans,
		Latency: map[string]latency{}, Refusals: maps.Clone(st.refusals), Failovers: st.failovers,
		Lapses: len(st.lapses), LapsedIDs: slices.Clone(st.lapses)}
	r.Expected = float64(s.o.hosts*(s.o.identities+1)) / renewalInterval(s.o.lifetime, ca.DefaultBackdate).Seconds()
	if secs > 0 {
		r.RenewalsPerSec = float64(st.renewed) / secs
	}
	for k, d := range st.lat {
		r.Latency[k] = summarize(d)
	}
	per := func(d time.Duration, n int) float64 {
		if n == 0 {
			return 0
		}
		return ms(d) / float64(n)
	}
	var total time.Duration
	for i, n := range s.nodes {
		d := after.nodes[i] - before.nodes[i]
		total += d
		r.PerNode = append(r.PerNode, nodeResult{Name: n.name, Renewed: st.byNode[i], CPUSeconds: d.Seconds(),
			CPUPerRenewal: per(d, st.byNode[i]), Kills: n.kills})
	}
	r.CPUPerRenewal = per(total, st.renewed)
	r.ClientCPUPerRen = per(after.self-before.self, st.renewed)
	if s.db != nil {
		x := after.db.xacts - before.db.xacts
		r.DBXacts = &x
		if st.renewed > 0 {
			v := float64(x) / float64(st.renewed)
			r.DBXactsPerRen = &v
		}
		r.StoreBytes = after.db.bytes - before.db.bytes
		if st.renewed > 0 {
			r.DBTableBytes = map[string]float64{}
			for tbl, n := range after.db.tables {
				if d := n - before.db.tables[tbl]; d != 0 {
					r.DBTableBytes[tbl] = float64(d) / float64(st.renewed)
				}
			}
		}
	}
	if s.o.dbPID > 0 {
		d := after.dbCPU - before.dbCPU
		secs, each := d.Seconds(), per(d, st.renewed)
		r.DBCPUSeconds, r.DBCPUPerRen = &secs, &each
	}
	if r.Store == storeBbolt {
		r.StoreBytes = after.files - before.files
	}
	if st.renewed > 0 {
		r.StoreBytesPerRen = float64(r.StoreBytes) / float64(st.renewed)
	}
	return r
}

// boltBytes is the size of a data directory's bbolt files.
func boltBytes(dir string) int64 {
	var n int64
	for _, f := range []string{"inventory.db", "ca.db"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func (r *result) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeTable prints the result for people.
func (r *result) writeTable(w io.Writer) error {
	out := textout.New(w)
	out.Printf("fleet: %d hosts x %d identities (%d), lifetime %s, %d node(s) on %s\n",
		r.Hosts, r.PerHost, r.Hosts*r.PerHost, r.Lifetime, r.Nodes, r.Store)
	out.Printf("setup: %d identities enrolled in %.1f s (%.0f/s), %d steps tried again\n", r.Enrolled, r.EnrollSeconds,
		float64(r.Enrolled)/max(r.EnrollSeconds, 1e-9), r.SetupRetries)
	stopped := ""
	if r.Stopped != "" {
		stopped = ", stopped by " + r.Stopped
	}
	out.Printf("window: %.1f s%s: %d identities renewed, %.1f renewals/s (agent schedule's steady state: %.1f/s), %d host scans, %d failovers, %d lapses\n",
		r.Seconds, stopped, r.Renewed, r.RenewalsPerSec, r.Expected, r.Scans, r.Failovers, r.Lapses)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	textout.Row(tw, "request", "count", "p50 ms", "p99 ms", "")
	for _, k := range slices.Sorted(maps.Keys(r.Latency)) {
		l := r.Latency[k]
		textout.Row(tw, k, fmt.Sprint(l.Count), fmt.Sprintf("%.1f", l.P50), fmt.Sprintf("%.1f", l.P99), "")
	}
	tw.Flush()
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	textout.Row(tw, "node", "renewed", "cpu s", "cpu ms/renewal", "kills", "")
	for _, n := range r.PerNode {
		textout.Row(tw, n.Name, fmt.Sprint(n.Renewed), fmt.Sprintf("%.2f", n.CPUSeconds), fmt.Sprintf("%.3f", n.CPUPerRenewal), fmt.Sprint(n.Kills), "")
	}
	textout.Row(tw, "all", fmt.Sprint(r.Renewed), "", fmt.Sprintf("%.3f", r.CPUPerRenewal), "", "")
	tw.Flush()
	out.Printf("simulator cpu: %.3f ms/renewal\n", r.ClientCPUPerRen)
	if r.DBXacts != nil {
		per := 0.0
		if r.DBXactsPerRen != nil {
			per = *r.DBXactsPerRen
		}
		out.Printf("database: %d transactions, %.2f per renewal; at most %d connections from the nodes\n", *r.DBXacts, per, r.DBPeakConns)
		for _, tbl := range slices.Sorted(maps.Keys(r.DBTableBytes)) {
			out.Printf("database table %s: %+.0f bytes/renewal (keys and values)\n", tbl, r.DBTableBytes[tbl])
		}
	}
	if r.DBCPUSeconds != nil {
		out.Printf("database server cpu: %.2f s, %.3f ms/renewal\n", *r.DBCPUSeconds, *r.DBCPUPerRen)
	}
	if i := r.Idle; i != nil {
		out.Printf("idle (%.0f s, no traffic): nodes %.4f cpu s/s, database %.1f transactions/s, %.4f cpu s/s\n",
			i.Seconds, i.NodesCPU, i.DBXacts, i.DBCPU)
	}
	out.Printf("store growth: %d bytes, %.0f bytes/renewal\n", r.StoreBytes, r.StoreBytesPerRen)
	if len(r.Refusals) == 0 {
		out.Printf("refusals: none\n")
	}
	for _, k := range slices.Sorted(maps.Keys(r.Refusals)) {
		out.Printf("refusals: %s: %d\n", k, r.Refusals[k])
	}
	for _, l := range r.LapsedIDs {
		out.Printf("LAPSE: %s expired %s, seen %s\n", l.Identity, l.NotAfter.Format(time.RFC3339), l.SeenAt.Format(time.RFC3339))
	}
	for _, e := range r.Errors {
		out.Printf("error: %s\n", e)
	}
	return out.Err()
}

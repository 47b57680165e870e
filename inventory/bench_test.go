package inventory_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// BenchmarkIngest10k ingests 10,000 generated reports of 30 accounts each
// (distinct hosts over four environments, 300,000 instances, of which the
// report counts the 200,000 that are not unused system accounts) from 512
// concurrent submitters, so group commit batches them, and then builds the
// full report. It reports reports/s, the report's time and the file size.
// Targets on a 2-core machine: >= 1,000 reports/s, report < 1 s.
//
//	go test -run '^$' -bench Ingest10k -benchtime 1x ./inventory/
func BenchmarkIngest10k(b *testing.B) {
	const hosts, accounts, workers = 10000, 30, 512
	reports := make([]*scan.Report, hosts)
	counted := 0 // instances the report counts: all but unused system accounts
	for i := range reports {
		reports[i] = inventorytest.Generate(i, accounts, t0)
		for _, a := range reports[i].Accounts {
			if a.Kind != scan.KindSystem {
				counted++
			}
		}
	}
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		inv, path := inventorytest.Open(b, inventory.Options{})
		ctx := context.Background()
		// Environments are host tags; register them before the first scans.
		for e, env := range inventorytest.Envs {
			var names []string
			for i := e; i < hosts; i += len(inventorytest.Envs) {
				names = append(names, reports[i].Host.Hostname)
			}
			if err := inv.TagHosts(ctx, names, []string{"env=" + env}, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		cpu0 := cpuTime()
		start := time.Now()
		var wg sync.WaitGroup
		next := make(chan *scan.Report)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range next {
					if _, err := inv.Ingest(ctx, r); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		for _, r := range reports {
			next <- r
		}
		close(next)
		wg.Wait()
		ingest := time.Since(start)
		cpu := cpuTime() - cpu0
		start = time.Now()
		rep, err := inv.Report(ctx, t0.Add(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		reportTime := time.Since(start)
		b.StopTimer()
		if rep.Instances != counted {
			b.Fatalf("report counts %d instances, want %d", rep.Instances, counted)
		}
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(hosts)/ingest.Seconds(), "reports/s")
		// CPU per report (user+system, all goroutines) does not depend on
		// what else the machine runs; reports/s does.
		b.ReportMetric(float64(cpu.Microseconds())/hosts, "cpu-µs/report")
		b.ReportMetric(reportTime.Seconds()*1000, "report-ms")
		b.ReportMetric(float64(fi.Size())/(1<<20), "db-MiB")
		inv.Close() // skip the full invariant check of 300k instances in the timing loop
		b.StartTimer()
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRecordIssued measures the inventory's share of a certificate
// renewal (Identity, then RecordIssued) with 64 concurrent callers, as the
// issuer does it for agents renewing at once.
func BenchmarkRecordIssued(b *testing.B) {
	inv, _ := inventorytest.Open(b, inventory.Options{})
	ctx := context.Background()
	const hosts = 200
	names := make([]string, hosts)
	for i := range names {
		r := inventorytest.Generate(i, 10, t0)
		if _, err := inv.Ingest(ctx, r); err != nil {
			b.Fatal(err)
		}
		names[i] = r.Host.Hostname
	}
	var n atomicCounter
	b.SetParallelism(32) // 64 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.next()
			host := names[i%hosts]
			if _, err := inv.Identity(ctx, host, "postgres"); err != nil {
				b.Error(err)
			}
			now := t0.Add(time.Duration(i) * time.Millisecond)
			if err := inv.RecordIssued(ctx, host, "postgres", strconv.FormatInt(i, 16), now, now.Add(time.Hour), i >= hosts); err != nil {
				b.Error(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "renewals/s")
}

type atomicCounter struct{ v atomic.Int64 }

func (c *atomicCounter) next() int64 { return c.v.Add(1) - 1 }

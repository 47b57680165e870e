package inventory_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/internal/pgtest"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// openPostgres opens an inventory in a fresh database of pg, checked
// (summaries, indexes, audit chain) and closed when the test ends.
func openPostgres(t testing.TB, pg *pgtest.Instance, opts inventory.Options) *inventory.Inventory {
	t.Helper()
	_, url := pg.NewDatabase()
	s, err := store.OpenPostgres(context.Background(), url, store.PostgresOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.New(context.Background(), s, opts)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { inventorytest.CheckClose(t, inv) })
	return inv
}

// TestPostgresInvariants ingests the same scans into a bbolt inventory one
// at a time and into a PostgreSQL one from eight goroutines at once,
// rescans half the hosts with changed accounts (the merge), and requires
// the same accounts, hosts and report (the summaries) up to arrival order
// (host IDs, list order), and on PostgreSQL a
// verifiable audit chain and consistent summaries and indexes (Check).
func TestPostgresInvariants(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	opts := inventory.Options{Now: func() time.Time { return t0.Add(time.Minute) }}
	pinv := openPostgres(t, pg, opts)
	binv, _ := inventorytest.Open(t, opts)
	const hosts = 40
	var reports []*scan.Report
	for i := range hosts {
		reports = append(reports, inventorytest.Generate(i, 12, t0))
	}
	for i := 0; i < hosts; i += 2 { // the rescan drops and adds accounts
		reports = append(reports, inventorytest.Generate(i, 16, t0.Add(30*time.Second)))
	}
	ctx := audit.WithActor(context.Background(), "test")
	for _, r := range reports {
		if _, err := binv.Ingest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// First scans concurrently, then the rescans concurrently (a rescan
	// must follow its host's first scan).
	ingestAll(t, pinv, reports[:hosts], 8)
	ingestAll(t, pinv, reports[hosts:], 8)
	same := func(what string, get func(*inventory.Inventory) (any, error)) {
		t.Helper()
		b, err := get(binv)
		if err != nil {
			t.Fatal(err)
		}
		p, err := get(pinv)
		if err != nil {
			t.Fatal(err)
		}
		bj, pj := canonical(t, b), canonical(t, p)
		if string(bj) != string(pj) {
			i := 0
			for i < len(bj) && i < len(pj) && bj[i] == pj[i] {
				i++
			}
			from := max(0, i-200)
			t.Errorf("%s differ at byte %d:\nbbolt      %.400s\npostgresql %.400s", what, i, bj[from:], pj[from:])
		}
	}
	same("accounts", func(inv *inventory.Inventory) (any, error) { return inv.ListAccounts(ctx, inventory.Filter{}) })
	same("reports", func(inv *inventory.Inventory) (any, error) { return inv.Report(ctx, t0.Add(time.Hour)) })
	same("hosts", func(inv *inventory.Inventory) (any, error) { return inv.ListHosts(ctx) })
	if err := pinv.Check(ctx); err != nil {
		t.Errorf("PostgreSQL inventory: %v", err)
	}
}

// ingestAll ingests reports from workers concurrent submitters.
func ingestAll(t testing.TB, inv *inventory.Inventory, reports []*scan.Report, workers int) {
	ctx := audit.WithActor(context.Background(), "test")
	var wg sync.WaitGroup
	next := make(chan *scan.Report)
	for range workers {
		wg.Go(func() {
			for r := range next {
				if _, err := inv.Ingest(ctx, r); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for _, r := range reports {
		next <- r
	}
	close(next)
	wg.Wait()
}

// canonical encodes v as JSON with what depends on arrival order taken
// out: host IDs ("id", assigned in order of first scan) dropped, the host
// named as an example in a reason (the first by ID) blanked, and every
// list sorted, so that stores fed the same scans in different orders
// compare equal.
var exampleHost = regexp.MustCompile(`(e\.g\. |on )host\d+`)

func canonical(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	raw = exampleHost.ReplaceAll(raw, []byte("${1}HOST"))
	var x any
	if err := json.Unmarshal(raw, &x); err != nil {
		t.Fatal(err)
	}
	var norm func(any) any
	norm = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			delete(x, "id")
			for k, v := range x {
				x[k] = norm(v)
			}
		case []any:
			enc := make([]string, len(x))
			for i, v := range x {
				b, _ := json.Marshal(norm(v))
				enc[i] = string(b)
			}
			slices.Sort(enc)
			for i := range x {
				x[i] = json.RawMessage(enc[i])
			}
		}
		return x
	}
	out, _ := json.Marshal(norm(x))
	return out
}

// BenchmarkIngestStores ingests 1,000 generated reports of 30 accounts
// from 64 concurrent submitters into bbolt and into PostgreSQL (a private
// server on this machine, fsync on), side by side:
//
//	go test -run '^$' -bench IngestStores -benchtime 1x ./inventory/
func BenchmarkIngestStores(b *testing.B) {
	const hosts, accounts, workers = 1000, 30, 64
	reports := make([]*scan.Report, hosts)
	for i := range reports {
		reports[i] = inventorytest.Generate(i, accounts, t0)
	}
	pg := pgtest.Start(b, pgtest.Options{Durable: true})
	for _, name := range []string{"bbolt", "postgresql"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				var inv *inventory.Inventory
				if name == "bbolt" {
					inv, _ = inventorytest.Open(b, inventory.Options{})
				} else {
					inv = openPostgres(b, pg, inventory.Options{})
				}
				b.StartTimer()
				start := time.Now()
				ingestAll(b, inv, reports, workers)
				b.ReportMetric(float64(hosts)/time.Since(start).Seconds(), "reports/s")
				b.StopTimer()
				inv.Close()
				b.StartTimer()
			}
		})
	}
}

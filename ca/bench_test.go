package ca

import (
	"context"
	"syscall"
	"testing"
	"time"

	catest "github.com/rosterhq/roster/ca/internal/csrtest"
)

// BenchmarkSign measures in-process signing through the embedded authority
// with the three storage modes: none (the authority's in-memory default, the
// baseline), naive (smallstep's *db.DB: one bbolt transaction, two fsyncs,
// per certificate) and group (groupDB, durable on return, concurrent stores
// share a transaction). "serial" is one signer at a time, "parallel" is 32
// concurrent signers (as under HTTP load). Compare with
//
//	go test -run '^$' -bench BenchmarkSign -benchtime 3s ./ca/
func BenchmarkSign(b *testing.B) {
	modes := []struct {
		name string
		mode storageMode
	}{{"none", storageNone}, {"naive", storageNaive}, {"group", storageGroup}}
	for _, m := range modes {
		for _, par := range []bool{false, true} {
			name := m.name + "/serial"
			if par {
				name = m.name + "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				c := newCA(b, Options{storage: m.mode})
				csr := catest.CSR(b, catest.Key(b, "EC", 0), "x")
				id := identity(b, c.TrustDomain(), "h", "x")
				ctx := context.Background()
				b.ReportAllocs()
				cpu0 := processCPU()
				defer func() {
					// CPU time per certificate, immune to other load on the
					// machine (wall time is not).
					b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu_us/op")
				}()
				b.ResetTimer()
				if !par {
					for b.Loop() {
						if _, err := c.Sign(ctx, csr, id, 0); err != nil {
							b.Fatal(err)
						}
					}
					return
				}
				if g, ok := c.auth.GetDatabase().(*groupDB); ok {
					defer func() {
						if n, stored := g.group.Stats(); n > 0 {
							b.ReportMetric(float64(stored)/float64(n), "certs/commit")
						}
					}()
				}
				b.SetParallelism(16)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := c.Sign(ctx, csr, id, 0); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

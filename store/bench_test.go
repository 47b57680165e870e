package store_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/pgtest"
	"github.com/rosterhq/roster/store"
)

// BenchmarkUpdate compares bbolt and PostgreSQL (a private server on this
// machine, fsync on, over the Unix socket) side by side: one small
// read-modify-write Update at a time, and the same from 64 goroutines
// through group commit.
//
//	go test -run '^$' -bench Update -benchtime 2s ./store/
func BenchmarkUpdate(b *testing.B) {
	pg := pgtest.Start(b, pgtest.Options{Durable: true})
	open := map[string]func(b *testing.B) store.Store{
		"bbolt": func(b *testing.B) store.Store {
			s, err := store.OpenBolt(filepath.Join(b.TempDir(), "bench.db"), 0)
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
		"postgresql": func(b *testing.B) store.Store {
			_, url := pg.NewDatabase()
			s, err := store.OpenPostgres(bg, url, store.PostgresOptions{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	write := func(i int64) func(store.Tx) error {
		return func(tx store.Tx) error {
			k := []byte(fmt.Sprintf("k%08d", i))
			if _, err := tx.Get("bench", k); err != nil {
				return err
			}
			return tx.Put("bench", k, make([]byte, 200))
		}
	}
	for _, name := range []string{"bbolt", "postgresql"} {
		b.Run(name+"/single", func(b *testing.B) {
			s := open[name](b)
			defer s.Close()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if err := s.Update(bg, write(int64(i))); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
		})
		b.Run(name+"/group64", func(b *testing.B) {
			s := open[name](b)
			defer s.Close()
			g := store.NewGroup(s, store.GroupOptions{})
			defer g.Close()
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range 64 {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						if err := g.Update(bg, write(i)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
			commits, reqs := g.Stats()
			b.ReportMetric(float64(reqs)/float64(max(commits, 1)), "reqs/commit")
		})
	}
}

package store_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rosterhq/roster/store"
)

// TestGroupObserve: the observer hears of every batch; the requests it is
// told of are the requests that committed, the reruns those caused by a
// failing request, and the time is spent.
func TestGroupObserve(t *testing.T) {
	s, err := store.OpenBolt(filepath.Join(t.TempDir(), "observe.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var mu sync.Mutex
	var got []store.Commit
	g := store.NewGroup(s, store.GroupOptions{Observe: func(c store.Commit) {
		mu.Lock()
		got = append(got, c)
		mu.Unlock()
	}})
	t.Cleanup(g.Close)
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = g.Update(bg, func(tx store.Tx) error {
				if i%4 == 0 {
					return fmt.Errorf("request %d fails", i)
				}
				return tx.Put("t", fmt.Appendf(nil, "k%d", i), []byte("v"))
			})
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	committed, reruns, batches := 0, 0, 0
	for _, c := range got {
		if c.Requests > 0 {
			batches++ // a batch whose every request failed commits nothing
		}
		if c.Err != nil || c.Took <= 0 {
			t.Errorf("commit %+v", c)
		}
		committed += c.Requests
		reruns += c.Reruns
	}
	if committed != 45 {
		t.Errorf("observed %d committed requests, want 45", committed)
	}
	// Every failing request costs its batch one run (unless it was
	// alone in it).
	if reruns > 15 {
		t.Errorf("observed %d reruns for 15 failing requests", reruns)
	}
	if commits, _ := g.Stats(); int(commits) != batches {
		t.Errorf("observed %d committed batches, Stats says %d commits", batches, commits)
	}
}

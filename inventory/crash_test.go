package inventory_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
)

const crashChildEnv = "INVENTORY_CRASH_CHILD_DB"

// TestMain runs the child half of TestKill9DuringIngest when the test
// binary is started as that child.
func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
	}
	os.Exit(m.Run())
}

// crashChild ingests reports forever from 16 goroutines and prints
// "ack HOST UNIX" after each Ingest returned, until it is killed.
func crashChild(path string) {
	inv, err := inventory.Open(context.Background(), path, inventory.Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	next := make(chan int)
	for w := 0; w < 16; w++ {
		go func() {
			for i := range next {
				r := inventorytest.Generate(i%200, 10, t0.Add(time.Duration(i)*time.Second))
				if i%7 == 0 { // rescans that drop accounts too
					r.Accounts = r.Accounts[:5]
				}
				if _, err := inv.Ingest(context.Background(), r); err != nil {
					fmt.Println("ingest:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Printf("ack %s %d\n", r.Host.Hostname, r.Host.ScannedAt.Unix())
				mu.Unlock()
			}
		}()
	}
	for i := 0; ; i++ {
		next <- i
	}
}

// TestKill9DuringIngest kills a process with SIGKILL in the middle of a
// stream of concurrent ingests, reopens its file, and checks that every
// acknowledged report is there and the store is consistent.
func TestKill9DuringIngest(t *testing.T) {
	for round := 0; round < 3; round++ {
		path := filepath.Join(t.TempDir(), "inventory.db")
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[string]int64{}
		sc := bufio.NewScanner(out)
		n := 0
		kill := 300 + 250*round
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || f[0] != "ack" {
				t.Fatalf("child said %q", sc.Text())
			}
			var ts int64
			fmt.Sscan(f[2], &ts)
			if ts > acked[f[1]] {
				acked[f[1]] = ts
			}
			if n++; n == kill {
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		cmd.Wait()
		if n < kill {
			t.Fatalf("child stopped after %d acks", n)
		}
		inv, err := inventory.Open(context.Background(), path, inventory.Options{})
		if err != nil {
			t.Fatalf("reopen after kill -9: %v", err)
		}
		hosts, err := inv.ListHosts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last := map[string]int64{}
		for _, h := range hosts {
			last[h.Hostname] = h.LastScan.Unix()
		}
		for h, ts := range acked {
			if last[h] < ts {
				t.Errorf("round %d: host %s acknowledged at %d, store has %d", round, h, ts, last[h])
			}
		}
		inventorytest.CheckClose(t, inv) // summaries, indexes, audit chain, bbolt pages
		t.Logf("round %d: killed after %d acks over %d hosts", round, n, len(acked))
	}
}

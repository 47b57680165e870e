package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/scan"
)

// fillAccounts ingests hosts × per service accounts, each name on one host
// only, so that the inventory holds hosts×per accounts; every third has an
// owner.
func fillAccounts(tb testing.TB, e *env, hosts, per int) {
	tb.Helper()
	ctx := context.Background()
	at := e.clock.Now().UTC()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range jobs {
				accts := make([]scan.Account, per)
				for j := range accts {
					name := fmt.Sprintf("svc%04d-%03d", h, j)
					accts[j] = inventorytest.Account(name, 1000+j,
						inventorytest.Cred(scan.CredPassword, "/etc/shadow:"+name, "pw-"+name))
				}
				host := fmt.Sprintf("bench%04d", h)
				if _, err := e.inv.Ingest(ctx, inventorytest.NewReport(host, "mid-"+host, at, accts...)); err != nil {
					tb.Error(err)
				}
			}
		}()
	}
	for h := range hosts {
		jobs <- h
	}
	close(jobs)
	wg.Wait()
	for h := 0; h < hosts; h += 3 {
		if err := e.inv.SetOwner(ctx, fmt.Sprintf("svc%04d-000", h), inventory.Owner{Name: "team-bench"}); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkAccountsPage renders a page of /accounts (the 7th, sorted by
// owner) with 100,000 service accounts in the store (bbolt), and, for
// comparison, GET /v1/accounts?format=json of the same inventory. Target:
// a page under 200 ms.
//
//	go test -run '^$' -bench AccountsPage -benchtime 10x ./server/
func BenchmarkAccountsPage(b *testing.B) {
	e := newWebEnv(b)
	start := time.Now()
	fillAccounts(b, e, 1000, 100)
	b.Logf("100,000 accounts ingested in %s", time.Since(start).Round(time.Millisecond))
	u := e.webSignIn("bench", access.RoleViewer)
	tok := e.newWebToken("bench-api", access.RoleViewer)
	// The first page takes the snapshot the others use
	// (webaccountsnapshot.go): that is a page after a change.
	start = time.Now()
	if code, _ := u.get("/accounts"); code != http.StatusOK {
		b.Fatal(code)
	}
	b.Logf("first page (taking the snapshot): %s", time.Since(start).Round(time.Millisecond))
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			code, body := u.get("/accounts?sort=owner&page=7")
			if code != http.StatusOK || len(body) < 1000 {
				b.Fatalf("%d %d bytes", code, len(body))
			}
		}
	})
	b.Run("page-filtered", func(b *testing.B) {
		for b.Loop() {
			if code, _ := u.get("/accounts?q=svc0999&no_owner=1"); code != http.StatusOK {
				b.Fatal(code)
			}
		}
	})
	cl := e.client(nil, nil, true)
	cl.Transport.(*http.Transport).TLSClientConfig.Time = e.clock.Now
	b.Run("api", func(b *testing.B) {
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/accounts?format=json", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := cl.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n < 1000 {
				b.Fatalf("%d %d bytes", resp.StatusCode, n)
			}
		}
	})
}

// Package issuertest gives tests a real issuer: a CA from ca/catest, an
// inventory from inventory/inventorytest and the [issuer.Issuer] wired to them
// as the server wires it, on a clock the test moves. [New] ingests a small
// fixed inventory; [Env.Enroll] issues a first certificate without any
// transport, so that the issuer's own tests and the server's HTTP tests
// start from the same state.
package issuertest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/ca/catest"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// Clock is real time plus an offset that tests move forward.
type Clock struct{ off atomic.Int64 }

// Now is the current time of the clock.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// SyncBuffer collects log output written from several goroutines.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Env is a real CA, a real inventory and the issuer on them.
type Env struct {
	T     testing.TB
	CA    *ca.CA
	Inv   *inventory.Inventory
	Iss   *issuer.Issuer
	Clock *Clock
	// Logs holds the issuer's log output (empty when New was quiet).
	Logs *SyncBuffer
}

// New ingests host web1 with accounts billing-batch (owned by
// payments-team), nobody-owns and legacy, each holding a static password.
// quiet discards the issuer's logs.
func New(t testing.TB, quiet bool) *Env {
	t.Helper()
	return NewWith(t, quiet, nil)
}

// NewWith is New with the inventory's bbolt store wrapped by wrap (nil:
// not wrapped), for tests that inject store failures such as a full disk.
func NewWith(t testing.TB, quiet bool, wrap func(store.Store) store.Store) *Env {
	t.Helper()
	e := &Env{T: t, Clock: &Clock{}, Logs: &SyncBuffer{}}
	e.CA = catest.New(t, catest.Options{Options: ca.Options{Now: e.Clock.Now, MinValidity: time.Second}})
	if wrap == nil {
		e.Inv, _ = inventorytest.Open(t, inventory.Options{Now: e.Clock.Now})
	} else {
		bs, err := store.OpenBolt(filepath.Join(t.TempDir(), "inventory.db"), 0)
		if err != nil {
			t.Fatal(err)
		}
		e.Inv, err = inventory.New(context.Background(), wrap(bs), inventory.Options{Now: e.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { inventorytest.CheckClose(t, e.Inv) })
	}
	var w io.Writer = e.Logs
	if quiet {
		w = io.Discard
	}
	iss, err := issuer.New(issuer.Config{
		CA: e.CA, Inventory: e.Inv, Now: e.Clock.Now,
		Logger: slog.New(slog.NewTextHandler(w, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Iss = iss
	e.Ingest("web1", "billing-batch", "nobody-owns", "legacy")
	e.Owner("billing-batch", "payments-team")
	return e
}

var scanSeq atomic.Int64

// Ingest submits a scan of host with exactly these accounts.
func (e *Env) Ingest(host string, accounts ...string) {
	e.T.Helper()
	var accts []scan.Account
	for i, a := range accounts {
		accts = append(accts, inventorytest.Account(a, 900+i, inventorytest.Cred(scan.CredPassword, "/etc/shadow:"+a, "pw-"+a)))
	}
	at := e.Clock.Now().Add(time.Duration(scanSeq.Add(1)) * time.Millisecond).UTC()
	if _, err := e.Inv.Ingest(context.Background(), inventorytest.NewReport(host, "mid-"+host, at, accts...)); err != nil {
		e.T.Fatal(err)
	}
}

// Owner sets the owner of account.
func (e *Env) Owner(account, who string) {
	e.T.Helper()
	if err := e.Inv.SetOwner(context.Background(), account, inventory.Owner{Name: who}); err != nil {
		e.T.Fatal(err)
	}
}

// Enroll creates a token for account on host ("" for the host identity)
// and enrolls a new EC key with it, returning the key and the chain (leaf
// first).
func (e *Env) Enroll(host, account string) (crypto.Signer, []*x509.Certificate) {
	e.T.Helper()
	ctx := context.Background()
	tk, err := e.Iss.CreateEnrollToken(ctx, host, account, 0)
	if err != nil {
		e.T.Fatal(err)
	}
	key := catest.Key(e.T, "EC", 0)
	chain, err := e.Iss.Enroll(audit.WithActor(ctx, "enroll"), tk.Token, catest.CSR(e.T, key, account), false)
	if err != nil {
		e.T.Fatalf("enroll %s/%s: %v", host, account, err)
	}
	return key, chain
}

// Audits returns one "action outcome host/account serial=S reason" line per
// audit record.
func (e *Env) Audits() string {
	e.T.Helper()
	evs, err := audit.List(context.Background(), e.Inv, audit.Filter{})
	if err != nil {
		e.T.Fatal(err)
	}
	var sb strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&sb, "%s %s %s/%s serial=%s %s\n", ev.Action, ev.Outcome, ev.Host, ev.Account, ev.Serial, ev.Reason)
	}
	return sb.String()
}

// AssertNoSecret checks that the enrollment token (its secret part)
// appears in neither the audit log nor the issuer's logs.
func (e *Env) AssertNoSecret(t testing.TB, token string) {
	t.Helper()
	body := strings.TrimPrefix(token, "ret_")
	evs, _ := audit.List(context.Background(), e.Inv, audit.Filter{})
	for _, ev := range evs {
		all := ev.Actor + ev.Action + ev.Host + ev.Account + ev.Serial + ev.Reason + ev.Detail
		if strings.Contains(all, body[:16]) {
			t.Errorf("audit record %d holds the token", ev.Seq)
		}
	}
	if strings.Contains(e.Logs.String(), body[:16]) {
		t.Error("logs hold the token")
	}
}

package issuer

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/store"
)

// TestEnrollTokenRace burns one token from 50 goroutines through the
// inventory's group commit: exactly one wins, the others see it used, and a
// refusal names the identity without the hash.
func TestEnrollTokenRace(t *testing.T) {
	ctx := audit.WithActor(context.Background(), "test")
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	inv, _ := inventorytest.Open(t, inventory.Options{Now: func() time.Time { return t0 }})
	if _, err := inv.Ingest(ctx, inventorytest.NewReport("h", "", t0, inventorytest.Account("app", 5))); err != nil {
		t.Fatal(err)
	}
	put := func(tok enrollToken) error {
		return inv.Update(ctx, func(tx store.Tx) error { return putEnrollToken(tx, tok) })
	}
	burn := func(hash []byte, at time.Time) (got enrollToken, err error) {
		uerr := inv.Update(ctx, func(tx store.Tx) error {
			got, err = burnEnrollToken(tx, hash, at)
			if errors.Is(err, ErrEnrollUsed) || errors.Is(err, ErrEnrollExpired) || errors.Is(err, ErrEnrollUnknown) {
				return nil // a refusal writes nothing
			}
			return err
		})
		if uerr != nil {
			return got, uerr
		}
		return got, err
	}
	hash := sha256.Sum256([]byte("secret"))
	if err := put(enrollToken{Hash: hash[:], Host: "h", Account: "app", ExpiresAt: t0.Add(15 * time.Minute), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := put(enrollToken{Hash: hash[:], Host: "h", ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}); err == nil {
		t.Error("duplicate hash accepted")
	}
	var wins, used atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := burn(hash[:], t0.Add(time.Minute))
			switch {
			case err == nil:
				wins.Add(1)
				if got.Host != "h" || got.Account != "app" || got.UsedAt == nil {
					t.Errorf("redeemed %+v", got)
				}
			case errors.Is(err, ErrEnrollUsed):
				used.Add(1)
				if got.Host != "h" || got.Account != "app" {
					t.Errorf("refused redemption returned %+v, want host h and account app", got)
				}
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || used.Load() != 49 {
		t.Errorf("%d redemptions succeeded, %d saw used; want 1 and 49", wins.Load(), used.Load())
	}
	h2 := sha256.Sum256([]byte("other"))
	if err := put(enrollToken{Hash: h2[:], Host: "h", ExpiresAt: t0.Add(time.Minute), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if got, err := burn(h2[:], t0.Add(time.Minute)); !errors.Is(err, ErrEnrollExpired) {
		t.Errorf("expired: %v", err)
	} else if got.Host != "h" || got.Account != "" {
		t.Errorf("expired redemption returned %+v, want host h", got)
	}
	if got, err := burn(make([]byte, 32), t0); !errors.Is(err, ErrEnrollUnknown) {
		t.Errorf("unknown: %v", err)
	} else if got.Host != "" || got.Account != "" {
		t.Errorf("unknown token returned %+v", got)
	}
}

package inventory

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rosterhq/roster/inventory/internal/boltstore"
)

// DefaultMaxExceptionDays bounds how far ahead an exception may expire.
const DefaultMaxExceptionDays = 180

// Options configure an Inventory. The zero value is usable.
type Options struct {
	// MaxExceptionDays bounds exception expiry (default 180).
	MaxExceptionDays int
	// Now is the clock (default time.Now). Tests set it.
	Now func() time.Time
	// MaxBatch bounds how many concurrent Ingest calls share one
	// transaction (default 512).
	MaxBatch int
	// LockTimeout bounds the wait for another process's lock on the file
	// (default 1s); after it Open fails.
	LockTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.MaxExceptionDays <= 0 {
		o.MaxExceptionDays = DefaultMaxExceptionDays
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 512
	}
	return o
}

// Inventory is the organisation's inventory. It is safe for concurrent use.
type Inventory struct {
	store Store
	opts  Options
	bolt  *boltstore.Store // nil unless opened by Open

	reqs      chan *batchReq
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closed    atomic.Bool
	sendMu    sync.RWMutex // held for reading while queueing a request
}

// Open opens the inventory in the bbolt file at path, creating it if it does
// not exist, and runs pending migrations. A file that is not a bbolt
// database, or a bbolt database that is not a roster inventory, is an error
// wrapping [ErrNotInventory]; the file is left untouched.
func Open(ctx context.Context, path string, opts Options) (*Inventory, error) {
	_, statErr := os.Stat(path)
	fresh := errors.Is(statErr, os.ErrNotExist)
	bs, err := boltstore.Open(path, opts.LockTimeout)
	if err != nil {
		if errors.Is(err, boltstore.ErrNotBolt) {
			return nil, fmt.Errorf("%w: %w", ErrNotInventory, err)
		}
		if errors.Is(err, boltstore.ErrLocked) {
			return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("open inventory: %w", err)
	}
	if !fresh {
		tables, err := bs.Tables(ctx)
		if err != nil {
			bs.Close()
			return nil, fmt.Errorf("open inventory %s: %w", path, err)
		}
		if len(tables) > 0 && !slices.Contains(tables, tMeta) {
			bs.Close()
			return nil, fmt.Errorf("open %s: %w (it holds tables %v)", path, ErrNotInventory, firstN(tables, 5))
		}
	}
	inv, err := New(ctx, boltAdapter{bs}, opts)
	if err != nil {
		bs.Close()
		return nil, err
	}
	inv.bolt = bs
	return inv, nil
}

// New wraps an already opened Store (Open does this for bbolt), runs pending
// migrations and starts the group-commit loop.
func New(ctx context.Context, s Store, opts Options) (*Inventory, error) {
	inv := &Inventory{store: s, opts: opts.withDefaults()}
	if err := migrate(ctx, s, migrations); err != nil {
		return nil, err
	}
	inv.reqs = make(chan *batchReq, inv.opts.MaxBatch)
	inv.stop = make(chan struct{})
	inv.wg.Add(1)
	go inv.commitLoop()
	return inv, nil
}

// Close waits for queued ingests and closes the store.
func (inv *Inventory) Close() error {
	var err error
	inv.closeOnce.Do(func() {
		inv.sendMu.Lock()
		inv.closed.Store(true)
		inv.sendMu.Unlock()
		close(inv.stop)
		inv.wg.Wait()
		err = inv.store.Close()
	})
	return err
}

func (inv *Inventory) now() time.Time { return inv.opts.Now().UTC() }

type actorKey struct{}

// WithActor returns a context naming who acts (a token name, "system",
// "agent:HOST"); audited methods record it.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor set by WithActor, or "unknown".
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "unknown"
}

// FingerprintKey returns the 32-byte key scanners use for secret
// fingerprints, so that fingerprints agree across hosts. It is generated on
// first use and kept in the store.
func (inv *Inventory) FingerprintKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := inv.store.View(ctx, func(tx Tx) error {
		var err error
		key, err = tx.Get(tMeta, kFPKey)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fingerprint key: %w", err)
	}
	if len(key) == 32 {
		return key, nil
	}
	err = inv.store.Update(ctx, func(tx Tx) error {
		var err error
		if key, err = tx.Get(tMeta, kFPKey); err != nil || len(key) == 32 {
			return err
		}
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		return tx.Put(tMeta, kFPKey, key)
	})
	if err != nil {
		return nil, fmt.Errorf("fingerprint key: %w", err)
	}
	return key, nil
}

// Check verifies the inventory's internal invariants: summaries agree with
// instances, fingerprint counts with the index, the audit chain with its
// records, and (for bbolt) the file's page structure. It reads everything;
// tests and `roster doctor` use it.
func (inv *Inventory) Check(ctx context.Context) error {
	if inv.closed.Load() {
		return ErrClosed
	}
	var errs []error
	if inv.bolt != nil {
		if err := inv.bolt.Check(ctx); err != nil {
			errs = append(errs, fmt.Errorf("bbolt: %w", err))
		}
	}
	if err := inv.store.View(ctx, checkInvariants); err != nil {
		errs = append(errs, err)
	}
	if _, err := inv.VerifyAudit(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// boltAdapter turns boltstore's concrete types into Store.
type boltAdapter struct{ s *boltstore.Store }

func (b boltAdapter) View(ctx context.Context, fn func(Tx) error) error {
	return b.s.View(ctx, func(t *boltstore.Tx) error { return fn(t) })
}

func (b boltAdapter) Update(ctx context.Context, fn func(Tx) error) error {
	return b.s.Update(ctx, func(t *boltstore.Tx) error { return fn(t) })
}

func (b boltAdapter) Close() error { return b.s.Close() }

func firstN(list []string, n int) []string {
	if len(list) > n {
		return list[:n]
	}
	return list
}

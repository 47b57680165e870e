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

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
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
	// PlaceholderOwners are owner names refused as saying nobody,
	// compared case-insensitively (nil: DefaultPlaceholderOwners; an
	// empty list refuses none). An owner equal to the account's own name
	// is always refused.
	PlaceholderOwners []string
	// MaxClockSkew is how far ahead of Now a report's scanned_at may be
	// (default DefaultMaxClockSkew); a report further ahead is refused.
	MaxClockSkew time.Duration
	// SSHUserCAFingerprints are the SHA256 fingerprints ("SHA256:...", as
	// ssh-keygen -l prints them) of roster's own SSH user CA keys. An
	// account that logs in with SSH certificates of one of them, has no
	// X.509 certificate and no static credential left is managed; empty,
	// any trusted user CA counts. Facts are taken at ingest: a change
	// applies to an account on its host's next scan.
	SSHUserCAFingerprints []string
}

// DefaultPlaceholderOwners returns the owner names refused by default:
// what a spreadsheet says when nobody answers for an account.
func DefaultPlaceholderOwners() []string {
	return []string{"unknown", "n/a", "-", "tbd", "none", "todo"}
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
	if o.PlaceholderOwners == nil {
		o.PlaceholderOwners = DefaultPlaceholderOwners()
	}
	if o.MaxClockSkew <= 0 {
		o.MaxClockSkew = DefaultMaxClockSkew
	}
	return o
}

// Inventory is the organisation's inventory. It is safe for concurrent use.
type Inventory struct {
	store store.Store
	group *store.Group
	opts  Options
	bolt  *store.Bolt // nil unless opened by Open
	// observe is told of every group commit (ObserveCommits).
	observe atomic.Pointer[func(store.Commit)]

	closeOnce sync.Once
	closeErr  error
}

// Open opens the inventory in the bbolt file at path, creating it if it does
// not exist, and runs pending migrations. A file that is not a bbolt
// database, or a bbolt database that is not a roster inventory, is an error
// wrapping [ErrNotInventory]; the file is left untouched.
func Open(ctx context.Context, path string, opts Options) (*Inventory, error) {
	_, statErr := os.Stat(path)
	fresh := errors.Is(statErr, os.ErrNotExist)
	bs, err := store.OpenBolt(path, opts.LockTimeout)
	if err != nil {
		if errors.Is(err, store.ErrNotBolt) {
			return nil, fmt.Errorf("%w: %w", ErrNotInventory, err)
		}
		if errors.Is(err, store.ErrLocked) {
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
		if len(tables) > 0 && !slices.Contains(tables, store.MetaTable) {
			bs.Close()
			return nil, fmt.Errorf("open %s: %w (it holds tables %v)", path, ErrNotInventory, firstN(tables, 5))
		}
	}
	inv, err := New(ctx, bs, opts)
	if err != nil {
		bs.Close()
		return nil, err
	}
	inv.bolt = bs
	return inv, nil
}

// New wraps an already opened Store (Open does this for bbolt), runs pending
// migrations and starts group commit.
func New(ctx context.Context, s store.Store, opts Options) (*Inventory, error) {
	inv := &Inventory{store: s, opts: opts.withDefaults()}
	if err := store.Migrate(ctx, s, schemaKey, migrations); err != nil {
		return nil, err
	}
	inv.group = store.NewGroup(s, store.GroupOptions{MaxBatch: inv.opts.MaxBatch, Wrap: wrapBatch, Observe: func(c store.Commit) {
		if f := inv.observe.Load(); f != nil {
			(*f)(c)
		}
	}})
	return inv, nil
}

// ObserveCommits has f told of every group commit of the inventory's
// writes (store.GroupOptions.Observe), replacing any earlier f; nil stops.
func (inv *Inventory) ObserveCommits(f func(store.Commit)) {
	if f == nil {
		inv.observe.Store(nil)
		return
	}
	inv.observe.Store(&f)
}

// Store is the store the inventory keeps its tables in. The packages that
// share it (audit, access, the issuer) keep their own tables there.
func (inv *Inventory) Store() store.Store { return inv.store }

// View runs fn in a read-only transaction of the inventory's store, for the
// packages that share it.
func (inv *Inventory) View(ctx context.Context, fn func(store.Tx) error) error {
	return inv.store.View(ctx, fn)
}

// Update runs fn through the inventory's group commit: it shares a durable
// transaction with concurrent ingests and renewals. Packages sharing the
// store use it to write their own tables in the same commits (an audit
// record, an enrollment token burnt together with [Inventory.RecordIssuedTx]).
func (inv *Inventory) Update(ctx context.Context, fn func(store.Tx) error) error {
	return inv.group.Update(ctx, fn)
}

// Close waits for queued writes and closes the store.
func (inv *Inventory) Close() error {
	inv.closeOnce.Do(func() {
		inv.group.Close()
		inv.closeErr = inv.store.Close()
	})
	return inv.closeErr
}

func (inv *Inventory) now() time.Time { return inv.opts.Now().UTC() }

// Now is the inventory's clock (Options.Now) in UTC: the server reads
// reports and plans at it.
func (inv *Inventory) Now() time.Time { return inv.now() }

// FingerprintKey returns the 32-byte key scanners use for secret
// fingerprints, so that fingerprints agree across hosts. It is generated on
// first use and kept in the store.
func (inv *Inventory) FingerprintKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := inv.store.View(ctx, func(tx store.Tx) error {
		var err error
		key, err = tx.Get(store.MetaTable, kFPKey)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fingerprint key: %w", err)
	}
	if len(key) == 32 {
		return key, nil
	}
	err = inv.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if key, err = tx.Get(store.MetaTable, kFPKey); err != nil || len(key) == 32 {
			return err
		}
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		return tx.Put(store.MetaTable, kFPKey, key)
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
	if inv.group.Closed() {
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
	if _, err := audit.Verify(ctx, inv.store); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func firstN(list []string, n int) []string {
	if len(list) > n {
		return list[:n]
	}
	return list
}

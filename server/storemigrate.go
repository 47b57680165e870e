package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/store"
)

// StoreCopy is what [MigrateStore] copied.
type StoreCopy struct {
	// Rows per table of the target, as counted there after the copy
	// (the CA's tables prefixed "ca.").
	Rows map[string]int
	// AuditRecords is how many audit records the target's chain verified.
	AuditRecords uint64
	// Where names the target database, without credentials.
	Where string
}

// MigrateStore copies a bbolt installation (the inventory and the CA's
// database in dataDir) into the empty PostgreSQL database at url, then
// counts every table on both sides and verifies the audit chain on the
// target. The source is only read; the server must be stopped (its lock on
// the files says so). The CA keys stay in dataDir: start the server with
// the same --data and --store url.
func MigrateStore(ctx context.Context, dataDir, url string) (*StoreCopy, error) {
	if !ca.IsInitialized(dataDir) {
		return nil, fmt.Errorf("%s holds no roster CA (no ca.json): name the data directory of a roster server with --from", dataDir)
	}
	sources := []struct{ path, prefix string }{
		{filepath.Join(dataDir, "inventory.db"), ""},
		{ca.DatabasePath(dataDir), "ca."},
	}
	var bolts []*store.Bolt
	defer func() {
		for _, b := range bolts {
			b.Close()
		}
	}()
	for _, src := range sources {
		if _, err := os.Stat(src.path); err != nil {
			return nil, fmt.Errorf("%w (has roster server run on %s?)", err, dataDir)
		}
		b, err := store.OpenBolt(src.path, time.Second)
		if errors.Is(err, store.ErrLocked) {
			return nil, fmt.Errorf("%s is in use: stop the roster server on %s first", src.path, dataDir)
		}
		if err != nil {
			return nil, err
		}
		bolts = append(bolts, b)
	}
	pg, err := store.OpenPostgres(ctx, url, store.PostgresOptions{})
	if err != nil {
		return nil, err
	}
	defer pg.Close()
	res := &StoreCopy{Rows: map[string]int{}, Where: pg.String()}
	if empty, err := pg.Empty(ctx); err != nil {
		return nil, err
	} else if !empty {
		return nil, fmt.Errorf("the target %s already holds roster data: migrate into an empty database", pg)
	}
	for i, src := range sources {
		tables, err := bolts[i].Tables(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.path, err)
		}
		want, err := store.CountRows(ctx, bolts[i], tables)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.path, err)
		}
		if _, err := store.CopyTables(ctx, bolts[i], pg, src.prefix); err != nil {
			return nil, fmt.Errorf("copying %s: %w", src.path, err)
		}
		targets := make([]string, len(tables))
		for j, t := range tables {
			targets[j] = src.prefix + t
		}
		got, err := store.CountRows(ctx, pg, targets)
		if err != nil {
			return nil, fmt.Errorf("counting the copy: %w", err)
		}
		for _, t := range tables {
			if got[src.prefix+t] != want[t] {
				return nil, fmt.Errorf("table %s: %d rows in %s, %d in the copy", t, want[t], src.path, got[src.prefix+t])
			}
		}
		maps.Copy(res.Rows, got)
	}
	res.AuditRecords, err = audit.Verify(ctx, pg)
	if err != nil {
		return nil, fmt.Errorf("the copy's audit chain: %w", err)
	}
	return res, nil
}

// Tables lists the copied tables in order.
func (c *StoreCopy) Tables() []string { return slices.Sorted(maps.Keys(c.Rows)) }

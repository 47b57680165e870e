package store

import (
	"context"
	"fmt"
)

// copyBatch bounds the rows written per transaction by CopyTables.
const copyBatch = 1000

// CopyTables copies every table of from into to, each renamed to
// prefix+name, in transactions of at most 1,000 rows, and returns how
// many rows it wrote per target table. It overwrites keys that exist in to;
// callers copy into an empty store ([Postgres.Empty]).
func CopyTables(ctx context.Context, from *Bolt, to Store, prefix string) (map[string]int, error) {
	tables, err := from.Tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	copied := map[string]int{}
	for _, name := range tables {
		target := prefix + name
		var batch [][2][]byte
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			err := to.Update(ctx, func(tx Tx) error {
				for _, kv := range batch {
					if err := tx.Put(target, kv[0], kv[1]); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("table %s: %w", target, err)
			}
			copied[target] += len(batch)
			batch = batch[:0]
			return nil
		}
		err := from.View(ctx, func(tx Tx) error {
			if err := tx.Scan(name, nil, func(k, v []byte) error {
				batch = append(batch, [2][]byte{k, v})
				if len(batch) == copyBatch {
					return flush()
				}
				return nil
			}); err != nil {
				return err
			}
			return flush()
		})
		if err != nil {
			return copied, err
		}
		if _, ok := copied[target]; !ok {
			copied[target] = 0
		}
	}
	return copied, nil
}

// CountRows counts the rows of each named table of s in one transaction.
func CountRows(ctx context.Context, s Store, tables []string) (map[string]int, error) {
	n := map[string]int{}
	err := s.View(ctx, func(tx Tx) error {
		for _, t := range tables {
			n[t] = 0
			if err := tx.Scan(t, nil, func(_, _ []byte) error { n[t]++; return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

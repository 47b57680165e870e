package store

// The PostgreSQL store's own schema: its version, who owns the database,
// and the migrations that create it.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ErrForeignDatabase is returned by OpenPostgres for a database that holds
// tables but is not a roster store.
var ErrForeignDatabase = errors.New("not a roster database")

// pgOwner marks a database as roster's in roster_schema.owner.
const pgOwner = "roster"

// pgMigrations take the schema from version i to i+1 (i is the index).
// Append only; never edit or reorder.
//
// One table for every roster table, not a PostgreSQL table per roster
// table: roster tables spring into existence on their first Put, which
// with a table each would be DDL inside ordinary transactions (needing the
// CREATE privilege at run time, impossible on a standby, and a source of
// serialization conflicts on the catalog). With one table the schema is
// fixed at open. tbl is COLLATE "C" and k bytea so that the primary key
// orders exactly as bbolt does: bytewise.
var pgMigrations = []string{
	`CREATE TABLE roster_kv (
		tbl text COLLATE "C" NOT NULL,
		k   bytea NOT NULL,
		v   bytea NOT NULL,
		PRIMARY KEY (tbl, k)
	)`,
}

// pgLockKey is the advisory lock taken while migrating, so that nodes
// starting together migrate once.
const pgLockKey = 0x726f73746572 // "roster"

// pgSchema is what a database holds, as inspected at open.
type pgSchema struct {
	marked  bool // roster_schema exists
	owner   string
	version int
	tables  []string // up to 6 tables of the current schema, for errors
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func inspect(ctx context.Context, q querier) (pgSchema, error) {
	var sc pgSchema
	rows, err := q.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() ORDER BY table_name`)
	if err != nil {
		return sc, fmt.Errorf("list tables: %w", err)
	}
	sc.tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return sc, fmt.Errorf("list tables: %w", err)
	}
	for _, t := range sc.tables {
		if t == "roster_schema" {
			sc.marked = true
		}
	}
	if !sc.marked {
		return sc, nil
	}
	err = q.QueryRow(ctx, `SELECT owner, version FROM roster_schema`).Scan(&sc.owner, &sc.version)
	if err != nil {
		return sc, fmt.Errorf("read roster_schema: %w", err)
	}
	return sc, nil
}

// check refuses what this program must not touch.
func (sc pgSchema) check() error {
	switch {
	case !sc.marked && len(sc.tables) > 0:
		return fmt.Errorf("%w: it holds tables (%s) and no roster_schema table; give roster an empty database of its own",
			ErrForeignDatabase, strings.Join(firstN(sc.tables, 5), ", "))
	case sc.marked && sc.owner != pgOwner:
		return fmt.Errorf("%w: roster_schema names owner %q; give roster an empty database of its own", ErrForeignDatabase, sc.owner)
	case sc.version > len(pgMigrations):
		return fmt.Errorf("%w: the database's schema is version %d, this roster knows up to %d; upgrade roster",
			ErrSchemaTooNew, sc.version, len(pgMigrations))
	}
	return nil
}

// prepare checks the database and, unless it is read-only, migrates it
// under the advisory lock.
func (s *Postgres) prepare(ctx context.Context) error {
	var recovery bool
	var ro string
	if err := s.pool.QueryRow(ctx, `SELECT pg_is_in_recovery(), current_setting('transaction_read_only')`).Scan(&recovery, &ro); err != nil {
		return fmt.Errorf("check the server: %w", err)
	}
	sc, err := inspect(ctx, s.pool)
	if err != nil {
		return err
	}
	if err := sc.check(); err != nil {
		return err
	}
	if recovery || ro == "on" {
		why := "default_transaction_read_only is on"
		if recovery {
			why = "the server is a standby (in recovery)"
		}
		switch {
		case !sc.marked:
			return fmt.Errorf("the database is read-only (%s) and has no roster schema: nothing was created; start roster against the primary first", why)
		case sc.version < len(pgMigrations):
			return fmt.Errorf("the database is read-only (%s) and its schema is version %d, older than this roster's %d: start this roster against the primary first", why, sc.version, len(pgMigrations))
		}
		s.readOnly = true
		return nil
	}
	if sc.marked && sc.version == len(pgMigrations) {
		return nil
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgLockKey)); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		sc, err := inspect(ctx, tx) // another node may have migrated meanwhile
		if err != nil {
			return err
		}
		if err := sc.check(); err != nil {
			return err
		}
		if !sc.marked {
			if _, err := tx.Exec(ctx, `CREATE TABLE roster_schema (owner text NOT NULL, version integer NOT NULL)`); err != nil {
				return fmt.Errorf("create roster_schema: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO roster_schema VALUES ($1, 0)`, pgOwner); err != nil {
				return fmt.Errorf("create roster_schema: %w", err)
			}
		}
		for v := sc.version; v < len(pgMigrations); v++ {
			if _, err := tx.Exec(ctx, pgMigrations[v]); err != nil {
				return fmt.Errorf("schema migration %d: %w", v+1, err)
			}
		}
		if _, err = tx.Exec(ctx, `UPDATE roster_schema SET version = $1`, len(pgMigrations)); err != nil {
			return fmt.Errorf("record the schema version: %w", err)
		}
		s.migrated = len(pgMigrations) - sc.version
		return nil
	})
}

// SchemaVersion returns the version recorded in roster_schema.
func (s *Postgres) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT version FROM roster_schema`).Scan(&v)
	return v, err
}

func firstN(list []string, n int) []string {
	if len(list) > n {
		return list[:n]
	}
	return list
}

// Migrated returns how many schema migrations this open applied (0 when
// another process had already done them).
func (s *Postgres) Migrated() int { return s.migrated }

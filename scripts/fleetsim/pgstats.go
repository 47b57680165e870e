package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// dbStats reads what PostgreSQL counts for the store's database.
type dbStats struct {
	conn *pgx.Conn
}

// dbSample is one reading of the database's counters.
type dbSample struct {
	xacts  int64            // transactions committed and rolled back
	bytes  int64            // the database's size on disk
	tables map[string]int64 // bytes of keys and values per roster table
	conns  int              // connections to the database, this one's included
}

func openDBStats(ctx context.Context, url string) (*dbStats, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, errors.New("database statistics: the --store URL does not parse")
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database statistics: connect: %w", err)
	}
	return &dbStats{conn: conn}, nil
}

// sample reads xact_commit + xact_rollback of pg_stat_database for the
// current database and its size. PostgreSQL's backends report their
// counts at most once a second while busy, so a reading lags by about
// that much; both ends of a window lag alike.
func (d *dbStats) sample(ctx context.Context) (dbSample, error) {
	var s dbSample
	err := d.conn.QueryRow(ctx, `SELECT xact_commit + xact_rollback, pg_database_size(datname)
		FROM pg_stat_database WHERE datname = current_database()`).Scan(&s.xacts, &s.bytes)
	if err != nil {
		return s, fmt.Errorf("database statistics: %w", err)
	}
	if s.conns, err = d.conns(ctx); err != nil {
		return s, err
	}
	// Every roster table is rows of roster_kv (README, "PostgreSQL
	// store"); the CA's are the tables ca.*.
	rows, err := d.conn.Query(ctx, `SELECT tbl, sum(octet_length(k) + octet_length(v))::bigint FROM roster_kv GROUP BY tbl`)
	if err != nil {
		return s, fmt.Errorf("database statistics: table sizes: %w", err)
	}
	s.tables = map[string]int64{}
	for rows.Next() {
		var tbl string
		var n int64
		if err := rows.Scan(&tbl, &n); err != nil {
			rows.Close()
			return s, fmt.Errorf("database statistics: table sizes: %w", err)
		}
		s.tables[tbl] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("database statistics: table sizes: %w", err)
	}
	return s, nil
}

// conns counts the connections to the current database (pg_stat_activity).
func (d *dbStats) conns(ctx context.Context) (int, error) {
	var n int
	if err := d.conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()`).Scan(&n); err != nil {
		return 0, fmt.Errorf("database statistics: connections: %w", err)
	}
	return n, nil
}

func (d *dbStats) close() { d.conn.Close(context.Background()) }

package store

// The PostgreSQL implementation of Store over pgx's pool. No pgx type
// leaves this file and postgres_schema.go.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrReadOnly is returned by Update on a store opened on a read-only
// database (a standby, or default_transaction_read_only on).
var ErrReadOnly = errors.New("store: the PostgreSQL database is read-only")

// ErrCommitUnknown is returned by Update when the connection was lost while
// the commit was in flight: the transaction may or may not have committed,
// so it is not retried.
var ErrCommitUnknown = errors.New("store: connection lost during commit; the transaction may have committed")

// ErrUnavailable is returned by View and Update when the database could
// not be reached in any of the tries: nothing was read or written.
var ErrUnavailable = errors.New("store: the PostgreSQL database is unreachable")

// PostgresOptions configure [OpenPostgres]. The zero value is usable.
type PostgresOptions struct {
	// MaxConns bounds the pool (default: pgx's, or pool_max_conns in the
	// URL).
	MaxConns int32
	// MaxTries bounds how often a transaction is tried when PostgreSQL
	// reports a serialization failure or deadlock, or the connection is
	// lost before the commit (default 10).
	MaxTries int
	// PageSize is how many rows a Scan reads per query (default 256).
	PageSize int
}

// Postgres is a Store in one PostgreSQL table (see postgres_schema.go).
type Postgres struct {
	pool     *pgxpool.Pool
	o        PostgresOptions
	readOnly bool
	retries  atomic.Int64
	serial   serialWrites // postgres_contention.go
	migrated int
	where    string
}

// String names the database and server, without credentials.
func (s *Postgres) String() string { return s.where }

// OpenPostgres connects to the database at url (postgres://… or a
// key=value DSN), checks its schema and creates or migrates it (see
// [Postgres] and the package doc). On a read-only database it creates
// nothing: it opens read-only when the schema is there, else fails.
func OpenPostgres(ctx context.Context, url string, o PostgresOptions) (*Postgres, error) {
	if o.MaxTries <= 0 {
		o.MaxTries = 10
	}
	if o.PageSize <= 0 {
		o.PageSize = 256
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, errors.New("store: the PostgreSQL URL does not parse (postgres://USER@HOST:PORT/DATABASE?sslmode=…)")
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect to PostgreSQL %s: %w", where(cfg), err)
	}
	s := &Postgres{pool: pool, o: o, where: where(cfg), serial: serialWrites{turn: make(chan struct{}, 1)}}
	if err := s.prepare(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: PostgreSQL %s: %w", where(cfg), err)
	}
	return s, nil
}

// where names a database without its credentials.
func where(cfg *pgxpool.Config) string {
	return fmt.Sprintf("database %q on %s:%d", cfg.ConnConfig.Database, cfg.ConnConfig.Host, cfg.ConnConfig.Port)
}

// ReadOnly reports whether the database was read-only at open.
func (s *Postgres) ReadOnly() bool { return s.readOnly }

// Close closes the pool.
func (s *Postgres) Close() error { s.pool.Close(); return nil }

// View runs fn in a REPEATABLE READ READ ONLY transaction: one snapshot,
// so everything fn reads is consistent. A connection lost before fn
// finished is retried.
func (s *Postgres) View(ctx context.Context, fn func(Tx) error) error {
	return s.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// Update runs fn in a SERIALIZABLE transaction and commits it when fn
// returns nil. On a serialization failure or deadlock (SQLSTATE 40001,
// 40P01), or a connection lost before the commit was sent, the
// transaction is rolled back and fn runs again from scratch, up to
// MaxTries times with jittered backoff: fn must have no effect outside the
// transaction (as for [Group]).
func (s *Postgres) Update(ctx context.Context, fn func(Tx) error) error {
	if s.readOnly {
		if err := ctx.Err(); err != nil {
			return err
		}
		return ErrReadOnly
	}
	return s.run(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable}, fn)
}

// Retries returns how many transactions were tried again.
func (s *Postgres) Retries() int64 { return s.retries.Load() }

func (s *Postgres) run(ctx context.Context, opts pgx.TxOptions, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	write := opts.AccessMode != pgx.ReadOnly
	serial := write && s.contended()
	var last error
	for try := 0; try < s.o.MaxTries; try++ {
		if try > 0 {
			s.retries.Add(1)
			if err := backoff(ctx, try); err != nil {
				return err
			}
		}
		var err error
		var retry bool
		if serial {
			err, retry = s.onceSerial(ctx, opts, fn)
		} else {
			err, retry = s.once(ctx, s.pool, opts, fn)
		}
		if !retry {
			return err
		}
		if write && isSerialization(err) {
			s.contend()
			serial = true
		}
		last = err
	}
	if isConnLost(last) {
		return fmt.Errorf("%w: gave up after %d tries: %w", ErrUnavailable, s.o.MaxTries, last)
	}
	return fmt.Errorf("store: gave up after %d tries: %w", s.o.MaxTries, last)
}

// beginner is where a transaction begins: the pool, or one connection.
type beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// once runs one attempt on a connection of on and says whether it may be
// tried again.
func (s *Postgres) once(ctx context.Context, on beginner, opts pgx.TxOptions, fn func(Tx) error) (error, bool) {
	ptx, err := on.BeginTx(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err(), false
		}
		return fmt.Errorf("store: begin: %w", err), retryable(err)
	}
	t := &pgTx{ctx: ctx, tx: ptx, page: s.o.PageSize}
	ferr := fn(t)
	if ferr == nil {
		_ = t.flush() // an error is kept in t.err
	}
	if t.err != nil || ferr != nil {
		_ = ptx.Rollback(context.WithoutCancel(ctx))
		// A database error fn saw (and maybe wrapped or swallowed) decides:
		// the attempt was doomed whatever fn made of it.
		if t.err != nil && retryable(t.err) && ctx.Err() == nil {
			return t.err, true
		}
		if ferr != nil {
			return ferr, false
		}
		return t.err, false
	}
	if err := ptx.Commit(ctx); err != nil {
		if isSerialization(err) {
			return fmt.Errorf("store: commit: %w", err), true
		}
		if isConnLost(err) {
			return fmt.Errorf("%w: %w", ErrCommitUnknown, err), false
		}
		return fmt.Errorf("store: commit: %w", err), false
	}
	return nil, false
}

// backoff sleeps about 2^try ms (capped at 250ms), jittered so that
// transactions that collided do not collide again.
func backoff(ctx context.Context, try int) error {
	d := min(time.Millisecond<<try, 250*time.Millisecond)
	d = d/2 + rand.N(d)
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryable: a transaction that failed this way had no effect and may run
// again.
func retryable(err error) bool { return isSerialization(err) || isConnLost(err) }

func isSerialization(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func isConnLost(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-03: the server shut down
		// or terminated the backend.
		return pe.Code[:2] == "08" || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ne net.Error
	return pgconn.SafeToRetry(err) || errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// pgTx is one PostgreSQL transaction. err keeps the first database error,
// which aborts the transaction in PostgreSQL whatever fn does with it.
//
// Writes are sent behind: Put and Delete queue their statements (and note
// the key's new state in written, which Get answers from), and the queue
// goes to the server as one pipelined batch, one round trip, before a
// Scan, when it grows long, and before the commit.
type pgTx struct {
	ctx     context.Context
	tx      pgx.Tx
	page    int
	err     error
	queue   pgx.Batch
	written map[pgKey][]byte // nil value: deleted
}

type pgKey struct{ tbl, k string }

// maxQueue bounds the writes sent in one batch.
const maxQueue = 512

func (t *pgTx) fail(op, table string, err error) error {
	if t.err == nil {
		t.err = err
	}
	return fmt.Errorf("table %s: %s: %w", table, op, err)
}

// flush sends the queued writes.
func (t *pgTx) flush() error {
	if t.err != nil {
		return t.err
	}
	n := t.queue.Len()
	if n == 0 {
		return nil
	}
	br := t.tx.SendBatch(t.ctx, &t.queue)
	var err error
	for range n {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	t.queue = pgx.Batch{}
	if err != nil {
		return t.fail("write", "(queued writes)", err)
	}
	return nil
}

func (t *pgTx) note(table string, key, value []byte) {
	if t.written == nil {
		t.written = map[pgKey][]byte{}
	}
	t.written[pgKey{table, string(key)}] = value
}

// Get returns the value under key, or nil.
func (t *pgTx) Get(table string, key []byte) ([]byte, error) {
	if t.err != nil {
		return nil, t.err
	}
	if v, ok := t.written[pgKey{table, string(key)}]; ok {
		if v == nil {
			return nil, nil
		}
		return append(make([]byte, 0, len(v)), v...), nil
	}
	var v []byte
	err := t.tx.QueryRow(t.ctx, `SELECT v FROM roster_kv WHERE tbl = $1 AND k = $2`, table, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, t.fail("get", table, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// Put stores value under key.
func (t *pgTx) Put(table string, key, value []byte) error {
	if t.err != nil {
		return t.err
	}
	v := append(make([]byte, 0, len(value)), value...)
	k := append([]byte(nil), key...)
	t.queue.Queue(`INSERT INTO roster_kv (tbl, k, v) VALUES ($1, $2, $3)
		ON CONFLICT (tbl, k) DO UPDATE SET v = EXCLUDED.v`, table, k, v)
	t.note(table, key, v)
	if t.queue.Len() >= maxQueue {
		return t.flush()
	}
	return nil
}

// Delete removes key; an absent key is not an error.
func (t *pgTx) Delete(table string, key []byte) error {
	if t.err != nil {
		return t.err
	}
	k := append([]byte(nil), key...)
	t.queue.Queue(`DELETE FROM roster_kv WHERE tbl = $1 AND k = $2`, table, k)
	t.note(table, key, nil)
	if t.queue.Len() >= maxQueue {
		return t.flush()
	}
	return nil
}

// Scan reads the keys under prefix a page at a time (keyset pagination on
// the primary key), so a big table is never held in memory and fn may use
// the transaction between pages' rows.
func (t *pgTx) Scan(table string, prefix []byte, fn func(k, v []byte) error) error {
	if err := t.flush(); err != nil {
		return err
	}
	lo, hi := prefix, prefixEnd(prefix)
	if lo == nil {
		lo = []byte{}
	}
	inclusive := true
	for {
		var q string
		args := []any{table, lo, t.page}
		switch {
		case inclusive && hi != nil:
			q = `SELECT k, v FROM roster_kv WHERE tbl = $1 AND k >= $2 AND k < $4 ORDER BY k LIMIT $3`
		case hi != nil:
			q = `SELECT k, v FROM roster_kv WHERE tbl = $1 AND k > $2 AND k < $4 ORDER BY k LIMIT $3`
		case inclusive:
			q = `SELECT k, v FROM roster_kv WHERE tbl = $1 AND k >= $2 ORDER BY k LIMIT $3`
		default:
			q = `SELECT k, v FROM roster_kv WHERE tbl = $1 AND k > $2 ORDER BY k LIMIT $3`
		}
		if hi != nil {
			args = append(args, hi)
		}
		if err := t.flush(); err != nil { // what fn wrote on the last page
			return err
		}
		rows, err := t.tx.Query(t.ctx, q, args...)
		if err != nil {
			return t.fail("scan", table, err)
		}
		var kvs [][2][]byte
		for rows.Next() {
			var k, v []byte
			if err := rows.Scan(&k, &v); err != nil {
				rows.Close()
				return t.fail("scan", table, err)
			}
			kvs = append(kvs, [2][]byte{k, v})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return t.fail("scan", table, err)
		}
		for _, kv := range kvs {
			if err := fn(kv[0], kv[1]); err != nil {
				return err
			}
		}
		if len(kvs) < t.page {
			return nil
		}
		lo, inclusive = kvs[len(kvs)-1][0], false
	}
}

// prefixEnd returns the least key greater than every key starting with
// prefix, or nil when there is none (an empty prefix, or all 0xff bytes).
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Empty reports whether the store holds no rows at all.
func (s *Postgres) Empty(ctx context.Context) (bool, error) {
	var any bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM roster_kv)`).Scan(&any); err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	return !any, nil
}

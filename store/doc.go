// Package store is roster's transactional, ordered key-value seam and the
// machinery every package that keeps data shares: the bbolt implementation
// ([OpenBolt]), the PostgreSQL implementation ([OpenPostgres]), group commit ([Group]), the schema-migration registry
// ([Migrate]) and the composite-key helpers ([Join], [Prefix], [Split],
// [U64]).
//
// Start with [Store] and [Tx]: View and Update take a function that runs in
// one transaction; an error rolls it back, nil commits it. Tables are named
// byte-ordered maps that exist once written. Each table has one owner
// package (inventory, audit, access, issuer); no package reads another's
// tables, it calls the owner's functions, which take a [Tx] so that a
// change and its audit record stay one transaction.
//
// # Crash behaviour
//
// bbolt commits by writing data pages, fsyncing, then writing the
// checksummed meta page and fsyncing again; a crash at any point leaves the
// last committed state, and an unfinished transaction simply disappears.
// So an Update that returned nil survives kill -9 and power loss (on disks
// that honour fsync), and one interrupted by a crash is either wholly there
// or wholly absent. The free-page list is not written at each commit but
// rebuilt when the file is opened (bbolt's NoFreelistSync), which costs a
// scan of the file at start and nothing in safety.
//
// [Group] shares one commit among concurrent callers. Each caller's
// function is applied all-or-nothing inside the shared transaction (one that
// fails is left out and the batch runs again without it), and every caller
// returns only after the transaction holding its work is on disk. A crash
// loses at most the batch in flight, none of whose callers had been
// answered: each discovery report is one request, so a crash loses at most
// that batch of reports.
//
// # PostgreSQL
//
// [OpenPostgres] keeps every roster table in one PostgreSQL table,
// roster_kv (tbl, k, v) with primary key (tbl, k): tables spring into
// existence on their first Put, which with a PostgreSQL table per roster
// table would be DDL at run time (a privilege the server should not need,
// impossible on a standby, and catalog conflicts between transactions).
// tbl is COLLATE "C" and k bytea, so the key orders bytewise as bbolt's;
// Scan reads a prefix range (k >= prefix AND k < the prefix's successor)
// a page at a time in key order.
//
// Update is a SERIALIZABLE transaction, so every invariant a bbolt writer
// (which runs alone) keeps holds with several writers and several nodes:
// PostgreSQL aborts whichever transaction would break serial order. Such an
// abort (SQLSTATE 40001 or 40P01), or a connection lost before the commit
// was sent, rolls back and runs the callback again from scratch, up to
// [PostgresOptions.MaxTries] times with jittered backoff; so Update
// callbacks, like [Group] requests, must have no effect outside the
// transaction. After a serialization failure a store runs its writes one
// at a time for a while, each under the database's advisory write lock, so
// that nodes whose writes collide (every audit append writes the chain's
// head) take turns instead of aborting one another (postgres_contention.go).
// [Postgres.Lock] takes such a lock for other work one node at a time. A
// connection lost during the commit itself is not retried
// ([ErrCommitUnknown]): the commit may have happened. View is REPEATABLE
// READ READ ONLY: one snapshot. A transaction's Puts and Deletes are sent
// behind, as one pipelined batch before a Scan, every 512 writes and before
// the commit; Get answers from them first, so fn sees its own writes.
//
// The database's own schema is versioned in roster_schema (owner "roster",
// version): a fresh database is migrated once under an advisory lock, so
// nodes may start together; a database holding other tables, another
// owner's marker or a newer version is refused and left alone. On a
// read-only database (a standby, default_transaction_read_only) nothing is
// created: the store opens read-only when the schema is current, else it
// fails saying so. A commit is durable as PostgreSQL's synchronous_commit
// makes it.
package store

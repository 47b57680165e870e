// Package store is roster's transactional, ordered key-value seam and the
// machinery every package that keeps data shares: the bbolt implementation
// ([OpenBolt]), group commit ([Group]), the schema-migration registry
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
package store

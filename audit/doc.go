// Package audit is roster's hash-chained audit log: who changed what, which
// certificate was issued, renewed, refused or revoked, and every scan report
// accepted or refused.
//
// Start with [Append], which adds an [Event] inside the caller's store
// transaction, so a change and its audit record commit together or not at
// all. [Record] appends on its own (a refusal has no change to go with).
// [List] reads, [Verify] walks the chain. The actor comes from the context
// ([WithActor], [Actor]); the action names are the constants below, the one
// set every package uses.
//
// # The chain
//
// Record n stores the hash of record n-1 (PrevHash) and its own Hash =
// SHA-256 of its canonical encoding, which includes PrevHash. The head (last
// sequence number and hash) is kept in [store.MetaTable] under "audit/head",
// so deleting the newest records is detected as well as editing or deleting
// any other. The package owns the table "audit" (SEQ(8) -> Event JSON) and
// that meta key.
package audit

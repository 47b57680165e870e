// Package inventory is roster's inventory: hosts, account instances,
// service accounts with their owners, tags, tiers, exceptions and history,
// certificate state, ingest of scan reports and the numbers of the report.
// Text rendering is package render's, operator tokens package access's,
// enrollment tokens the issuer's, the audit log package audit's; they keep
// their tables in the same store ([Inventory.Store], [Inventory.Update]).
//
// Start with [Open], which opens (or creates) the bbolt file the server
// keeps in its data directory, then:
//
//   - [Inventory.IngestAs] merges a scan report ([scan.Decode] reads one
//     from a request body) sent by a [Submitter], a host identity or an
//     operator ([Inventory.Ingest] for the context's actor), and audits it;
//     [Inventory.AuditRefusedScan] audits a report refused before it got
//     here; [Inventory.FingerprintKey] is the key scanners fingerprint
//     secrets with;
//   - [Inventory.ListAccounts], [Inventory.GetAccount],
//     [Inventory.AccountHistory], [Inventory.ListHosts] and
//     [Inventory.GetHost] read; [Inventory.SetOwner],
//     [Inventory.ImportOwners], [Inventory.AddException], [Inventory.SetTier],
//     [Inventory.TagAccount], [Inventory.TagHost] ([Inventory.RetagHosts]
//     says which accounts an env= tag moved), [Inventory.RetireAccount],
//     [Inventory.UnretireAccount],
//     [Inventory.Split] and [Inventory.Merge] change, each audited with the
//     actor from audit.WithActor;
//   - [Inventory.AddRegistered], [Inventory.ImportRegistered] and
//     [Inventory.RemoveRegistered] keep the accounts no scan finds
//     (registered.go), and [Inventory.SetPurpose] says what any account is
//     for, over the purpose prefilled from GECOS and unit descriptions;
//   - [Inventory.Report] computes the per-tier report (package render
//     writes it as a table, CSV or Markdown);
//   - [Inventory.Snapshot] keeps the day's snapshot of each tier's
//     distribution (the server's sweep: [Inventory.SnapshotToday]) and
//     [Inventory.History] reads a range of days, with the burndown the
//     chart draws (history.go);
//   - [Inventory.SetPhase] and [Inventory.RemovePhase] keep the rollout
//     plan, one phase per tier under the ordering rule (plan.go);
//     [Inventory.Plan] reads it with each tier's state and progress;
//     [Inventory.ExtendException] extends an exception under its tier's
//     caps;
//   - [Inventory.Identity], [Inventory.RecordIssuedTx],
//     [Inventory.RecordRenewedTx], [Inventory.RecordReuse] and
//     [Inventory.RecordRevoked] serve the issuer, inside its transactions
//     ([Inventory.Update]) where it needs them.
//
// # Service accounts and names
//
// Instances of an account group into a service account by account name
// within the host's environment (the host tag env=NAME, [DefaultEnv] for
// hosts without one). A service account's key is NAME@ENV. Methods taking
// an account accept NAME when it exists in one environment only, and
// NAME@ENV always. A name living in several environments is flagged
// SharedAcrossEnvs until an operator tells its groups apart: confirming a
// group as a separate identity ([Inventory.Split] with no host) or splitting
// an instance off into its own group ([Inventory.Split] with a host) sets
// that group apart from all others, so the flag stays only on groups with
// another unconfirmed group of the same name. [Inventory.Merge] joins
// groups.
//
// People's accounts (scan kind "human") and OS accounts that nothing uses
// and that hold no credential (kind "system") are kept but listed only on
// request ([Filter].Humans, [Filter].System) and counted apart from the
// per-tier report: roster is about machine identities, and an unused
// account without a credential has nothing to migrate. Accounts a directory
// scan found (kind "directory", the host being the domain) are service
// accounts in every list, count, tier and plan; [AccountSummary].Directory
// says so, and [Account].DirectoryEntries holds their entries.
//
// A scan changes its own host's instances only. When it finds a name in a
// group while the name already is an identity in another, the new group
// waits for review ([AccountSummary].PendingReview, a [Report] line, a
// history event) and gets no certificate, and the identity that was there
// first is left as it was.
//
// # Hosts and their identities
//
// A report finds its host by machine-id, else by hostname. A host identity
// (the host's certificate) is bound to its host record when it is enrolled
// ([Inventory.RecordIssuedTx] with account ""), and a report sent with it
// may change that record only: not another host's, not a new one, and it
// may not rename the host or change its machine-id ([HostMismatchError]).
// An operator may report for any host and move one (audited). Reports are
// ordered by the time the inventory received them, and one dated more than
// [Options].MaxClockSkew ahead of the inventory's clock is refused, so a
// host's clock cannot freeze its record.
//
// # Storage and crash behaviour
//
// Everything sits behind store.Store, the transactional ordered key-value
// seam (tables of byte keys and values) that package store implements on
// bbolt and a PostgreSQL table can implement later. Every change is one
// store transaction: ingesting a report with its audit record, setting an
// owner together with its history event and audit record, recording a
// certificate together with the enrollment token it burns. bbolt commits by writing data pages, fsyncing, then
// writing the checksummed meta page and fsyncing again; a crash at any
// point leaves the last committed state, and an unfinished transaction
// simply disappears. So a method that returned nil survives kill -9 and
// power loss (on disks that honour fsync), and one interrupted by a crash
// is either wholly there or wholly absent: there is no half-written host.
// The free-page list is not written at each commit but rebuilt when the
// file is opened (bbolt's NoFreelistSync), which costs a scan of the file
// at start and nothing in safety.
//
// Concurrent Ingest calls (and the issuer's writes, its hot path) are
// group-committed (store.Group): one transaction carries many of them,
// each applied
// all-or-nothing inside it (one that fails is left out, the others
// commit), and each call returns only after that transaction is on disk.
// A crash loses at most the batch in flight, none of whose callers had
// been answered.
//
// The schema version is recorded in the store, and [Open] runs the pending
// migrations, one transaction each. A file that is not a roster inventory
// is refused with [ErrNotInventory]; a store written by a newer roster with
// [ErrSchemaTooNew].
//
// Reports read per-service-account summaries that every write keeps up to
// date, so their cost grows with the number of service accounts, not with
// the number of instances. [Inventory.Check] recomputes those summaries
// and indexes from the instances and compares.
//
// # Time
//
// Statuses that depend on time (an exception past its expiry, a
// certificate past its not_after) are computed at read time, so reports
// are right without any background job. [Inventory.Sweep] only records
// those moments as history events; the server calls it periodically.
package inventory

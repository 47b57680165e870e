// Package notify delivers roster's events (api.Notice) to webhooks, at
// least once, from an outbox kept in the server's store.
//
// Start with [New], which validates the webhook URLs, then
// [Outbox.Enqueue], called inside the caller's store transaction, and
// [Outbox.Run], the worker that posts what is due until its context ends.
// [Sign] and [Verify] are the signature scheme; a receiver in Go can use
// Verify as it is.
//
// # Guarantees
//
//   - Deduplicated by ID on the sender's side: Enqueue keeps a small record
//     of every notice ID it queued and never queues that ID again, so
//     callers may enqueue the same state-based notices as often as they
//     like.
//   - At least once: a notice is queued in the same transaction as the
//     caller's change (or, for state-based notices, recomputed until it
//     is), and a delivery leaves the outbox only when a webhook answered
//     2xx. A crash between posting and recording the answer posts again
//     after restart, with the same event ID and delivery ID: receivers
//     deduplicate by the event ID (X-Roster-Event-Id).
//   - One delivery per (notice, webhook URL), its ID derived from both
//     (X-Roster-Delivery-Id), retried with exponential backoff and jitter
//     ([Backoff]) until Config.MaxAttempts attempts or Config.MaxAge,
//     then kept as failed for a week (for GET /v1/notify/outbox).
//   - Bounded: at most Config.MaxOutbox deliveries wait (Enqueue returns
//     [ErrFull] past that, without recording the ID, so a state-based
//     notice is queued on a later pass); each post has Config.Timeout;
//     at most 64 KiB of a response is read; redirects are never followed
//     (a 3xx is a failed attempt).
//   - The secret signs and never leaves the Outbox: it is in no record, log
//     or error. Webhook URLs appear in logs and listings as scheme and host
//     only ([Redact]): a path may hold a credential.
//
// # Request
//
// POST to each URL with the notice as compact JSON and the headers
//
//	Content-Type: application/json
//	User-Agent: roster-webhook/1
//	X-Roster-Event-Id: exception-expiring-7d/exc-12/2026-05-01
//	X-Roster-Event-Kind: exception.expiring
//	X-Roster-Delivery-Id: d-3f9a0c1b2e4d5f60718293a4
//	X-Roster-Signature: t=1767225600,v1=5d41402abc4b2a76b9719d911017c592...
//
// # Signature
//
// With a secret configured, X-Roster-Signature is t=UNIX,v1=HEX where HEX
// is the lowercase hex HMAC-SHA256, keyed with the secret, of the
// timestamp, a dot and the exact body bytes: hmac(secret, t + "." + body).
// A receiver recomputes it over the body as received (before any JSON
// parsing), compares in constant time, and refuses a t more than a few
// minutes from its own clock (a replay); then it deduplicates by event ID.
// The timestamp is that of the attempt, so each retry carries a fresh one.
//
// # Tables
//
//	notifyseen   EVENT ID                -> RFC 3339 time it was queued (the sender-side deduplication)
//	notifyout    DELIVERY ID             -> delivery JSON (notice body, URL, state, attempts, next attempt)
//	notifymeta   "count"                 -> decimal number of records in notifyout
//
// Tables are created on first write, like every table of the store.
package notify

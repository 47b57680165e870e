// Package agent is the client side of roster: it enrolls service identities
// with a roster server, keeps their short-lived certificates fresh, hands
// them to services (files plus reload actions) and submits host scans.
//
// Start with [Enroll], which turns a one-time enrollment token into a key
// pair and certificate in an identity directory, and [Run], which keeps every
// configured identity renewed until its context is cancelled. [ReadStatus]
// reports what the directories hold.
//
// # Trust
//
// The operator hands the agent the root fingerprint (lowercase hex SHA-256 of
// the root certificate's DER). [FetchRoot] is the only request made without
// verifying the server: it downloads /roots.pem and keeps the root whose
// fingerprint matches. Every later request verifies the server against that
// root, and every certificate the server returns is verified against it
// before it is written.
//
// # Files
//
// An identity directory holds cert.pem (leaf and intermediate), key.pem
// (0600), root.pem, identity.json (server URL and root fingerprint, not
// secret) and status.json (the outcome of the last attempt). Files are
// written atomically: temp file in the directory, fsync, rename, fsync of the
// directory. A good certificate is never replaced by a bad or partial one;
// see [DirStore.Save] for how a new key and certificate are installed as a
// pair and recovered after a crash.
//
// # SSH
//
// An identity with an ssh section ([SSHOptions]) also keeps an SSH user
// certificate in DIR/ssh: a key made here (id_ed25519, 0600, owned by the
// identity's user), the certificate POST /v1/ssh/sign returns for it over
// the identity's mTLS (id_ed25519-cert.pub), known_hosts trusting the host
// CA and an ssh_config snippet (config) naming them; it is renewed at two
// thirds of its life, after the X.509 certificate when both are due, with
// the identity's reload actions. The host identity's sshd section
// ([SshdOptions]) keeps sshd's files (trusted user CA, principals per
// account, KRL, host certificates) in /etc/ssh/roster, reloading sshd only
// when one of them changed; see sshd.go.
//
// # Guarantees
//
// Identities are independent: each runs in its own goroutine, and a failing
// renewal, reload action or expired certificate affects only its own
// identity. Private keys never leave the host and never appear in logs or
// errors. The package imports no server code.
package agent

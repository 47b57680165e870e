// Package ca is roster's built-in certificate authority: a root and an
// intermediate kept in the server's data directory, with signing, renewal,
// revocation and CRLs done by the embedded smallstep authority
// (github.com/smallstep/certificates/authority) over a smallstep nosql bbolt
// database.
//
// Start with [Init] (first start: creates the keys and certificates) and
// [Open] (every start). The returned [CA] signs a CSR for one [Identity]
// with [CA.Sign]; the names in the certificate come only from that identity,
// never from the CSR. [CA.Verify] is the check roster does itself before a
// renewal, because the authority's RenewContext does not verify the chain or
// the expiry of a certificate that carries no provisioner extension.
// [CA.Root] and [CA.CRL] (or [CA.CRLPEM]) are what the server's public
// endpoints serve (ca has no HTTP of its own: package server serves them),
// and [CA.ServerTLSConfig] (or [CA.ServerCertificate])
// gives the HTTPS listener its certificate, issued by the intermediate and
// renewed while the server runs.
//
// Tests of other packages get a real CA in a temporary directory from
// package ca/catest.
//
// # Data directory
//
//	DIR/ca.json                 manifest: version, trust domain, root fingerprint
//	DIR/root.crt                root certificate (PEM)
//	DIR/intermediate.crt        intermediate certificate (PEM)
//	DIR/secrets/root.key        root key, 0600, encrypted when a passphrase is set
//	DIR/secrets/intermediate.key
//	DIR/server.crt, DIR/secrets/server.key   the HTTPS listener's certificate
//	DIR/ca.db                   the authority's bbolt database (issued certificates,
//	                            revocations, CRL)
//
// [Open] refuses a directory whose manifest is missing, unreadable, of an
// unknown version, or whose root does not match the manifest's fingerprint:
// a damaged or foreign directory is an error, never a silent re-init.
//
// # Durability
//
// Every issued certificate is written to DIR/ca.db before [CA.Sign] returns.
// Concurrent signers share one bbolt transaction (and so one fsync): see
// groupDB in db.go.
package ca

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
// renewed while the server runs. roster, not the authority, schedules CRL
// reissues, one node at a time (crl.go).
//
// # SSH certificates
//
// The same authority signs OpenSSH certificates with two CA keys of its own:
//
//   - [CA.SignSSHUser](ctx, pub, [SSHRequest]{KeyID, Principals, Validity,
//     Extensions, CriticalOptions}): a user certificate. KeyID is the
//     identity's SPIFFE ID, Principals the account name(s); validity 1h by
//     default, at most [MaxSSHUserValidity] (24h), backdated like the X.509
//     certificates; no extensions or critical options unless the request
//     names them ("permit-pty", "source-address", ...).
//   - [CA.SignSSHHost]: a host certificate for a host key; principals are the
//     host's names, validity at most [MaxSSHHostValidity] (7 days), no
//     extensions.
//
// Both go through the authority's SignSSH with an sshutil template and
// roster's own bounds (the authority, without a provisioner, has neither: see
// TestSignSSHPitfalls). Refusals wrap [ErrSSHRequest]. Serials are random
// 64-bit, unique in this CA. Every certificate is recorded before it is
// returned: [CA.SSHCertificates], [CA.SSHCertificate] give the
// [SSHCertRecord]s (serial, type, key id, principals, validity, revocation).
//
// [CA.RevokeSSH] (one serial) and [CA.RevokeSSHKeyID] (every certificate of
// an identity) revoke and rebuild the OpenSSH KRL that [CA.SSHKRL] returns
// (package sshkrl; also rebuilt at [Open]). [CA.UserCAPublicKey] and
// [CA.HostCAPublicKey] are the CA keys in authorized_keys form.
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
//	DIR/secrets/ssh_user_ca.key SSH user CA key (Ed25519, or ECDSA P-256), 0600,
//	DIR/secrets/ssh_host_ca.key encrypted like the others; created at Init, or on
//	                            the first Open of a directory that has none
//	DIR/ca.db                   the authority's bbolt database (issued certificates,
//	                            revocations, CRL; SSH certificates in ssh_certs and
//	                            roster_ssh_certs)
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

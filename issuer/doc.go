// Package issuer decides who gets a certificate and issues it through the
// built-in CA (package ca): enrollment tokens, enrollment, renewal, rekey,
// revocation, all checked against the inventory and audited there.
//
// Start with [New] (a [Config] with the open CA and the inventory, through
// the small [Store] interface), then:
//
//   - [Issuer.CreateEnrollToken] for the operator's `roster enroll`: checks
//     the policy first, returns a one-time token (stored only as a hash);
//   - [Issuer.Enroll], [Issuer.Renew] and [Issuer.Rekey] for the agents:
//     a token and a CSR ([ParseCSR]), or the client certificate chain the
//     agent presented over mTLS;
//   - [Issuer.RenewOnHost] for one entry of a host's batch renewal: the
//     certificate named by serial, proof of possession, then exactly
//     [Issuer.Renew]'s path;
//   - [Issuer.Revoke] for `roster revoke`;
//   - [Issuer.AuthenticateHost] for scan submissions signed by a host
//     identity.
//
// The issuer has no transport: package server parses requests, hands the
// issuer the parsed CSR and the peer's certificates, and turns the typed
// results and errors ([*DeniedError], [*RequestError], [*AuthError]) into
// HTTP responses.
//
// # Identities
//
// Every certificate names one inventory identity as a SPIFFE ID ([ID]):
// spiffe://TD/host/HOST/sa/ACCOUNT, or spiffe://TD/host/HOST for a host. The
// names come from the inventory (the token's binding, or the presented
// certificate's URI SAN), never from the CSR.
//
// # Policy
//
// [AccountPolicy] decides eligibility; [DefaultPolicy] refuses, with a
// [*DeniedError] carrying a reason and a hint, an account without an owner,
// a retired one, one gone from its host, one shared across environments,
// and one its vendor holds (an exception lapsed on the account of a vendor
// whose on-lapse is revoke: [Issuer.SweepVendorLapses] revokes its
// certificates, and renewal and enrollment are refused, with the vendor and
// the exception named, until the exception is renewed or closed). It is
// checked at token creation, at enrollment and at every
// renewal, so an identity that stops being eligible stops getting
// certificates within one certificate lifetime.
//
// # Renewal checks
//
// The embedded authority's RenewContext re-signs any certificate it is
// given (it checks revocation only). Before renewing, the issuer verifies
// the client certificate's chain to its own root, that it has not expired
// (no grace), that it is not revoked, that its identity is still eligible,
// and that the identity's current certificate was not revoked. The new
// certificate gets the validity in force (see Config.TierValidity and the
// CA's bounds), not the lifetime of the one it replaces.
//
// # Renewal lineage
//
// An identity holds one current certificate, and each certificate gets
// one successor, the way OAuth rotates refresh tokens:
//
//   - renewing (or rekeying) the current certificate issues its successor;
//     concurrent renewals of one identity are serialised, and the
//     inventory records a successor only while the certificate it replaces
//     is still current, so 30 parallel renewals issue one certificate;
//   - renewing the certificate the current one was renewed from returns the
//     current one again, byte for byte (a lost response, an agent that
//     crashed before saving); a rekey gets it only if it asks for the same
//     key, and is refused otherwise;
//   - renewing any older certificate of the identity (two or more
//     generations behind, or of a line a new enrollment replaced) is
//     refused with a [*ReuseError], audited as audit.ActionCertReuse and
//     flagged on the identity (inventory.CertState.ReuseDetectedAt, an
//     inventory history event): someone else holds a copy of the key.
//
// The response shape does not change, so step clients keep working.
//
// # Errors
//
// Refusals are typed, and [Status] maps each to its HTTP status:
// [*RequestError] 400, [*AuthError] 401, [*DeniedError] and [*ReuseError]
// 403, and [*DiskFullError] 503 for a request that failed because the
// server's disk is full (ENOSPC from the inventory's store or the CA's
// database). A full disk leaves nothing half-recorded: an enrollment token
// is spent only in the commit that records its certificate, a certificate
// signed but not recorded is never handed out (and revoked, if the CA's
// database can still write), and the same request succeeds once
// space is back (a revocation already in force in the CA is recorded in
// the inventory by the retry). Each is logged once, here.
//
// # SSH certificates
//
// [Issuer.SignSSH] signs SSH user certificates for account identities and
// host certificates for host identities, asked for with the identity's
// current X.509 certificate: the renewal's checks run first (verifyPeer,
// then eligible, the gate renewals use), and everything the certificate
// says comes from the inventory (ssh.go). [Issuer.SSHHostConfig] gives a
// host identity its sshd's trusted CA and principals.
//
// # Audit
//
// Token creation, issuance, renewal and revocation are audited by the
// inventory methods that record them; the issuer audits token use and every
// refusal with its reason. No token, hash or key reaches a log or the audit.
package issuer

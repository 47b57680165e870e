// Package server is roster's one HTTP layer: it owns the data directory,
// opens the inventory, the CA and the issuer, and serves the operator API,
// the agents' enrollment and renewal endpoints and the CA's public
// endpoints over one HTTPS listener. The wire types are package api's.
//
// Start with [Run] (what `roster server` calls: everything the server knows
// lives in Config.DataDir, which one process owns at a time), or with [New]
// and [Server.Serve] over an inventory, issuer and CA opened elsewhere (as
// the tests do); [Server.Handler] is the bare handler.
//
// # Layout
//
// routes.go registers every route in one table: its method and path, who
// may call it, how large a body it reads and how long that body may take.
// Around each handler, wrappers (not code inside the handler) set the
// dialect, bound the body (body.go), authenticate the caller, check its
// role and record the actor of the audit log (auth.go), and write any error
// with the one error writer (errors.go). Request bodies go through the one
// JSON decoder (decodeJSON in body.go), scan reports through scan.Decode.
// Each resource has its file: scans.go, accounts.go, hosts.go, owners.go,
// exceptions.go, tokens.go, enroll.go, renew.go, revoke.go, report.go,
// audit.go, ca.go, ssh.go, sshsign.go, vendors.go, registered.go, history.go, passkeys.go, notify.go
// (webhook notices: the sweep job, the pass after a scan, the test notice;
// delivery is package notify's). metrics.go holds the Prometheus metrics
// (every route timed by its pattern, issuance counted by the handlers,
// group commits observed), metricssummary.go the inventory's counts
// cached for 30 s, metricslisten.go the optional plain-HTTP listener.
//
// # Routes
//
//	method path                             who may call
//	GET    /healthz                         anyone
//	GET    /health                          anyone (step-ca's path)
//	GET    /readyz                          anyone (503 until the database answers and the CA's keys are loaded)
//	GET    /roots.pem                       anyone
//	GET    /1.0/roots, /roots               anyone (step-ca's shape)
//	GET    /crl, /1.0/crl                   anyone
//	GET    /ssh/roots                       anyone (SSH user and host CA keys)
//	GET    /ssh/krl                         anyone (OpenSSH KRL, sshd's RevokedKeys)
//	POST   /v1/enroll                       enrollment token (in the body)
//	POST   /1.0/renew, /renew               identity certificate (mTLS), host or account
//	POST   /1.0/rekey, /rekey               identity certificate (mTLS), host or account
//	POST   /v1/renew-batch                  host certificate (mTLS), its own host's identities
//	POST   /v1/scans                        host certificate (its own host) or operator
//	GET    /v1/scan-config                  host certificate or operator
//	GET    /v1/whoami                       viewer
//	GET    /metrics                         viewer (Prometheus; or no token on --metrics-listen)
//	GET    /v1/hosts, /v1/hosts/{host}      viewer
//	POST   /v1/hosts/{host}/tags            operator
//	GET    /v1/accounts                     viewer
//	GET    /v1/accounts/{name}              viewer
//	GET    /v1/accounts/{name}/history      viewer
//	POST   /v1/accounts/{name}/tags         operator
//	PUT    /v1/accounts/{name}/tier         operator
//	PUT    /v1/accounts/{name}/kind         operator
//	POST   /v1/accounts/{name}/retire       operator
//	POST   /v1/accounts/{name}/split        operator
//	POST   /v1/accounts/{name}/merge        operator
//	PUT    /v1/accounts/{name}/owner        operator
//	DELETE /v1/accounts/{name}/owner        operator
//	POST   /v1/owners/import                operator
//	POST   /v1/exceptions                   operator
//	GET    /v1/exceptions                   viewer
//	DELETE /v1/exceptions/{id}              operator
//	GET    /v1/report                       viewer
//	GET    /v1/credentials/shared           viewer
//	POST   /v1/tokens                       admin
//	GET    /v1/tokens                       admin
//	DELETE /v1/tokens/{name}                admin
//	GET    /v1/passkeys                     viewer (own; role admin: anyone's, ?token=NAME)
//	DELETE /v1/passkeys/{id}                viewer (own; role admin: anyone's)
//	POST   /v1/enrollments                  operator
//	POST   /v1/revocations                  operator
//	GET    /v1/audit, /v1/audit/verify      viewer
//	GET    /v1/plan/history, /v1/plan/chart viewer
//	POST   /v1/accounts                     operator (register an account no scan finds)
//	POST   /v1/accounts/import              operator
//	POST   /v1/accounts/{name}/remove       operator
//	PUT    /v1/accounts/{name}/purpose      operator
//	POST   /v1/vendors                      operator
//	GET    /v1/vendors, /v1/vendors/{name}  viewer
//	PATCH  /v1/vendors/{name}               operator
//	DELETE /v1/vendors/{name}               operator
//	POST   /v1/vendors/import               operator
//	POST   /v1/notify/test                  operator
//	GET    /v1/notify/outbox                viewer
//	PUT    /v1/plan/{tier}                  operator
//	DELETE /v1/plan/{tier}                  operator
//	GET    /v1/plan                         viewer
//	POST   /v1/exceptions/{id}/extend       operator
//	POST   /v1/ssh/sign                     identity certificate (mTLS): user certificate (account), host certificate (host)
//	GET    /v1/ssh/host-config              host identity certificate (mTLS); an account identity gets 403
//	POST   /v1/ssh/grants                   operator (roster ssh allow)
//	POST   /v1/ssh/grants/remove            operator (roster ssh deny)
//	GET    /v1/ssh/grants                   viewer
//	GET    /v1/ssh/migration                viewer (roster ssh migrate)
//	PUT    /v1/accounts/{name}/ssh-policy   operator
//	POST   /v1/ui/login-links               viewer (roster ui login: a one-time sign-in link for the caller's token)
//
// "viewer", "operator" and "admin" are operator tokens (Authorization:
// Bearer, the scheme in any case) with at least that role: an admin may do
// what an operator may, an operator what a viewer may. A missing or unknown
// token is a 401, too small a role a 403 naming the role needed. The
// issuer verifies identity certificates itself (chain to this CA's root,
// expiry, revocation, eligibility), so that every refused renewal is
// audited with its reason; a host certificate on a scan route must be a
// valid host identity, else 401. access_test.go checks every route against
// every kind of caller.
//
// # The web page
//
// The operator's web page is served on the same listener: webRoutes in
// routes.go, wrapped by wrapWeb (web.go), with html/template pages and
// static files embedded from web/. A page is reached with a session cookie
// made at sign-in (weblogin.go: the token form at /login or a one-time
// link), kept in package access (websession.go); every POST is a form
// that must come from this origin with the session's CSRF token
// (webcsrf.go), and the session's token needs the route's role, exactly
// as in the API. Each page calls the same inventory, issuer and access
// functions as the API handler of the same job. webaccess_test.go checks
// every web route against every role.
//
// # Limits
//
// [Limits] holds them, with defaults: at most 2048 connections at once and
// 256 from one IP address (a connection over a cap is closed when
// accepted); 10 s for the TLS handshake and the headers; a request body
// may pause at most 15 s and must arrive within 30 s (2 minutes for a scan
// report or an owner import), so that a client stalled mid-body is
// disconnected within 15 s; 5 minutes from a request's headers to the end
// of its response; 2 minutes for an idle kept-alive connection. Every
// route bounds its body (1 MiB of JSON, 64 KiB for the agents' requests,
// 4 MiB of owner CSV, Limits.MaxScanBytes of scan report, nothing for a
// route that reads none).
package server

// Package api holds roster's wire types: every request and response body of
// the server's HTTP API, shared by the server, the operator CLI's client and
// the agent, so that none of them keeps a private copy. It uses the
// standard library only: the agent, which runs on every host, imports it.
//
// Start with [Error], the one error body, then the resource files: scans,
// accounts, hosts, owners, exceptions, tokens, enrollment ([EnrollRequest],
// [SignResponse]), batch renewal ([RenewBatchRequest]), the CA's public
// endpoints and the audit log. The server
// registers the routes in server/routes.go; its package documentation has
// the route table with who may call each route.
//
// # Two dialects
//
// The operator API under /v1/ answers indented JSON; an error is an
// [Error] with Error and, when there is a next step, Hint:
//
//	{"error": "account billing has no owner", "hint": "roster owner set billing OWNER"}
//
// The step-compatible endpoints (POST /v1/enroll, /1.0/renew, /renew,
// /1.0/rekey, /rekey, and the CA's /1.0/roots, /roots, /crl, /1.0/crl,
// /health) answer compact JSON as step-ca does, and their [Error] also
// carries Status and Message (step clients read "message"):
//
//	{"error":"client certificate has expired","hint":"...","status":401,"message":"client certificate has expired"}
//
// # Bodies that are not defined here
//
// A scan submission (POST /v1/scans) is a scan.Report: the scan schema is
// its own versioned contract, package scan. An account instance carries the
// scan.Account of its newest report as raw JSON ([Instance.Data]). The owner
// import (POST /v1/owners/import) and the registered-account import (POST
// /v1/accounts/import) take CSV. Reads offer ?format= (see
// [FormatJSON]); only the json format is described by these types, the
// others are text for people.
//
// # Compatibility
//
// Fields are added, never renamed or removed within /v1/; a client ignores
// fields it does not know. The server refuses request fields it does not
// know, so a misspelt option is an error rather than silently ignored.
package api

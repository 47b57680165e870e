// Package access is who may call roster's operator API: operator tokens,
// their roles and authentication.
//
// Start with [New], which takes the store the server keeps, then
// [Tokens.Create] (the plaintext is returned once and stored nowhere: only
// its SHA-256 hash is kept), [Tokens.Authenticate] for each request,
// [Role.Allows] for the check a route makes, and [Tokens.EnsureAdmin] for
// the first start. Every change is audited in its own transaction.
//
// The package owns the tables "tokens" (TOKENID -> record JSON) and
// "tokenhash" (SHA-256(token) -> TOKENID).
package access

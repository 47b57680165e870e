// Package access is who may call roster's operator API and web page:
// operator tokens, their roles and authentication, and web sessions.
//
// Start with [New], which takes the store the server keeps, then
// [Tokens.Create] (the plaintext is returned once and stored nowhere: only
// its SHA-256 hash is kept), [Tokens.Authenticate] for each request,
// [Role.Allows] for the check a route makes, and [Tokens.EnsureAdmin] for
// the first start. Every change is audited in its own transaction.
//
// The web page's sessions are [NewSessions]: [Sessions.Create] at sign-in,
// [Sessions.Authenticate] for each page, [Sessions.End] at sign-out, and
// one-time sign-in links ([Sessions.CreateLink], [Sessions.RedeemLink]).
//
// The package owns the tables "tokens" (TOKENID -> record JSON),
// "tokenhash" (SHA-256(token) -> TOKENID), "sessions" (SHA-256(session
// id) -> session JSON) and "loginlinks" (SHA-256(code) -> link JSON).
package access

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
// Operators' passkeys (WebAuthn, discoverable credentials): [NewPasskeys]
// for the server's relying party, [Passkeys.BeginRegistration] and
// [Passkeys.FinishRegistration] after a token sign-in,
// [Passkeys.BeginLogin] and [Passkeys.FinishLogin] to sign in with no
// token, [Passkeys.List] and [Passkeys.Revoke]. A revoked token's passkeys
// sign in no more.
//
// The package owns the tables "tokens" (TOKENID -> record JSON),
// "tokenhash" (SHA-256(token) -> TOKENID), "sessions" (SHA-256(session
// id) -> session JSON), "loginlinks" (SHA-256(code) -> link JSON),
// "passkeys" (PASSKEYID -> passkey JSON: token ID, label, the WebAuthn
// credential with its public key and signature counter) and
// "passkeyusers" (TOKENID -> the token's random WebAuthn user handle).
package access

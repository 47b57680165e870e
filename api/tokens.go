package api

import "time"

// TokenRequest is the body of POST /v1/tokens.
type TokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// TokenCreated is the body of POST /v1/tokens (201). Token is the secret,
// shown this once; the server keeps only its hash.
type TokenCreated struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	Token string `json:"token"`
}

// Token is one entry of GET /v1/tokens: a token without its secret.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// LoginLink is the body of POST /v1/ui/login-links: a one-time sign-in
// link to the web page for the caller's token (roster ui login). Path is
// relative to the server's URL; the link works once, until ExpiresAt.
type LoginLink struct {
	Path      string    `json:"path"`
	ExpiresAt time.Time `json:"expires_at"`
}

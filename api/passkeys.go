package api

import "time"

// Passkey is one entry of GET /v1/passkeys: a WebAuthn credential of an
// operator token, without its key.
type Passkey struct {
	ID        string `json:"id"`
	TokenID   string `json:"token_id"`
	TokenName string `json:"token_name"`
	// Name is the operator's label for it.
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	SignCount  uint32     `json:"sign_count"`
	// CloneWarning: a sign-in presented a signature counter that did not
	// advance; the passkey signs in no more.
	CloneWarning bool `json:"clone_warning,omitempty"`
	// Synced: the key may be copied to the holder's other devices.
	Synced    bool       `json:"synced,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	RevokedBy string     `json:"revoked_by,omitempty"`
}

// Operator is one of roster's own operators in GET /v1/report: an
// unrevoked operator token and its sign-in factor, "token" (strength
// secret_file) or "passkey" (hardware_bound: a passkey registered and
// used).
type Operator struct {
	Name        string     `json:"name"`
	Role        string     `json:"role"`
	Factor      string     `json:"factor"`
	Strength    string     `json:"strength"`
	Passkeys    int        `json:"passkeys"`
	LastPasskey *time.Time `json:"last_passkey_sign_in,omitempty"`
}

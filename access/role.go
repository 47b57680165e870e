package access

import (
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/refusal"
)

// Role is what an operator token may do.
type Role string

// Roles, most powerful first.
const (
	RoleAdmin    Role = "admin"    // everything, including tokens
	RoleOperator Role = "operator" // read and change the inventory, enroll, revoke
	RoleViewer   Role = "viewer"   // read only
)

// ParseRole returns the role named s, or an error naming the roles.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleOperator, RoleViewer:
		return r, nil
	}
	return "", &InvalidError{Field: "role", Reason: fmt.Sprintf("unknown role %q: want admin, operator or viewer", s)}
}

// Allows reports whether r includes the rights of need.
func (r Role) Allows(need Role) bool {
	rank := map[Role]int{RoleViewer: 1, RoleOperator: 2, RoleAdmin: 3}
	return rank[r] > 0 && rank[r] >= rank[need]
}

// TokenPrefix starts every operator token.
const TokenPrefix = "rst_"

// Token is an operator token without its secret. Only the SHA-256 hash of
// the secret is stored, and no API returns it.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Actor names the token's holder in the audit log: "token:NAME".
func (t Token) Actor() string { return "token:" + t.Name }

// Sentinel errors. Match them with errors.Is.
var (
	ErrUnauthenticated = errors.New("unknown or revoked token")
	ErrNotFound        = errors.New("not found")
)

// InvalidError is a refused request (internal/refusal): what was wrong
// and what to do next.
type InvalidError = refusal.InvalidError

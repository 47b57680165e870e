package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

const (
	tTokens    = "tokens"
	tTokenHash = "tokenhash"
)

type record struct {
	Token
	Hash []byte `json:"hash"`
}

// Tokens is the operator token register. It is safe for concurrent use.
type Tokens struct {
	s   store.Store
	now func() time.Time
}

// New returns the register kept in s; now is the clock (nil: time.Now).
func New(s store.Store, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{s: s, now: now}
}

// Create creates an operator token and returns its plaintext, which exists
// nowhere else afterwards: only its SHA-256 hash is stored. The plaintext is
// TokenPrefix followed by 256 random bits in base64url.
func (t *Tokens) Create(ctx context.Context, name string, role Role) (string, Token, error) {
	if name == "" || strings.ContainsAny(name, " \t\r\n\x00") || len(name) > 64 {
		return "", Token{}, &InvalidError{Field: "name", Reason: fmt.Sprintf("%q: want a short name without spaces", name)}
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", Token{}, err
	}
	var plain string
	var tok Token
	err := t.s.Update(ctx, func(tx store.Tx) error {
		var err error
		plain, tok, err = t.create(tx, name, role, audit.Actor(ctx))
		return err
	})
	if err != nil {
		return "", Token{}, fmt.Errorf("create token %s: %w", name, err)
	}
	return plain, tok, nil
}

func (t *Tokens) create(tx store.Tx, name string, role Role, actor string) (string, Token, error) {
	var dup bool
	if err := scanTokens(tx, func(r *record) error {
		dup = dup || r.Name == name && r.RevokedAt == nil
		return nil
	}); err != nil {
		return "", Token{}, err
	}
	if dup {
		return "", Token{}, &InvalidError{Field: "name", Reason: fmt.Sprintf("a token named %s exists", name),
			HintText: fmt.Sprintf("roster token revoke %s, or pick another name", name)}
	}
	secret := make([]byte, 32)
	idb := make([]byte, 8)
	if _, err := rand.Read(secret); err != nil {
		return "", Token{}, err
	}
	if _, err := rand.Read(idb); err != nil {
		return "", Token{}, err
	}
	plain := TokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	h := sha256.Sum256([]byte(plain))
	now := t.now().UTC()
	rec := record{Token: Token{ID: "tok-" + hex.EncodeToString(idb), Name: name, Role: role, CreatedAt: now, CreatedBy: actor}, Hash: h[:]}
	if err := put(tx, &rec); err != nil {
		return "", Token{}, err
	}
	if err := tx.Put(tTokenHash, h[:], []byte(rec.ID)); err != nil {
		return "", Token{}, err
	}
	err := audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionTokenCreate,
		Detail: fmt.Sprintf("%s %s role %s", rec.ID, name, role)})
	return plain, rec.Token, err
}

// List returns all tokens, revoked ones included, without hashes, oldest
// first.
func (t *Tokens) List(ctx context.Context) ([]Token, error) {
	var out []Token
	err := t.s.View(ctx, func(tx store.Tx) error {
		return scanTokens(tx, func(r *record) error {
			out = append(out, r.Token)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// Revoke revokes the token with this ID or (unrevoked) name and removes
// its web sessions.
func (t *Tokens) Revoke(ctx context.Context, idOrName string) error {
	actor, now := audit.Actor(ctx), t.now().UTC()
	err := t.s.Update(ctx, func(tx store.Tx) error {
		var found *record
		if err := scanTokens(tx, func(r *record) error {
			if r.ID == idOrName || r.Name == idOrName && r.RevokedAt == nil {
				found = r
			}
			return nil
		}); err != nil {
			return err
		}
		if found == nil {
			return &notFoundError{idOrName}
		}
		if found.RevokedAt != nil {
			return &InvalidError{Field: "token", Reason: fmt.Sprintf("token %s is already revoked", found.ID)}
		}
		found.RevokedAt = &now
		if err := put(tx, found); err != nil {
			return err
		}
		if err := tx.Delete(tTokenHash, found.Hash); err != nil {
			return err
		}
		// A revoked token's web sessions end with it.
		if err := deleteTokenSessions(tx, found.ID); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionTokenRevoke,
			Detail: fmt.Sprintf("%s %s", found.ID, found.Name)})
	})
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// notFoundError names the token and the command that lists them.
type notFoundError struct{ name string }

func (e *notFoundError) Error() string { return fmt.Sprintf("token %s: %v", e.name, ErrNotFound) }
func (e *notFoundError) Unwrap() error { return ErrNotFound }
func (e *notFoundError) Hint() string  { return "roster token list" }

// Authenticate returns the unrevoked token whose plaintext this is, or an
// error wrapping ErrUnauthenticated. The lookup is by SHA-256 of the
// plaintext, so timing reveals nothing usable about stored tokens, and the
// stored hash is compared in constant time.
func (t *Tokens) Authenticate(ctx context.Context, plaintext string) (Token, error) {
	if !strings.HasPrefix(plaintext, TokenPrefix) || len(plaintext) > 256 {
		return Token{}, ErrUnauthenticated
	}
	h := sha256.Sum256([]byte(plaintext))
	var tok Token
	err := t.s.View(ctx, func(tx store.Tx) error {
		id, err := tx.Get(tTokenHash, h[:])
		if err != nil {
			return err
		}
		if id == nil {
			return ErrUnauthenticated
		}
		b, err := tx.Get(tTokens, id)
		if err != nil {
			return err
		}
		var r record
		if b == nil {
			return ErrUnauthenticated
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("token %s: %w", id, err)
		}
		if subtle.ConstantTimeCompare(r.Hash, h[:]) != 1 || r.RevokedAt != nil {
			return ErrUnauthenticated
		}
		tok = r.Token
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			return Token{}, ErrUnauthenticated
		}
		return Token{}, fmt.Errorf("authenticate: %w", err)
	}
	return tok, nil
}

// EnsureAdmin creates an admin token named "admin" if the store holds no
// token at all, for the server's first start; it returns the plaintext and
// true then, and "" and false when tokens already exist.
func (t *Tokens) EnsureAdmin(ctx context.Context) (string, bool, error) {
	var plain string
	err := t.s.Update(ctx, func(tx store.Tx) error {
		found := false
		if err := tx.Scan(tTokens, nil, func(_, _ []byte) error { found = true; return store.ErrStop }); err != nil && err != store.ErrStop {
			return err
		}
		if found {
			return nil
		}
		var err error
		plain, _, err = t.create(tx, "admin", RoleAdmin, "system")
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("bootstrap admin token: %w", err)
	}
	return plain, plain != "", nil
}

func scanTokens(tx store.Tx, fn func(*record) error) error {
	return tx.Scan(tTokens, nil, func(k, b []byte) error {
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("token %s: %w", k, err)
		}
		return fn(&r)
	})
}

func put(tx store.Tx, r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Put(tTokens, []byte(r.ID), b)
}

package inventory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// CreateToken creates an operator token and returns its plaintext, which
// exists nowhere else afterwards: only its SHA-256 hash is stored.
// The plaintext is TokenPrefix followed by 256 random bits in base64url.
func (inv *Inventory) CreateToken(ctx context.Context, name string, role Role) (string, Token, error) {
	if !validName(name) || strings.ContainsAny(name, " \t\n") || len(name) > 64 {
		return "", Token{}, &InvalidError{Field: "name", Reason: fmt.Sprintf("%q: want a short name without spaces", name)}
	}
	if role != RoleAdmin && role != RoleOperator && role != RoleViewer {
		return "", Token{}, &InvalidError{Field: "role", Reason: fmt.Sprintf("unknown role %q: want admin, operator or viewer", role)}
	}
	var plain string
	var tok Token
	err := inv.store.Update(ctx, func(tx Tx) error {
		var err error
		plain, tok, err = createTokenTx(tx, name, role, ActorFrom(ctx), inv)
		return err
	})
	if err != nil {
		return "", Token{}, fmt.Errorf("create token %s: %w", name, err)
	}
	return plain, tok, nil
}

func createTokenTx(tx Tx, name string, role Role, actor string, inv *Inventory) (string, Token, error) {
	var dup bool
	if err := tx.Scan(tTokens, nil, func(k, b []byte) error {
		var r tokenRecord
		if err := jsonUnmarshal(tTokens, k, b, &r); err != nil {
			return err
		}
		dup = dup || r.Name == name && r.RevokedAt == nil
		return nil
	}); err != nil {
		return "", Token{}, err
	}
	if dup {
		return "", Token{}, &InvalidError{Field: "name", Reason: fmt.Sprintf("a token named %s exists", name), HintText: "revoke it first or pick another name"}
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
	now := inv.now()
	rec := tokenRecord{Token: Token{ID: "tok-" + hex.EncodeToString(idb), Name: name, Role: role, CreatedAt: now, CreatedBy: actor}, Hash: h[:]}
	if err := putJSON(tx, tTokens, []byte(rec.ID), rec); err != nil {
		return "", Token{}, err
	}
	if err := tx.Put(tTokenHash, h[:], []byte(rec.ID)); err != nil {
		return "", Token{}, err
	}
	err := appendAuditTx(tx, AuditEvent{Time: now, Actor: actor, Action: "token.create", Outcome: OutcomeOK,
		Detail: fmt.Sprintf("%s %s role %s", rec.ID, name, role)})
	return plain, rec.Token, err
}

// ListTokens returns all tokens, revoked ones included, without hashes.
func (inv *Inventory) ListTokens(ctx context.Context) ([]Token, error) {
	var out []Token
	err := inv.store.View(ctx, func(tx Tx) error {
		return tx.Scan(tTokens, nil, func(k, b []byte) error {
			var r tokenRecord
			if err := jsonUnmarshal(tTokens, k, b, &r); err != nil {
				return err
			}
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

// RevokeToken revokes the token with this ID or (unrevoked) name.
func (inv *Inventory) RevokeToken(ctx context.Context, idOrName string) error {
	actor, now := ActorFrom(ctx), inv.now()
	err := inv.store.Update(ctx, func(tx Tx) error {
		var found *tokenRecord
		if err := tx.Scan(tTokens, nil, func(k, b []byte) error {
			var r tokenRecord
			if err := jsonUnmarshal(tTokens, k, b, &r); err != nil {
				return err
			}
			if r.ID == idOrName || r.Name == idOrName && r.RevokedAt == nil {
				found = &r
			}
			return nil
		}); err != nil {
			return err
		}
		if found == nil {
			return fmt.Errorf("token %s: %w", idOrName, ErrNotFound)
		}
		if found.RevokedAt != nil {
			return &InvalidError{Field: "token", Reason: fmt.Sprintf("token %s is already revoked", found.ID)}
		}
		t := now
		found.RevokedAt = &t
		if err := putJSON(tx, tTokens, []byte(found.ID), found); err != nil {
			return err
		}
		if err := tx.Delete(tTokenHash, found.Hash); err != nil {
			return err
		}
		return appendAuditTx(tx, AuditEvent{Time: now, Actor: actor, Action: "token.revoke", Outcome: OutcomeOK,
			Detail: fmt.Sprintf("%s %s", found.ID, found.Name)})
	})
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// Authenticate returns the unrevoked token whose plaintext this is, or an
// error wrapping ErrUnauthenticated. The lookup is by SHA-256 of the
// plaintext, so timing reveals nothing usable about stored tokens, and the
// stored hash is compared in constant time.
func (inv *Inventory) Authenticate(ctx context.Context, plaintext string) (Token, error) {
	if !strings.HasPrefix(plaintext, TokenPrefix) || len(plaintext) > 256 {
		return Token{}, ErrUnauthenticated
	}
	h := sha256.Sum256([]byte(plaintext))
	var tok Token
	err := inv.store.View(ctx, func(tx Tx) error {
		id, err := tx.Get(tTokenHash, h[:])
		if err != nil {
			return err
		}
		if id == nil {
			return ErrUnauthenticated
		}
		var r tokenRecord
		ok, err := getJSON(tx, tTokens, id, &r)
		if err != nil {
			return err
		}
		if !ok || subtle.ConstantTimeCompare(r.Hash, h[:]) != 1 || r.RevokedAt != nil {
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

// EnsureAdminToken creates an admin token named "admin" if the store holds
// no token at all, for the server's first start; it returns the plaintext
// and true then, and "" and false when tokens already exist.
func (inv *Inventory) EnsureAdminToken(ctx context.Context) (string, bool, error) {
	var plain string
	err := inv.store.Update(ctx, func(tx Tx) error {
		any := false
		if err := tx.Scan(tTokens, nil, func(_, _ []byte) error { any = true; return errStop }); err != nil && err != errStop {
			return err
		}
		if any {
			return nil
		}
		var err error
		plain, _, err = createTokenTx(tx, "admin", RoleAdmin, "system", inv)
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("bootstrap admin token: %w", err)
	}
	return plain, plain != "", nil
}

var errStop = errors.New("stop")

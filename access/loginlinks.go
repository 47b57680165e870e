package access

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

// tLoginLinks holds the one-time sign-in links: SHA-256(code) -> link JSON.
const tLoginLinks = "loginlinks"

// LoginLinkLife is how long a sign-in link made by `roster ui login` is
// valid.
const LoginLinkLife = 5 * time.Minute

type loginLink struct {
	TokenID string    `json:"token_id"`
	Expires time.Time `json:"expires"`
}

// CreateLink makes a one-time sign-in link code for tok, valid for
// LoginLinkLife, and returns it with its expiry. Only its hash is stored;
// making it is audited.
func (ss *Sessions) CreateLink(ctx context.Context, tok Token) (string, time.Time, error) {
	code, err := randomString()
	if err != nil {
		return "", time.Time{}, err
	}
	now := ss.now().UTC()
	link := loginLink{TokenID: tok.ID, Expires: now.Add(LoginLinkLife)}
	err = ss.s.Update(ctx, func(tx store.Tx) error {
		// Links past their expiry go on the way.
		var gone [][]byte
		if err := tx.Scan(tLoginLinks, nil, func(k, b []byte) error {
			var l loginLink
			if json.Unmarshal(b, &l) != nil || !now.Before(l.Expires) {
				gone = append(gone, k)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range gone {
			if err := tx.Delete(tLoginLinks, k); err != nil {
				return err
			}
		}
		b, err := json.Marshal(link)
		if err != nil {
			return err
		}
		if err := tx.Put(tLoginLinks, sessionKey(code), b); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: audit.Actor(ctx), Action: audit.ActionUILoginLink,
			Detail: fmt.Sprintf("%s valid until %s", tok.ID, link.Expires.Format(time.RFC3339))})
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("create sign-in link: %w", err)
	}
	return code, link.Expires, nil
}

// RedeemLink consumes a sign-in link code and returns its token; a code
// unknown, used, expired or whose token is revoked gives
// ErrUnauthenticated.
func (ss *Sessions) RedeemLink(ctx context.Context, code string) (Token, error) {
	if code == "" || len(code) > 64 {
		return Token{}, ErrUnauthenticated
	}
	key := sessionKey(code)
	now := ss.now().UTC()
	var tok Token
	err := ss.s.Update(ctx, func(tx store.Tx) error {
		b, err := tx.Get(tLoginLinks, key)
		if err != nil || b == nil {
			return firstErr(err, ErrUnauthenticated)
		}
		if err := tx.Delete(tLoginLinks, key); err != nil {
			return err
		}
		var l loginLink
		if err := json.Unmarshal(b, &l); err != nil {
			return fmt.Errorf("sign-in link record: %w", err)
		}
		if !now.Before(l.Expires) {
			return ErrUnauthenticated
		}
		r, err := tokenByID(tx, l.TokenID)
		if err != nil {
			return err
		}
		if r == nil || r.RevokedAt != nil {
			return ErrUnauthenticated
		}
		tok = r.Token
		return nil
	})
	if err != nil {
		if err == ErrUnauthenticated {
			// The used or expired link is deleted all the same.
			_ = ss.s.Update(ctx, func(tx store.Tx) error { return tx.Delete(tLoginLinks, key) })
			return Token{}, ErrUnauthenticated
		}
		return Token{}, fmt.Errorf("sign-in link: %w", err)
	}
	return tok, nil
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

package access

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/rosterhq/roster/store"
)

// tCeremonies holds the passkey ceremonies under way:
// SHA-256(ceremony id) -> ceremonyRecord JSON. In the store, not in memory,
// so that a ceremony begun on one node finishes on any other, and taking
// one is a transaction: each challenge is answered once, on one node.
const tCeremonies = "passkeyceremonies"

// ceremony is a started registration (TokenID set) or sign-in.
type ceremony struct {
	TokenID string               `json:"token_id,omitempty"`
	Data    webauthn.SessionData `json:"data"`
	Expires time.Time            `json:"expires"`
}

// start records a begun ceremony and returns its handle and options.
// Expired ceremonies are removed on the way; at most maxCeremonies may be
// under way.
func (p *Passkeys) start(ctx context.Context, tokenID string, options any, data *webauthn.SessionData) (Ceremony, error) {
	b, err := json.Marshal(options)
	if err != nil {
		return Ceremony{}, err
	}
	id, err := randomString()
	if err != nil {
		return Ceremony{}, err
	}
	now := p.now()
	c := Ceremony{ID: id, Options: b, Expires: now.Add(CeremonyTimeout).UTC()}
	rec, err := json.Marshal(ceremony{TokenID: tokenID, Data: *data, Expires: c.Expires})
	if err != nil {
		return Ceremony{}, err
	}
	err = p.s.Update(ctx, func(tx store.Tx) error {
		var expired [][]byte
		live := 0
		err := tx.Scan(tCeremonies, nil, func(k, v []byte) error {
			var old ceremony
			if json.Unmarshal(v, &old) != nil || !now.Before(old.Expires) {
				expired = append(expired, k)
			} else {
				live++
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := tx.Delete(tCeremonies, k); err != nil {
				return err
			}
		}
		if live >= maxCeremonies {
			return ErrBusy
		}
		return tx.Put(tCeremonies, sessionKey(id), rec)
	})
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin passkey ceremony: %w", err)
	}
	return c, nil
}

// take removes ceremony id and returns it if it is unexpired and was begun
// for tokenID ("" for a sign-in). Whatever the outcome, the ceremony is
// gone: each challenge is answered once.
func (p *Passkeys) take(ctx context.Context, id, tokenID string) (ceremony, error) {
	var c *ceremony
	err := p.s.Update(ctx, func(tx store.Tx) error {
		c = nil
		key := sessionKey(id)
		v, err := tx.Get(tCeremonies, key)
		if err != nil || v == nil {
			return err
		}
		var rec ceremony
		if err := json.Unmarshal(v, &rec); err == nil {
			c = &rec
		}
		return tx.Delete(tCeremonies, key)
	})
	if err != nil {
		return ceremony{}, fmt.Errorf("passkey ceremony: %w", err)
	}
	if c == nil || !p.now().Before(c.Expires) || c.TokenID != tokenID {
		return ceremony{}, &InvalidError{Field: "ceremony", Reason: ErrCeremony.Error() + ": start again",
			HintText: "reload the page and try again within " + CeremonyTimeout.String()}
	}
	return *c, nil
}

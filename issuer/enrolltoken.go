package issuer

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

// The issuer owns one table in the inventory's store:
//
//	enroll  SHA-256(token) -> enrollToken JSON
const tEnroll = "enroll"

// enrollToken is a one-time enrollment token as stored: the hash of the
// secret (the secret itself is handed to the operator and kept nowhere),
// the identity it is bound to (Account "" for the host identity) and its
// expiry.
type enrollToken struct {
	Hash      []byte     `json:"hash"`
	Host      string     `json:"host"`
	Account   string     `json:"account"`
	ExpiresAt time.Time  `json:"expires_at"`
	CreatedBy string     `json:"created_by,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
}

// Refusals of an enrollment token. Match them with errors.Is.
var (
	ErrEnrollUnknown = errors.New("enrollment token unknown")
	ErrEnrollUsed    = errors.New("enrollment token already used")
	ErrEnrollExpired = errors.New("enrollment token expired")
)

// putEnrollToken stores a new token and audits its creation, in tx.
func putEnrollToken(tx store.Tx, t enrollToken) error {
	if old, err := tx.Get(tEnroll, t.Hash); err != nil {
		return err
	} else if old != nil {
		return errors.New("an enrollment token with this hash exists")
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := tx.Put(tEnroll, t.Hash, b); err != nil {
		return err
	}
	return audit.Append(tx, audit.Event{Time: t.CreatedAt, Actor: t.CreatedBy, Action: audit.ActionEnrollCreate,
		Host: t.Host, Account: t.Account, Detail: "expires " + t.ExpiresAt.UTC().Format(time.RFC3339)})
}

// checkEnrollToken reads the token with this hash and says whether it may
// be redeemed at now: ErrEnrollUnknown, ErrEnrollUsed or ErrEnrollExpired
// otherwise. With the last two it also returns the token (the caller
// audits the refusal naming the identity; never the hash).
func checkEnrollToken(tx store.Tx, hash []byte, now time.Time) (enrollToken, error) {
	var t enrollToken
	b, err := tx.Get(tEnroll, hash)
	if err != nil {
		return t, err
	}
	if b == nil {
		return t, ErrEnrollUnknown
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return enrollToken{}, fmt.Errorf("enrollment token record: %w", err)
	}
	switch {
	case t.UsedAt != nil:
		return t, ErrEnrollUsed
	case !now.Before(t.ExpiresAt):
		return t, ErrEnrollExpired
	}
	return t, nil
}

// burnEnrollToken marks the token used, in tx. It succeeds once: a
// concurrent or later attempt gets ErrEnrollUsed.
func burnEnrollToken(tx store.Tx, hash []byte, now time.Time) (enrollToken, error) {
	t, err := checkEnrollToken(tx, hash, now)
	if err != nil {
		return t, err
	}
	u := now.UTC()
	t.UsedAt = &u
	b, err := json.Marshal(t)
	if err != nil {
		return t, err
	}
	return t, tx.Put(tEnroll, hash, b)
}

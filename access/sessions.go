package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

// tSessions holds the web page's sessions: SHA-256(session id) -> session
// JSON. The session id itself is stored nowhere.
const tSessions = "sessions"

// Factors: what a session was made from.
const (
	FactorToken   = "token"   // an operator token (a static secret)
	FactorPasskey = "passkey" // a WebAuthn passkey (hardware-bound)
)

// Default session lifetimes (roster server --ui-session-idle, --ui-session-max).
const (
	DefaultSessionIdle = 30 * time.Minute
	DefaultSessionMax  = 12 * time.Hour
	// touchEvery is how stale a session's last-seen time may grow before a
	// request writes it again: not every page view is a write.
	touchEvery = time.Minute
)

// ErrSessionExpired is returned for a session past its idle or absolute
// expiry; it wraps ErrUnauthenticated.
var ErrSessionExpired = fmt.Errorf("session expired: %w", ErrUnauthenticated)

// Session is a signed-in web page session. Its role is its token's current
// role: a session carries none of its own.
type Session struct {
	TokenID   string    `json:"token_id"`
	Factor    string    `json:"factor"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
	// CSRF is the session's anti-forgery secret (base64url), which every
	// form of the page carries back.
	CSRF string `json:"csrf"`
}

// Sessions is the register of web sessions, kept in the same store as the
// tokens. It is safe for concurrent use.
type Sessions struct {
	s         store.Store
	now       func() time.Time
	idle, max time.Duration
}

// NewSessions returns the sessions kept in s; now is the clock (nil:
// time.Now); idle and max are the idle and absolute expiry (0: the
// defaults).
func NewSessions(s store.Store, now func() time.Time, idle, max time.Duration) *Sessions {
	if now == nil {
		now = time.Now
	}
	if idle <= 0 {
		idle = DefaultSessionIdle
	}
	if max <= 0 {
		max = DefaultSessionMax
	}
	return &Sessions{s: s, now: now, idle: idle, max: max}
}

// Create makes a new session for tok, made with factor, and returns its id
// (256 random bits, base64url), which is stored only as a SHA-256 hash. It
// is audited as a sign-in with how in the detail; expired sessions are
// removed on the way.
func (ss *Sessions) Create(ctx context.Context, tok Token, factor, how string) (string, Session, error) {
	id, err := randomString()
	if err != nil {
		return "", Session{}, err
	}
	csrf, err := randomString()
	if err != nil {
		return "", Session{}, err
	}
	now := ss.now().UTC()
	sess := Session{TokenID: tok.ID, Factor: factor, CreatedAt: now, LastSeen: now, CSRF: csrf}
	err = ss.s.Update(ctx, func(tx store.Tx) error {
		r, err := tokenByID(tx, tok.ID)
		if err != nil {
			return err
		}
		if r == nil || r.RevokedAt != nil {
			return ErrUnauthenticated
		}
		if err := ss.prune(tx, now); err != nil {
			return err
		}
		if err := putSession(tx, sessionKey(id), &sess); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: now, Actor: r.Actor(), Action: audit.ActionUISignIn,
			Detail: fmt.Sprintf("%s factor %s via %s", r.ID, factor, how)})
	})
	if err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return id, sess, nil
}

// Authenticate returns the session with this id and its token, or an error
// wrapping ErrUnauthenticated (ErrSessionExpired past its idle or absolute
// expiry, which also removes it). It refreshes the last-seen time at most
// once a minute.
func (ss *Sessions) Authenticate(ctx context.Context, id string) (Session, Token, error) {
	if id == "" || len(id) > 64 {
		return Session{}, Token{}, ErrUnauthenticated
	}
	key := sessionKey(id)
	now := ss.now().UTC()
	var sess Session
	var tok Token
	var expired, stale bool
	err := ss.s.View(ctx, func(tx store.Tx) error {
		found, err := getSession(tx, key)
		if err != nil {
			return err
		}
		if found == nil {
			return ErrUnauthenticated
		}
		sess = *found
		if ss.expired(sess, now) {
			expired = true
			return nil
		}
		r, err := tokenByID(tx, sess.TokenID)
		if err != nil {
			return err
		}
		if r == nil || r.RevokedAt != nil {
			return ErrUnauthenticated
		}
		tok, stale = r.Token, now.Sub(sess.LastSeen) >= touchEvery
		return nil
	})
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return Session{}, Token{}, ErrUnauthenticated
	case err != nil:
		return Session{}, Token{}, fmt.Errorf("session: %w", err)
	case expired:
		if err := ss.s.Update(ctx, func(tx store.Tx) error { return tx.Delete(tSessions, key) }); err != nil {
			return Session{}, Token{}, fmt.Errorf("remove expired session: %w", err)
		}
		return Session{}, Token{}, ErrSessionExpired
	case stale:
		sess.LastSeen = now
		err := ss.s.Update(ctx, func(tx store.Tx) error {
			// Only a session still there is touched: a sign-out or a
			// revocation in between wins.
			if cur, err := getSession(tx, key); err != nil || cur == nil {
				return err
			}
			return putSession(tx, key, &sess)
		})
		if err != nil {
			return Session{}, Token{}, fmt.Errorf("session: %w", err)
		}
	}
	return sess, tok, nil
}

// End removes the session with this id (sign-out), audited with actor's
// name; ending a session that is gone is no error.
func (ss *Sessions) End(ctx context.Context, id string) error {
	if id == "" || len(id) > 64 {
		return nil
	}
	key := sessionKey(id)
	err := ss.s.Update(ctx, func(tx store.Tx) error {
		sess, err := getSession(tx, key)
		if err != nil || sess == nil {
			return err
		}
		if err := tx.Delete(tSessions, key); err != nil {
			return err
		}
		return audit.Append(tx, audit.Event{Time: ss.now().UTC(), Actor: audit.Actor(ctx), Action: audit.ActionUISignOut,
			Detail: sess.TokenID})
	})
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// Count returns how many sessions are stored for the token with this ID,
// expired ones included until they are removed.
func (ss *Sessions) Count(ctx context.Context, tokenID string) (int, error) {
	n := 0
	err := ss.s.View(ctx, func(tx store.Tx) error {
		return scanSessions(tx, func(_ []byte, s *Session) error {
			if s.TokenID == tokenID {
				n++
			}
			return nil
		})
	})
	return n, err
}

func (ss *Sessions) expired(s Session, now time.Time) bool {
	return now.Sub(s.LastSeen) >= ss.idle || now.Sub(s.CreatedAt) >= ss.max
}

// prune removes the expired sessions.
func (ss *Sessions) prune(tx store.Tx, now time.Time) error {
	var gone [][]byte
	if err := scanSessions(tx, func(k []byte, s *Session) error {
		if ss.expired(*s, now) {
			gone = append(gone, k)
		}
		return nil
	}); err != nil {
		return err
	}
	return deleteKeys(tx, gone)
}

// deleteTokenSessions removes every session of the token with this ID, in
// the transaction that revokes it.
func deleteTokenSessions(tx store.Tx, tokenID string) error {
	var gone [][]byte
	if err := scanSessions(tx, func(k []byte, s *Session) error {
		if s.TokenID == tokenID {
			gone = append(gone, k)
		}
		return nil
	}); err != nil {
		return err
	}
	return deleteKeys(tx, gone)
}

func deleteKeys(tx store.Tx, keys [][]byte) error {
	for _, k := range keys {
		if err := tx.Delete(tSessions, k); err != nil {
			return err
		}
	}
	return nil
}

func sessionKey(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

func getSession(tx store.Tx, key []byte) (*Session, error) {
	b, err := tx.Get(tSessions, key)
	if err != nil || b == nil {
		return nil, err
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("session record: %w", err)
	}
	return &s, nil
}

func putSession(tx store.Tx, key []byte, s *Session) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return tx.Put(tSessions, key, b)
}

func scanSessions(tx store.Tx, fn func(key []byte, s *Session) error) error {
	return tx.Scan(tSessions, nil, func(k, b []byte) error {
		var s Session
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("session record: %w", err)
		}
		return fn(k, &s)
	})
}

// tokenByID returns the token record with this ID, or nil.
func tokenByID(tx store.Tx, id string) (*record, error) {
	b, err := tx.Get(tTokens, []byte(id))
	if err != nil || b == nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("token %s: %w", id, err)
	}
	return &r, nil
}

// randomString is 256 random bits in base64url.
func randomString() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

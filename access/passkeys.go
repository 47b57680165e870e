package access

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

const (
	tPasskeys     = "passkeys"     // PASSKEYID -> passkeyRecord JSON
	tPasskeyUsers = "passkeyusers" // TOKENID -> the token's user handle (random)
)

// CeremonyTimeout is how long a started registration or sign-in may take
// before its challenge expires; each challenge is good for one attempt.
const CeremonyTimeout = 2 * time.Minute

// maxCeremonies bounds the ceremonies under way at once: a sign-in
// begins without credentials, so their number must not grow without end.
const maxCeremonies = 1024

// Passkey is one WebAuthn credential registered for an operator token,
// without its public key.
type Passkey struct {
	ID        string `json:"id"`
	TokenID   string `json:"token_id"`
	TokenName string `json:"token_name"`
	// Name is the operator's label for it ("laptop", "yubikey").
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// LastUsedAt is the last sign-in with it (nil: never used).
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// SignCount is the authenticator's signature counter at the last
	// sign-in; CloneWarning is set when a sign-in presented a counter not
	// above it (a copy of the key may exist): such a passkey signs in no
	// more and should be revoked.
	SignCount    uint32 `json:"sign_count"`
	CloneWarning bool   `json:"clone_warning,omitempty"`
	// Synced reports the authenticator's backup eligibility: the key may be
	// copied to the holder's other devices (a synced passkey).
	Synced    bool       `json:"synced,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	RevokedBy string     `json:"revoked_by,omitempty"`
}

// Active reports whether the passkey may sign in: not revoked, no clone
// warning.
func (p Passkey) Active() bool { return p.RevokedAt == nil && !p.CloneWarning }

type passkeyRecord struct {
	Passkey
	UserHandle []byte              `json:"user_handle"`
	Credential webauthn.Credential `json:"credential"`
}

// RelyingParty is how the server appears to browsers: WebAuthn binds a
// passkey to the relying party ID, the host name of Origin.
type RelyingParty struct {
	// Origin is the server's origin as browsers reach it,
	// https://NAME[:PORT]. NAME must be a domain name such as localhost:
	// WebAuthn refuses IP addresses.
	Origin string
	// Name is what a browser shows when it asks for the passkey
	// (default "roster").
	Name string
}

// ID is the relying party ID: the host name of Origin.
func (rp RelyingParty) ID() string {
	u, err := url.Parse(rp.Origin)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// Validate checks Origin: https, a name (not an IP address), an optional
// port, nothing else.
func (rp RelyingParty) Validate() error {
	u, err := url.Parse(rp.Origin)
	switch {
	case err != nil:
		return fmt.Errorf("passkey origin %q: %w", rp.Origin, err)
	case u.Scheme != "https" || u.Host == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil:
		return fmt.Errorf("passkey origin %q: want https://NAME[:PORT]", rp.Origin)
	case net.ParseIP(u.Hostname()) != nil:
		return fmt.Errorf("passkey origin %q: WebAuthn needs the server's name, not an IP address (use https://localhost:PORT on this machine)", rp.Origin)
	}
	if err := protocol.ValidateRPID(u.Hostname()); err != nil {
		return fmt.Errorf("passkey origin %q: %s is no name WebAuthn accepts (%v): use localhost or a domain name with a dot", rp.Origin, u.Hostname(), err)
	}
	return nil
}

// Passkeys is the register of operators' passkeys and the WebAuthn
// ceremonies that add them and sign in with them. Challenges of the
// ceremonies under way are kept in the store (ceremonies.go), each for one
// attempt within [CeremonyTimeout], so a ceremony begun on one node may
// finish on another. It is safe for concurrent use.
type Passkeys struct {
	s   store.Store
	wa  *webauthn.WebAuthn
	rp  RelyingParty
	now func() time.Time
}

// NewPasskeys returns the register kept in s (the store of [New]'s
// tokens) for relying party rp; now is the clock (nil: time.Now).
func NewPasskeys(s store.Store, rp RelyingParty, now func() time.Time) (*Passkeys, error) {
	if now == nil {
		now = time.Now
	}
	if rp.Name == "" {
		rp.Name = "roster"
	}
	if err := rp.Validate(); err != nil {
		return nil, err
	}
	origin := strings.TrimSuffix(rp.Origin, "/")
	rp.Origin = origin
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          rp.ID(),
		RPDisplayName: rp.Name,
		RPOrigins:     []string{origin},
		// Passkeys: discoverable credentials, so that a sign-in needs no
		// name, and user verification (PIN or biometric) every time.
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: CeremonyTimeout, TimeoutUVD: CeremonyTimeout},
			Registration: webauthn.TimeoutConfig{Timeout: CeremonyTimeout, TimeoutUVD: CeremonyTimeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return &Passkeys{s: s, wa: wa, rp: rp, now: now}, nil
}

// RelyingParty is the relying party passkeys are registered for.
func (p *Passkeys) RelyingParty() RelyingParty { return p.rp }

// Ceremony is a started registration or sign-in: Options go to the
// browser's navigator.credentials (create or get), and the browser's answer
// comes back with ID to the matching Finish call.
type Ceremony struct {
	ID string `json:"ceremony"`
	// Options is the JSON of the credential creation or request options:
	// {"publicKey": {...}}, binary fields in base64url.
	Options json.RawMessage `json:"options"`
	Expires time.Time       `json:"expires"`
}

// ErrCeremony is wrapped by the refusal of a Finish call whose ceremony is
// unknown, expired or already used.
var ErrCeremony = errors.New("passkey ceremony unknown, expired or already used")

// ErrBusy is returned by a Begin call while too many ceremonies are under
// way.
var ErrBusy = errors.New("too many passkey ceremonies under way: try again in a minute")

// RefusedError is a passkey sign-in refused although its answer was
// signed with the passkey's key: the passkey or its token is revoked, or
// it has a clone warning. It wraps ErrUnauthenticated.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return fmt.Sprintf("%v: %s", ErrUnauthenticated, e.Reason) }
func (e *RefusedError) Unwrap() error { return ErrUnauthenticated }

// ErrNotOwner is wrapped by the refusal to revoke another operator's
// passkey for a caller restricted to its own.
var ErrNotOwner = errors.New("passkey of another operator")

// webauthnUser is an operator token as WebAuthn's user: its random user
// handle, its name, and its usable passkeys.
type webauthnUser struct {
	tok    Token
	handle []byte
	creds  []webauthn.Credential
}

func (u *webauthnUser) WebAuthnID() []byte                         { return u.handle }
func (u *webauthnUser) WebAuthnName() string                       { return u.tok.Name }
func (u *webauthnUser) WebAuthnDisplayName() string                { return u.tok.Name }
func (u *webauthnUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// BeginRegistration starts the registration of a passkey for tok, which
// must be unrevoked. The token's user handle is created on its first
// registration: 32 random bytes, never the token's ID.
func (p *Passkeys) BeginRegistration(ctx context.Context, tok Token) (Ceremony, error) {
	var u *webauthnUser
	err := p.s.Update(ctx, func(tx store.Tx) error {
		var err error
		u, err = registeringUser(tx, tok.ID, true)
		return err
	})
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin passkey registration for %s: %w", tok.Name, err)
	}
	creation, data, err := p.wa.BeginRegistration(u,
		webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin passkey registration: %w", err)
	}
	return p.start(ctx, tok.ID, creation, data)
}

// FinishRegistration checks the browser's answer to ceremony id, begun by
// [Passkeys.BeginRegistration] for the same token, and stores the passkey
// under name (a label; "" is "passkey"). The registration is audited.
func (p *Passkeys) FinishRegistration(ctx context.Context, tok Token, id, name string, response []byte) (Passkey, error) {
	name, err := passkeyName(name)
	if err != nil {
		return Passkey{}, err
	}
	c, err := p.take(ctx, id, tok.ID)
	if err != nil {
		return Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return Passkey{}, &InvalidError{Field: "passkey", Reason: "the browser's answer does not parse: " + webauthnReason(err)}
	}
	actor, now := audit.Actor(ctx), p.now().UTC()
	var out Passkey
	err = p.s.Update(ctx, func(tx store.Tx) error {
		u, err := registeringUser(tx, tok.ID, false)
		if err != nil {
			return err
		}
		r := u.tok
		cred, err := p.wa.CreateCredential(u, c.Data, parsed)
		if err != nil {
			return &InvalidError{Field: "passkey", Reason: "registration refused: " + webauthnReason(err)}
		}
		if dup, err := findCredential(tx, cred.ID); err != nil || dup != nil {
			if err == nil {
				err = &InvalidError{Field: "passkey", Reason: "this passkey is registered already"}
			}
			return err
		}
		rec := passkeyRecord{Passkey: Passkey{ID: "pk-" + randomHex(8), TokenID: r.ID, TokenName: r.Name, Name: name,
			CreatedAt: now, SignCount: cred.Authenticator.SignCount, Synced: cred.Flags.BackupEligible},
			UserHandle: u.handle, Credential: *cred}
		if err := putPasskey(tx, &rec); err != nil {
			return err
		}
		out = rec.Passkey
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionPasskeyRegister,
			Detail: fmt.Sprintf("%s %q for token %s %s", rec.ID, name, r.ID, r.Name)})
	})
	if err != nil {
		return Passkey{}, fmt.Errorf("register passkey for %s: %w", tok.Name, err)
	}
	return out, nil
}

// BeginLogin starts a sign-in with any passkey of any operator: the
// browser offers the passkeys it holds for this relying party, and the
// answer names the token (discoverable credentials, no name typed).
func (p *Passkeys) BeginLogin(ctx context.Context) (Ceremony, error) {
	if err := ctx.Err(); err != nil {
		return Ceremony{}, err
	}
	assertion, data, err := p.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	return p.start(ctx, "", assertion, data)
}

// FinishLogin checks the browser's answer to sign-in ceremony id and
// returns the operator token it signs in as, with the passkey used. It
// fails, wrapping ErrUnauthenticated, for an unknown passkey or a bad
// signature, and with a [*RefusedError] for a signed answer of a revoked
// passkey or token. A signature counter that did not advance marks the
// passkey with a clone warning, ends its token's passkey sessions and
// refuses it from then on. Sign-ins, and refusals of signed answers, are
// audited.
func (p *Passkeys) FinishLogin(ctx context.Context, id string, response []byte) (Token, Passkey, error) {
	c, err := p.take(ctx, id, "")
	if err != nil {
		return Token{}, Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return Token{}, Passkey{}, fmt.Errorf("passkey sign-in: %w: %s", ErrUnauthenticated, webauthnReason(err))
	}
	now := p.now().UTC()
	var (
		tok     Token
		out     Passkey
		refused error
	)
	err = p.s.Update(ctx, func(tx store.Tx) error {
		refused = nil // the store may run this again (PostgreSQL retries a serialization failure)
		rec, err := findCredential(tx, parsed.RawID)
		if err != nil {
			return err
		}
		if rec == nil {
			return fmt.Errorf("%w: unknown passkey", ErrUnauthenticated)
		}
		// The signature first: a refusal is audited only for an answer
		// signed with the passkey's key (the credential ID is no secret).
		u := &webauthnUser{tok: Token{ID: rec.TokenID, Name: rec.TokenName}, handle: rec.UserHandle, creds: []webauthn.Credential{rec.Credential}}
		_, cred, err := p.wa.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
			if !bytes.Equal(handle, u.handle) {
				return nil, errors.New("the user handle does not match the passkey")
			}
			return u, nil
		}, c.Data, parsed)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrUnauthenticated, webauthnReason(err))
		}
		r, err := tokenByID(tx, rec.TokenID)
		if err != nil {
			return err
		}
		deny := func(reason string) error {
			refused = &RefusedError{Reason: reason}
			return audit.Append(tx, audit.Event{Time: now, Actor: u.tok.Actor(), Action: audit.ActionPasskeyLogin,
				Outcome: audit.OutcomeRefused, Reason: reason, Detail: fmt.Sprintf("%s %q of token %s", rec.ID, rec.Name, rec.TokenID)})
		}
		switch {
		case rec.RevokedAt != nil:
			return deny("the passkey is revoked")
		case r == nil || r.RevokedAt != nil:
			return deny("the passkey's token is revoked")
		case rec.CloneWarning:
			return deny("the passkey has a clone warning: revoke it and register a new one")
		case cred.Authenticator.CloneWarning:
			rec.CloneWarning = true
			if err := putPasskey(tx, rec); err != nil {
				return err
			}
			if err := endPasskeySessions(tx, rec.TokenID); err != nil {
				return err
			}
			return deny(fmt.Sprintf("signature counter %d did not advance past %d: the key may be cloned; revoke it and register a new one",
				parsed.Response.AuthenticatorData.Counter, rec.SignCount))
		}
		rec.Credential = *cred
		rec.SignCount, rec.LastUsedAt = cred.Authenticator.SignCount, &now
		if err := putPasskey(tx, rec); err != nil {
			return err
		}
		tok, out = r.Token, rec.Passkey
		return audit.Append(tx, audit.Event{Time: now, Actor: r.Actor(), Action: audit.ActionPasskeyLogin,
			Detail: fmt.Sprintf("%s %q of token %s", rec.ID, rec.Name, r.ID)})
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return Token{}, Passkey{}, fmt.Errorf("passkey sign-in: %w", err)
	}
	return tok, out, nil
}

// List returns the passkeys of the token with this ID (all tokens' for
// ""), revoked ones included, oldest first.
func (p *Passkeys) List(ctx context.Context, tokenID string) ([]Passkey, error) {
	var out []Passkey
	err := p.s.View(ctx, func(tx store.Tx) error {
		return scanPasskeys(tx, func(r *passkeyRecord) error {
			if tokenID == "" || r.TokenID == tokenID {
				out = append(out, r.Passkey)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Revoke revokes the passkey with this ID and ends the web sessions its
// token signed in with a passkey. With owner set (a token ID), only that
// token's passkeys may be revoked: another's is refused with an error
// wrapping ErrNotOwner. The revocation is audited.
func (p *Passkeys) Revoke(ctx context.Context, id, owner string) (Passkey, error) {
	actor, now := audit.Actor(ctx), p.now().UTC()
	var out Passkey
	err := p.s.Update(ctx, func(tx store.Tx) error {
		rec, err := getPasskey(tx, id)
		if err != nil {
			return err
		}
		switch {
		case rec == nil:
			return &passkeyNotFoundError{id}
		case owner != "" && rec.TokenID != owner:
			return fmt.Errorf("passkey %s: %w: revoking it needs role admin", id, ErrNotOwner)
		case rec.RevokedAt != nil:
			return &InvalidError{Field: "passkey", Reason: fmt.Sprintf("passkey %s is already revoked", id)}
		}
		rec.RevokedAt, rec.RevokedBy = &now, actor
		if err := putPasskey(tx, rec); err != nil {
			return err
		}
		if err := endPasskeySessions(tx, rec.TokenID); err != nil {
			return err
		}
		out = rec.Passkey
		return audit.Append(tx, audit.Event{Time: now, Actor: actor, Action: audit.ActionPasskeyRevoke,
			Detail: fmt.Sprintf("%s %q of token %s %s", rec.ID, rec.Name, rec.TokenID, rec.TokenName)})
	})
	if err != nil {
		return Passkey{}, fmt.Errorf("revoke passkey: %w", err)
	}
	return out, nil
}

// passkeyNotFoundError names the passkey and the command that lists them.
type passkeyNotFoundError struct{ id string }

func (e *passkeyNotFoundError) Error() string {
	return fmt.Sprintf("passkey %s: %v", e.id, ErrNotFound)
}
func (e *passkeyNotFoundError) Unwrap() error { return ErrNotFound }
func (e *passkeyNotFoundError) Hint() string  { return "roster token passkeys" }

// passkeyName checks an operator's label for a passkey.
func passkeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "passkey", nil
	}
	if len(name) > 64 || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "", &InvalidError{Field: "name", Reason: "want a short printable label for the passkey (at most 64 bytes)"}
	}
	return name, nil
}

// webauthnReason is the operator-facing reason of a go-webauthn error:
// its details, without developer information.
func webauthnReason(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return pe.Details
	}
	return err.Error()
}

// userHandle returns the token's WebAuthn user handle. The first
// registration creates it (create set): 32 random bytes.
func userHandle(tx store.Tx, tokenID string, create bool) ([]byte, error) {
	h, err := tx.Get(tPasskeyUsers, []byte(tokenID))
	switch {
	case err != nil:
		return nil, err
	case h != nil:
		return h, nil
	case !create:
		return nil, fmt.Errorf("token %s has no passkey user handle", tokenID)
	}
	h = make([]byte, 32)
	if _, err := rand.Read(h); err != nil {
		return nil, err
	}
	return h, tx.Put(tPasskeyUsers, []byte(tokenID), h)
}

// registeringUser returns the unrevoked token with this ID as WebAuthn's
// user, with its user handle (created first, with create set) and all its
// passkeys (each registered one is excluded from a new registration).
func registeringUser(tx store.Tx, tokenID string, create bool) (*webauthnUser, error) {
	r, err := tokenByID(tx, tokenID)
	if err != nil {
		return nil, err
	}
	if r == nil || r.RevokedAt != nil {
		return nil, ErrUnauthenticated
	}
	h, err := userHandle(tx, tokenID, create)
	if err != nil {
		return nil, err
	}
	tok := r.Token
	u := &webauthnUser{tok: tok, handle: h}
	err = scanPasskeys(tx, func(r *passkeyRecord) error {
		if r.TokenID == tok.ID {
			u.creds = append(u.creds, r.Credential)
		}
		return nil
	})
	return u, err
}

func findCredential(tx store.Tx, credID []byte) (*passkeyRecord, error) {
	var found *passkeyRecord
	err := scanPasskeys(tx, func(r *passkeyRecord) error {
		if bytes.Equal(r.Credential.ID, credID) {
			found = r
			return store.ErrStop
		}
		return nil
	})
	if err == store.ErrStop {
		err = nil
	}
	return found, err
}

// endPasskeySessions ends the web sessions signed in with a passkey of
// the token with this ID, when one of its passkeys is revoked or shows a
// clone warning (a session does not record which passkey made it).
func endPasskeySessions(tx store.Tx, tokenID string) error {
	var gone [][]byte
	if err := scanSessions(tx, func(k []byte, s *Session) error {
		if s.TokenID == tokenID && s.Factor == FactorPasskey {
			gone = append(gone, k)
		}
		return nil
	}); err != nil {
		return err
	}
	return deleteKeys(tx, gone)
}

func getPasskey(tx store.Tx, id string) (*passkeyRecord, error) {
	b, err := tx.Get(tPasskeys, []byte(id))
	if err != nil || b == nil {
		return nil, err
	}
	var r passkeyRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("passkey %s: %w", id, err)
	}
	return &r, nil
}

func scanPasskeys(tx store.Tx, fn func(*passkeyRecord) error) error {
	return tx.Scan(tPasskeys, nil, func(k, b []byte) error {
		var r passkeyRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("passkey %s: %w", k, err)
		}
		return fn(&r)
	})
}

func putPasskey(tx store.Tx, r *passkeyRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Put(tPasskeys, []byte(r.ID), b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

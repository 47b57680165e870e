package issuer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/store"
)

// Store is what the issuer needs from the inventory; *inventory.Inventory
// implements it.
//
// The issuer keeps its enrollment tokens (and appends its audit records) in
// the inventory's store, through the inventory's group commit (View and
// Update), so a token is burnt in the same commit that records the
// certificate issued for it.
type Store interface {
	Identity(ctx context.Context, host, account string) (inventory.IdentityState, error)
	GetAccount(ctx context.Context, name string) (*inventory.Account, error)
	RecordIssuedTx(ctx context.Context, tx store.Tx, host, account, serial string, notBefore, notAfter time.Time, renewal bool) error
	RecordRenewed(ctx context.Context, r inventory.Renewal) error
	RecordReuse(ctx context.Context, host, account, serial, reason string) error
	RecordRevoked(ctx context.Context, host, account, serial, reason string) error
	View(ctx context.Context, fn func(store.Tx) error) error
	Update(ctx context.Context, fn func(store.Tx) error) error
}

// Defaults for enrollment tokens.
const (
	DefaultEnrollValidity = 15 * time.Minute
	MaxEnrollValidity     = 7 * 24 * time.Hour
	tokenPrefix           = "ret_" // roster enrollment token
	tokenBytes            = 32     // 256 bits
)

// Config configures [New].
type Config struct {
	CA        *ca.CA
	Inventory Store
	// Policy decides eligibility; default [DefaultPolicy].
	Policy AccountPolicy
	// ServerAuthPolicy decides whether an eligible identity may also get the
	// serverAuth extended key usage when its enrollment asks for it; nil
	// refuses every such request. A renewal keeps the certificate's usages.
	ServerAuthPolicy AccountPolicy
	// TierValidity overrides the CA's default certificate validity per
	// impact tier (within the CA's bounds). Enrollments, renewals and rekeys
	// all get the validity in force when they are made: a renewal never
	// keeps its predecessor's lifetime.
	TierValidity map[inventory.Tier]time.Duration
	// Logger receives one record per decision; default slog.Default().
	Logger *slog.Logger
	// Now is the clock for token expiry; default time.Now.
	Now func() time.Time
}

// Issuer turns inventory identities into certificates: enrollment tokens,
// enrollment, renewal, rekey, revocation, with policy and audit.
type Issuer struct {
	ca     *ca.CA
	store  Store
	policy AccountPolicy
	server AccountPolicy
	tiers  map[inventory.Tier]time.Duration
	log    *slog.Logger
	now    func() time.Time
	lines  lineLocks // one renewal per identity at a time
}

// New checks the configuration and returns an Issuer.
func New(cfg Config) (*Issuer, error) {
	if cfg.CA == nil || cfg.Inventory == nil {
		return nil, errors.New("issuer: CA and Inventory are required")
	}
	i := &Issuer{ca: cfg.CA, store: cfg.Inventory, policy: cfg.Policy, server: cfg.ServerAuthPolicy, log: cfg.Logger, now: cfg.Now, tiers: map[inventory.Tier]time.Duration{}}
	if i.policy == nil {
		i.policy = DefaultPolicy
	}
	if i.log == nil {
		i.log = slog.Default()
	}
	if i.now == nil {
		i.now = time.Now
	}
	_, lo, hi := cfg.CA.Validity()
	for t, d := range cfg.TierValidity {
		if d < lo || d > hi {
			return nil, fmt.Errorf("issuer: validity %s for tier %d is outside the CA's bounds [%s, %s]", d, t, lo, hi)
		}
		i.tiers[t] = d
	}
	return i, nil
}

// isRefusal reports whether err is one of the issuer's refusals (a
// *DeniedError, *ReuseError, *RequestError or *AuthError anywhere in its
// chain) rather than a failure (a *DiskFullError is a failure). Their
// messages are written for operators and hold no secrets.
func isRefusal(err error) bool {
	var (
		denied *DeniedError
		reuse  *ReuseError
		req    *RequestError
		auth   *AuthError
	)
	return errors.As(err, &denied) || errors.As(err, &reuse) || errors.As(err, &req) || errors.As(err, &auth)
}

// RequestError is a malformed request (bad CSR, unsupported key, bad
// token format); the server answers 400.
type RequestError struct {
	Reason   string
	HintText string
}

func (e *RequestError) Error() string { return e.Reason }

// Hint is the next step ("" if none).
func (e *RequestError) Hint() string { return e.HintText }

// AuthError is a caller that did not prove itself: no, foreign, expired or
// revoked client certificate, or an unknown, used or expired enrollment
// token; the server answers 401. Err is one of ca.ErrUntrusted, ca.ErrExpired,
// ca.ErrRevoked, ErrNoClientCert, or an ErrEnroll* sentinel.
type AuthError struct {
	Reason   string
	HintText string
	Err      error
}

func (e *AuthError) Error() string { return e.Reason }

// Hint is the next step ("" if none).
func (e *AuthError) Hint() string { return e.HintText }

func (e *AuthError) Unwrap() error { return e.Err }

// ErrNoClientCert: a renewal or scan submission without a client
// certificate.
var ErrNoClientCert = errors.New("no client certificate")

// EnrollTicket is what an operator hands to the agent.
type EnrollTicket struct {
	// Token is the one-time secret; it is shown once and stored only as a
	// SHA-256 hash.
	Token           string    `json:"token"`
	RootFingerprint string    `json:"root_fingerprint"`
	ExpiresAt       time.Time `json:"expires_at"`
	Identity        string    `json:"identity"`
}

// identityState reads the inventory and applies the policy.
func (i *Issuer) identityState(ctx context.Context, id ID) (inventory.IdentityState, error) {
	s, err := i.store.Identity(ctx, id.Host, id.Account)
	if err != nil {
		return s, fmt.Errorf("issuer: %s: %w", id.Label(), err)
	}
	if err := i.policy(ctx, s); err != nil {
		return s, err
	}
	return s, nil
}

// CreateEnrollToken checks the identity against the policy and creates a
// one-time enrollment token for it, valid for valid (default 15 minutes,
// at most 7 days). account "" enrolls the host identity. account may be
// NAME@ENV, as the inventory names service accounts: the token is for
// account NAME on host, which must belong to NAME@ENV.
func (i *Issuer) CreateEnrollToken(ctx context.Context, host, account string, valid time.Duration) (EnrollTicket, error) {
	if valid == 0 {
		valid = DefaultEnrollValidity
	}
	if valid < 0 || valid > MaxEnrollValidity {
		return EnrollTicket{}, &RequestError{Reason: fmt.Sprintf("token validity %s is not within (0, %s]", valid, MaxEnrollValidity)}
	}
	name, env, qualified := strings.Cut(account, "@")
	id, err := NewID(i.ca.TrustDomain(), host, name)
	if err != nil {
		return EnrollTicket{}, &RequestError{Reason: err.Error()}
	}
	if qualified {
		if err := i.checkEnv(ctx, id, env, false); err != nil {
			i.refused(ctx, audit.ActionEnrollCreate, id, "", err)
			return EnrollTicket{}, err
		}
	}
	if _, err := i.identityState(ctx, id); err != nil {
		i.refused(ctx, audit.ActionEnrollCreate, id, "", err)
		return EnrollTicket{}, err
	}
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return EnrollTicket{}, fmt.Errorf("issuer: token: %w", err)
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(token))
	exp := i.now().Add(valid).UTC().Truncate(time.Second)
	t := enrollToken{Hash: sum[:], Host: id.Host, Account: id.Account, ExpiresAt: exp,
		CreatedBy: audit.Actor(ctx), CreatedAt: i.now().UTC()}
	if err := i.store.Update(ctx, func(tx store.Tx) error { return putEnrollToken(tx, t) }); err != nil {
		return EnrollTicket{}, i.diskFull(ctx, opText(audit.ActionEnrollCreate, id), audit.ActionEnrollCreate, id, "",
			fmt.Errorf("issuer: store enrollment token for %s: %w", id.Label(), err))
	}
	i.log.InfoContext(ctx, "enrollment token created", slog.String("host", host), slog.String("account", account),
		slog.Time("expires_at", exp))
	return EnrollTicket{Token: token, RootFingerprint: i.ca.RootFingerprint(), ExpiresAt: exp, Identity: id.String()}, nil
}

// checkEnv checks that the instance id names belongs to the service
// account NAME@env, for an operator who named it so. An unknown instance
// is left to the policy to refuse. The hint names roster enroll, or roster
// revoke when revoke is set.
func (i *Issuer) checkEnv(ctx context.Context, id ID, env string, revoke bool) error {
	want := id.Account + "@" + env
	if env == "" {
		hint := fmt.Sprintf("name the account as NAME or NAME@ENV: roster enroll %s --host %s", id.Account, id.Host)
		if revoke {
			hint = fmt.Sprintf("name the account as NAME or NAME@ENV: roster revoke %s --host %s", id.Account, id.Host)
		}
		return &RequestError{Reason: fmt.Sprintf("account %q names no environment after @", want), HintText: hint}
	}
	s, err := i.store.Identity(ctx, id.Host, id.Account)
	if err != nil {
		return fmt.Errorf("issuer: %s: %w", id.Label(), err)
	}
	if s.Exists && s.ServiceAccount != want {
		hint := fmt.Sprintf("roster enroll %s --host %s", s.ServiceAccount, id.Host)
		if revoke {
			hint = fmt.Sprintf("roster revoke %s --host %s", s.ServiceAccount, id.Host)
		}
		return &RequestError{Reason: fmt.Sprintf("account %s on host %s belongs to %s, not %s", id.Account, id.Host, s.ServiceAccount, want),
			HintText: hint}
	}
	return nil
}

// tokenHash checks the token's shape and returns its SHA-256. A malformed
// token is refused without a store lookup.
func tokenHash(token string) ([]byte, bool) {
	body, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok || base64.RawURLEncoding.DecodedLen(len(body)) != tokenBytes {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(body); err != nil {
		return nil, false
	}
	sum := sha256.Sum256([]byte(token))
	return sum[:], true
}

// Enroll redeems a one-time token and issues the first certificate for
// its identity with the CSR's public key. It returns the leaf and the
// intermediate. The CSR's names are ignored. serverAuth asks for the
// serverAuth extended key usage as well (see Config.ServerAuthPolicy).
func (i *Issuer) Enroll(ctx context.Context, token string, csr *x509.CertificateRequest, serverAuth bool) ([]*x509.Certificate, error) {
	if err := checkCSR(csr); err != nil {
		return nil, err
	}
	hash, ok := tokenHash(token)
	if !ok {
		err := &AuthError{Reason: "enrollment token is malformed", HintText: "pass the token exactly as `roster enroll` printed it", Err: ErrEnrollUnknown}
		i.refused(ctx, audit.ActionEnrollUse, ID{}, "", err)
		return nil, err
	}
	// The token is checked here and burnt only in the commit that records
	// the certificate: a failed issuance (a full disk, say) leaves it
	// usable for a retry.
	var t enrollToken
	err := i.store.View(ctx, func(tx store.Tx) error {
		var err error
		t, err = checkEnrollToken(tx, hash, i.now())
		return err
	})
	if err != nil {
		return nil, i.enrollRefused(ctx, t, err)
	}
	id, err := NewID(i.ca.TrustDomain(), t.Host, t.Account)
	if err != nil {
		return nil, fmt.Errorf("issuer: stored token names a bad identity: %w", err)
	}
	tokenActor := audit.Actor(ctx)
	ctx = audit.WithActor(ctx, "enroll:"+id.String())
	s, err := i.identityState(ctx, id)
	if err == nil && serverAuth {
		err = i.allowServerAuth(ctx, id, s)
	}
	if err != nil {
		i.refused(ctx, audit.ActionCertIssue, id, "", err)
		return nil, err
	}
	chain, err := i.ca.Sign(ctx, csr, ca.Identity{URI: id.URL(), CommonName: id.CommonName(), ServerAuth: serverAuth}, i.tiers[s.Tier])
	if err != nil {
		return nil, i.diskFull(ctx, opText(audit.ActionCertIssue, id), audit.ActionCertIssue, id, "",
			fmt.Errorf("issuer: enroll %s: %w", id.Label(), err))
	}
	leaf := chain[0]
	err = i.store.Update(ctx, func(tx store.Tx) error {
		now := i.now()
		if _, err := burnEnrollToken(tx, hash, now); err != nil {
			return err
		}
		if err := audit.Append(tx, audit.Event{Time: now, Actor: tokenActor, Action: audit.ActionEnrollUse,
			Host: id.Host, Account: id.Account}); err != nil {
			return err
		}
		return i.store.RecordIssuedTx(ctx, tx, id.Host, id.Account, leaf.SerialNumber.String(), leaf.NotBefore, leaf.NotAfter, false)
	})
	if err != nil {
		// The certificate was signed but never handed out: revoke it so it
		// cannot surface later.
		rerr := i.discard(ctx, leaf)
		if errors.Is(err, ErrEnrollUsed) || errors.Is(err, ErrEnrollExpired) {
			if rerr != nil {
				i.log.ErrorContext(ctx, "revoking an unrecorded certificate failed", slog.String("serial", leaf.SerialNumber.String()),
					slog.String("error", rerr.Error()))
			}
			return nil, i.enrollRefused(ctx, t, err)
		}
		err = fmt.Errorf("issuer: record certificate %s for %s: %w", leaf.SerialNumber, id.Label(), err)
		if rerr != nil {
			err = fmt.Errorf("%w (and revoking it failed: %v)", err, rerr)
		}
		return nil, i.diskFull(ctx, opText(audit.ActionCertIssue, id), audit.ActionCertIssue, id, leaf.SerialNumber.String(), err)
	}
	i.log.InfoContext(ctx, "certificate issued", slog.String("host", id.Host), slog.String("account", id.Account),
		slog.String("serial", chain[0].SerialNumber.String()), slog.Time("not_after", chain[0].NotAfter))
	return chain, nil
}

func (i *Issuer) allowServerAuth(ctx context.Context, id ID, s inventory.IdentityState) error {
	if i.server == nil {
		return &DeniedError{Host: id.Host, Account: id.Account,
			Reason:   fmt.Sprintf("serverAuth is not allowed for %s", id.Label()),
			HintText: "enroll without asking for serverAuth; this server allows no identity to serve TLS"}
	}
	return i.server(ctx, s)
}

// checkCSR verifies the request's signature and key type.
func checkCSR(csr *x509.CertificateRequest) error {
	if csr == nil {
		return &RequestError{Reason: "certificate request is missing"}
	}
	if err := csr.CheckSignature(); err != nil {
		return &RequestError{Reason: "certificate request signature does not verify: " + err.Error()}
	}
	if err := ca.CheckPublicKey(csr.PublicKey); err != nil {
		return &RequestError{Reason: err.Error(), HintText: "generate an ECDSA P-256 key (the default)"}
	}
	return nil
}

// verifyPeer checks a client certificate and returns its identity.
func (i *Issuer) verifyPeer(ctx context.Context, peer []*x509.Certificate) (ID, *x509.Certificate, error) {
	if len(peer) == 0 {
		return ID{}, nil, &AuthError{Reason: "a client certificate is required", HintText: "connect with the certificate to renew (mTLS)", Err: ErrNoClientCert}
	}
	leaf := peer[0]
	if err := i.ca.Verify(ctx, leaf); err != nil {
		// An expired or revoked certificate passed every other check of
		// Verify (issuer, signature, usage), so the identity it names is
		// this CA's word: say which one, and how to enroll it again.
		id, idErr := idFromCert(leaf)
		named := idErr == nil && id.TrustDomain == i.ca.TrustDomain()
		var reason string
		switch {
		case errors.Is(err, ca.ErrExpired):
			reason = "client certificate has expired"
			if named {
				reason += fmt.Sprintf(" (%s, at %s)", id.Label(), leaf.NotAfter.UTC().Format(time.RFC3339))
			}
		case errors.Is(err, ca.ErrRevoked):
			reason = "client certificate has been revoked"
			if named {
				reason += " (" + id.Label() + ")"
			}
		case errors.Is(err, ca.ErrUntrusted):
			return id, nil, &AuthError{Reason: "client certificate is not issued by this roster CA",
				HintText: "use a certificate issued by this server (root fingerprint " + i.ca.RootFingerprint() + ")", Err: err}
		default:
			return ID{}, nil, err
		}
		hint := "an operator enrolls it again: roster enroll ACCOUNT --host HOST, or for a host identity roster enroll --host HOST"
		if named {
			hint = "an operator enrolls it again: " + enrollCommand(id)
		}
		if named && errors.Is(err, ca.ErrRevoked) && id.Account != "" {
			// Revoked by a vendor's lapse: say so, and what lifts it.
			if s, serr := i.store.Identity(ctx, id.Host, id.Account); serr == nil && s.VendorHold != nil {
				d := holdDenial(id.Host, id.Account, serviceAccount(s), s.VendorHold)
				reason, hint = reason+"; "+d.Reason, d.HintText
			}
		}
		return id, nil, &AuthError{Reason: reason, HintText: hint, Err: err}
	}
	id, err := idFromCert(leaf)
	if err != nil || id.TrustDomain != i.ca.TrustDomain() {
		return ID{}, nil, &AuthError{Reason: "client certificate does not name a roster identity", Err: ca.ErrUntrusted}
	}
	return id, leaf, nil
}

// idFromCert parses the one URI SAN of a roster certificate.
func idFromCert(c *x509.Certificate) (ID, error) {
	if len(c.URIs) != 1 {
		return ID{}, fmt.Errorf("%w: certificate has %d URI SANs, want 1", ErrBadID, len(c.URIs))
	}
	return ParseURL(c.URIs[0])
}

func enrollCommand(id ID) string {
	if id.Account == "" {
		return "roster enroll --host " + id.Host
	}
	return "roster enroll " + id.Account + " --host " + id.Host
}

// enrollRefused turns a token refusal into an *AuthError and audits it,
// naming the identity the token was for (never the token).
func (i *Issuer) enrollRefused(ctx context.Context, t enrollToken, err error) error {
	var reason string
	switch {
	case errors.Is(err, ErrEnrollUnknown):
		reason = "enrollment token is not known"
	case errors.Is(err, ErrEnrollUsed):
		reason = "enrollment token has already been used"
	case errors.Is(err, ErrEnrollExpired):
		reason = "enrollment token has expired"
	default:
		return fmt.Errorf("issuer: redeem enrollment token: %w", err)
	}
	hint := "ask an operator for a new one: roster enroll ACCOUNT --host HOST"
	if t.Host != "" {
		hint = "ask an operator for a new one: " + enrollCommand(ID{Host: t.Host, Account: t.Account})
	}
	aerr := &AuthError{Reason: reason, HintText: hint, Err: err}
	i.refused(ctx, audit.ActionEnrollUse, ID{Host: t.Host, Account: t.Account}, "", aerr)
	return aerr
}

// refused logs and audits a refusal (outcome "refused" for a policy,
// authentication or request error, "error" for anything else). err's text
// is the reason; no error here carries a secret.
func (i *Issuer) refused(ctx context.Context, action string, id ID, serial string, err error) {
	outcome := audit.OutcomeError
	if isRefusal(err) {
		outcome = audit.OutcomeRefused
	}
	i.log.WarnContext(ctx, "request refused", slog.String("action", action), slog.String("host", id.Host),
		slog.String("account", id.Account), slog.String("serial", serial), slog.String("outcome", outcome),
		slog.String("reason", err.Error()))
	i.audit(ctx, audit.Event{Action: action, Host: id.Host, Account: id.Account, Serial: serial,
		Outcome: outcome, Reason: err.Error()})
}

func (i *Issuer) audit(ctx context.Context, e audit.Event) {
	e.Time = i.now().UTC()
	if e.Actor == "" {
		e.Actor = audit.Actor(ctx)
	}
	if err := i.store.Update(ctx, func(tx store.Tx) error { return audit.Append(tx, e) }); err != nil {
		i.log.ErrorContext(ctx, "audit append failed", slog.String("action", e.Action), slog.String("error", err.Error()))
	}
}

package server

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
)

// caller is who may call a route: the kind of credential it must present
// and, for operator tokens, the least role. Every route names one in
// routes.go; [Server.authenticate] turns it into a wrapper around the
// handler, so that no handler checks credentials itself.
type caller int

const (
	// anyone: no credentials (health, the CA's public endpoints).
	anyone caller = iota
	// viewer, operator, admin: an operator token (Authorization: Bearer)
	// with at least that role.
	viewer
	operator
	admin
	// hostOrOperator: a host identity certificate over mTLS, which reports
	// for its own host only, or else an operator token with role operator
	// (scan submissions and the scan configuration).
	hostOrOperator
	// enrollToken: a one-time enrollment token in the request body, which
	// the issuer redeems (POST /v1/enroll).
	enrollToken
	// identityCert: the client certificate of the identity to renew or
	// rekey, host or account, which the issuer verifies itself so that
	// every refusal is audited with its reason.
	identityCert
	// hostIdentityCert: identityCert for host identities only; the issuer
	// refuses an account identity (403) (GET /v1/ssh/host-config).
	hostIdentityCert
	// hostCert: a host identity certificate over mTLS, verified here, for
	// requests a host makes for its own identities (POST /v1/renew-batch).
	hostCert
)

func (c caller) String() string {
	return [...]string{"anyone", "viewer", "operator", "admin", "host certificate or operator", "enrollment token", "identity certificate", "host identity certificate", "host certificate"}[c]
}

// role is the least operator role the caller kind needs ("" for none).
func (c caller) role() access.Role {
	switch c {
	case viewer:
		return access.RoleViewer
	case operator, hostOrOperator:
		return access.RoleOperator
	case admin:
		return access.RoleAdmin
	}
	return ""
}

// principal is who made a request: an operator token or a host
// certificate.
type principal struct {
	token *access.Token
	host  string
}

// actor names the principal in the audit log.
func (p principal) actor() string {
	if p.token != nil {
		return p.token.Actor()
	}
	return "host:" + p.host
}

type principalKey struct{}

// withPrincipal records p in ctx, with its actor for the audit log.
func withPrincipal(ctx context.Context, p principal) context.Context {
	ctx = context.WithValue(ctx, principalKey{}, p)
	return audit.WithActor(ctx, p.actor())
}

func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// peerCerts is the client certificate chain presented over TLS, leaf
// first (the listener requests certificates without verifying them: the
// issuer does, against its own root).
func peerCerts(r *http.Request) []*x509.Certificate {
	if r.TLS == nil {
		return nil
	}
	return r.TLS.PeerCertificates
}

// authenticate wraps h with the check of who may call it, and records the
// caller (and the actor of the audit log) in the request's context.
func (s *Server) authenticate(who caller, h handlerFunc) handlerFunc {
	switch who {
	case anyone, identityCert, hostIdentityCert:
		// identityCert: the issuer verifies the peer certificates it is
		// given (renew.go) and sets the actor to the verified identity.
		return h
	case enrollToken:
		// The token is in the body; the issuer redeems it.
		return func(w http.ResponseWriter, r *http.Request) error {
			return h(w, r.WithContext(audit.WithActor(r.Context(), "enroll")))
		}
	case hostCert:
		return func(w http.ResponseWriter, r *http.Request) error {
			if len(peerCerts(r)) == 0 {
				return errorf(http.StatusUnauthorized, "a host identity certificate is required").
					withHint("connect with the host identity's certificate (mTLS): roster enroll --host HOST")
			}
			p, err := s.hostOrToken(r, who.role())
			if err != nil {
				return err
			}
			return h(w, r.WithContext(withPrincipal(r.Context(), p)))
		}
	case hostOrOperator:
		return func(w http.ResponseWriter, r *http.Request) error {
			p, err := s.hostOrToken(r, who.role())
			if err != nil {
				return err
			}
			return h(w, r.WithContext(withPrincipal(r.Context(), p)))
		}
	}
	role := who.role()
	hint := fmt.Sprintf("ask an admin for a token with role %s: roster token create --role %s --name NAME", role, role)
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, err := s.authorize(r, role, r.Pattern, hint)
		if err != nil {
			return err
		}
		return h(w, r.WithContext(withPrincipal(r.Context(), principal{token: &tok})))
	}
}

// hostOrToken authenticates a host certificate over mTLS when one is
// presented, else an operator token with at least role.
func (s *Server) hostOrToken(r *http.Request, role access.Role) (principal, error) {
	if peer := peerCerts(r); len(peer) > 0 {
		host, err := s.iss.AuthenticateHost(r.Context(), peer)
		if storeDown(err) {
			return principal{}, err
		}
		if err != nil {
			return principal{}, errorf(http.StatusUnauthorized, "client certificate refused: %v", err)
		}
		return principal{host: host}, nil
	}
	tok, err := s.authorize(r, role, "submitting scans", "")
	if err != nil {
		return principal{}, err
	}
	return principal{token: &tok}, nil
}

// authorize authenticates r's operator token and checks that its role
// allows role; what names the action in the 403 message, and hint, when
// not empty, is added to it.
func (s *Server) authorize(r *http.Request, role access.Role, what, hint string) (access.Token, error) {
	tok, err := s.authenticateToken(r)
	if err != nil {
		return access.Token{}, err
	}
	if !tok.Role.Allows(role) {
		return access.Token{}, errorf(http.StatusForbidden, "token %q has role %s; %s needs role %s", tok.Name, tok.Role, what, role).
			withHint(hint)
	}
	return tok, nil
}

// authenticateToken checks the Authorization header's bearer token. The
// scheme is case-insensitive (RFC 9110, section 11.1).
func (s *Server) authenticateToken(r *http.Request) (access.Token, error) {
	scheme, plain, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	plain = strings.TrimSpace(plain)
	if !strings.EqualFold(scheme, "Bearer") || plain == "" {
		return access.Token{}, errorf(http.StatusUnauthorized, "missing bearer token").
			withHint("set ROSTER_TOKEN to an operator token")
	}
	tok, err := s.tokens.Authenticate(r.Context(), plain)
	if storeDown(err) {
		return access.Token{}, err // 503: the token may well be good
	}
	if err != nil {
		return access.Token{}, errorf(http.StatusUnauthorized, "invalid or revoked token").
			withHint("ask an admin for a token: roster token create --role viewer --name NAME")
	}
	return tok, nil
}

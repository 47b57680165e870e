package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/audit"
)

// Signing in to the web page: with an operator token in the form at
// /login, or with a one-time link that `roster ui login` prints (made by
// POST /v1/ui/login-links with the operator's token). Either makes a new
// session (a new id at every sign-in) and sets its cookie.

// loginData is the sign-in page's data.
type loginData struct {
	Next      string
	Error     string
	SignedOut bool
}

// loginPage answers GET /login: the sign-in form (signing in again, even
// when signed in, replaces the session).
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	r = ensurePreSessionCSRF(w, r)
	return s.render(w, r, http.StatusOK, "login", loginData{Next: safeNext(r.URL.Query().Get("next")),
		SignedOut: r.URL.Query().Get("signed_out") != ""})
}

// login answers POST /login (field "token").
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.PostFormValue("next"))
	tok, err := s.tokens.Authenticate(r.Context(), strings.TrimSpace(r.PostFormValue("token")))
	if err != nil {
		if !errors.Is(err, access.ErrUnauthenticated) {
			return err
		}
		return s.render(w, r, http.StatusUnauthorized, "login", loginData{Next: next,
			Error: "That token is not valid or has been revoked."})
	}
	if err := s.startSession(w, r, tok, access.FactorToken, "form"); err != nil {
		return err
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// startSession ends the browser's current session, if any (a new id at
// every sign-in), makes a new one for tok and sets its cookie. Package
// server's other sign-in ways (passkeys) call it too.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, tok access.Token, factor, how string) error {
	ctx := audit.WithActor(r.Context(), principal{token: &tok}.actor())
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.sessions.End(ctx, c.Value); err != nil {
			return err
		}
	}
	id, _, err := s.sessions.Create(ctx, tok, factor, how)
	if err != nil {
		if errors.Is(err, access.ErrUnauthenticated) {
			return errorf(http.StatusUnauthorized, "token %q was revoked", tok.Name)
		}
		return err
	}
	setCookie(w, sessionCookie, id)
	clearCookie(w, preSessionCookie)
	return nil
}

// logout answers POST /logout: the session is removed, not just its
// cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.sessions.End(r.Context(), webSessionFrom(r.Context()).id); err != nil {
		return err
	}
	clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/login?signed_out=1", http.StatusSeeOther)
	return nil
}

// createLoginLink answers POST /v1/ui/login-links: a one-time sign-in link
// for the caller's own token.
func (s *Server) createLoginLink(w http.ResponseWriter, r *http.Request) error {
	code, exp, err := s.sessions.CreateLink(r.Context(), *principalFrom(r.Context()).token)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusCreated, api.LoginLink{Path: "/login/link/" + code, ExpiresAt: exp})
	return nil
}

// loginLinkPage answers GET /login/link/{code}: a form that signs in when
// submitted, so that a link preview or prefetch does not use the link up.
func (s *Server) loginLinkPage(w http.ResponseWriter, r *http.Request) error {
	r = ensurePreSessionCSRF(w, r)
	return s.render(w, r, http.StatusOK, "loginlink", nil)
}

// loginLink answers POST /login/link/{code}: the link is used up whatever
// happens next.
func (s *Server) loginLink(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.sessions.RedeemLink(r.Context(), r.PathValue("code"))
	if err != nil {
		if errors.Is(err, access.ErrUnauthenticated) {
			return errorf(http.StatusUnauthorized, "this sign-in link is unknown, used or expired").
				withHint("make a new one with roster ui login, or sign in with a token at /login")
		}
		return err
	}
	if err := s.startSession(w, r, tok, access.FactorToken, "link"); err != nil {
		return err
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// safeNext is where to go after signing in: a path on this server, else
// the dashboard.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	return next
}

package server

import (
	"context"
	"net/http"
	"net/url"

	"github.com/rosterhq/roster/access"
)

// sessionCookie holds the web session's id. The __Host- prefix makes the
// browser refuse it unless Secure, Path=/ and without Domain.
const sessionCookie = "__Host-roster_session"

// webSession is the signed-in session of a web request and its token (with
// the token's current role).
type webSession struct {
	id   string
	sess access.Session
	tok  access.Token
}

type webSessionKey struct{}

func withWebSession(ctx context.Context, ws *webSession) context.Context {
	return context.WithValue(ctx, webSessionKey{}, ws)
}

// webSessionFrom is the request's session, nil on the pages anyone may
// see.
func webSessionFrom(ctx context.Context) *webSession {
	ws, _ := ctx.Value(webSessionKey{}).(*webSession)
	return ws
}

// webSessionOf authenticates r's session cookie; an error wrapping
// access.ErrUnauthenticated when there is none, or it expired or its
// token was revoked.
func (s *Server) webSessionOf(r *http.Request) (*webSession, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, access.ErrUnauthenticated
	}
	sess, tok, err := s.sessions.Authenticate(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	return &webSession{id: c.Value, sess: sess, tok: tok}, nil
}

// setCookie sets a cookie the way every cookie of the page is set: host
// only, HttpOnly, Secure, SameSite=Strict, Path=/, for the browser's
// session (no Max-Age: the server expires sessions).
func setCookie(w http.ResponseWriter, name, value string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// clearCookie tells the browser to drop a cookie.
func clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

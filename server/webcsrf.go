package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
)

// Every form of the web page carries the hidden field "csrf": the session's
// CSRF secret on the pages of a session, and on the sign-in pages the value
// of a cookie set with the form (a double submit, so that no other site can
// sign a browser in under its own token). A POST without the right value,
// or sent from another origin, gets 403 and changes nothing.

// csrfField is the name of the hidden form field.
const csrfField = "csrf"

// preSessionCookie carries the sign-in forms' CSRF value.
const preSessionCookie = "__Host-roster_csrf"

var errCSRF = errorf(http.StatusForbidden, "this form's anti-forgery token is missing or out of date: nothing was changed").
	withHint("reload the page and submit the form again")

// sameOrigin refuses a request another site made: one whose Sec-Fetch-Site
// says so, or whose Origin is not the server's own. The page's
// Referrer-Policy (no-referrer) makes browsers send "Origin: null" with
// their own forms, so a null Origin passes only with Sec-Fetch-Site
// same-origin.
func sameOrigin(r *http.Request) error {
	site, origin := r.Header.Get("Sec-Fetch-Site"), r.Header.Get("Origin")
	refuse := func(from string) error {
		return errorf(http.StatusForbidden, "a form from another site (%s) cannot post to roster: nothing was changed", from)
	}
	switch site {
	case "", "same-origin", "none":
	default:
		return refuse("Sec-Fetch-Site: " + site)
	}
	switch {
	case origin == "null" && site != "same-origin":
		return refuse("Origin: null")
	case origin != "" && origin != "null" && origin != "https://"+r.Host:
		return refuse(origin)
	}
	return nil
}

// checkCSRF checks the form's token against the session's secret.
func checkCSRF(r *http.Request, ws *webSession) error {
	if !equalSecret(r.PostFormValue(csrfField), ws.sess.CSRF) {
		return errCSRF
	}
	return nil
}

// preSessionCSRF is the sign-in forms' CSRF value: the cookie's, or the
// one ensurePreSessionCSRF set for this response.
func preSessionCSRF(r *http.Request) string {
	if v, ok := r.Context().Value(preSessionKey{}).(string); ok {
		return v
	}
	if c, err := r.Cookie(preSessionCookie); err == nil {
		return c.Value
	}
	return ""
}

type preSessionKey struct{}

// ensurePreSessionCSRF sets the sign-in forms' CSRF cookie when the
// browser has none, and returns r carrying its value for [Server.render].
func ensurePreSessionCSRF(w http.ResponseWriter, r *http.Request) *http.Request {
	if c, err := r.Cookie(preSessionCookie); err == nil && len(c.Value) >= 32 {
		return r
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	setCookie(w, preSessionCookie, v)
	return r.WithContext(context.WithValue(r.Context(), preSessionKey{}, v))
}

// checkPreSessionCSRF checks a sign-in form's token against its cookie.
func checkPreSessionCSRF(r *http.Request) error {
	c, err := r.Cookie(preSessionCookie)
	if err != nil || len(c.Value) < 32 || !equalSecret(r.PostFormValue(csrfField), c.Value) {
		return errCSRF
	}
	return nil
}

func equalSecret(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

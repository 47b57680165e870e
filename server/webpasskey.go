package server

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/render"
)

// Passkeys on the web page. An operator signed in (with a token or a
// passkey) registers passkeys at /passkeys, lists them and revokes them;
// the sign-in page offers "sign in with a passkey", which needs no token.
// Each ceremony is two steps: a fetch of the options (POST .../begin, a
// JSON answer), then, after the browser's navigator.credentials call, an
// ordinary form post of its answer (static/passkey.js), so that errors and
// the session's cookie come the way every form's do. Both steps are POSTs:
// same origin and CSRF token, checked by wrapWeb like every form's.

// passkeysData is the data of the passkeys page, the operator's own or
// (All) every operator's.
type passkeysData struct {
	// All: the admin's page of every operator's passkeys (/passkeys/all),
	// else the operator's own.
	All      bool
	Passkeys []passkeyRow
	// Done names what was just done ("registered", "revoked").
	Done string
	// RPID is the name passkeys are bound to, OriginHost the name and port
	// they work at; WrongHost is set when the page was reached under
	// another, where the browser refuses them.
	RPID       string
	OriginHost string
	WrongHost  bool
}

// passkeyRow is one passkey on the page: its state in words, and whether
// it can still be revoked.
type passkeyRow struct {
	access.Passkey
	State  string
	Active bool
}

func passkeyRows(list []access.Passkey) []passkeyRow {
	return mapSlice(list, func(p access.Passkey) passkeyRow {
		return passkeyRow{Passkey: p, State: render.PasskeyState(p), Active: p.RevokedAt == nil}
	})
}

// passkeysPage answers GET /passkeys: the operator's own passkeys.
func (s *Server) passkeysPage(w http.ResponseWriter, r *http.Request) error {
	ws := webSessionFrom(r.Context())
	list, err := s.passkeys.List(r.Context(), ws.tok.ID)
	if err != nil {
		return err
	}
	rp := s.passkeys.RelyingParty()
	return s.render(w, r, http.StatusOK, "passkeys", passkeysData{Passkeys: passkeyRows(list), Done: r.URL.Query().Get("done"),
		RPID: rp.ID(), OriginHost: strings.TrimPrefix(rp.Origin, "https://"), WrongHost: !s.passkeyHost(r)})
}

// passkeyHost reports whether r reached the server under its passkey
// origin's name and port.
func (s *Server) passkeyHost(r *http.Request) bool {
	u, err := url.Parse(s.passkeys.RelyingParty().Origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// beginPasskeyRegistration answers POST /passkeys/register/begin: the
// creation options for navigator.credentials.create, as JSON.
func (s *Server) beginPasskeyRegistration(w http.ResponseWriter, r *http.Request) error {
	c, err := s.passkeys.BeginRegistration(r.Context(), webSessionFrom(r.Context()).tok)
	return writeCeremony(w, r, c, err)
}

// writeCeremony answers a .../begin route: the ceremony's handle and
// options as JSON, never cached.
func writeCeremony(w http.ResponseWriter, r *http.Request, c access.Ceremony, err error) error {
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, r, http.StatusOK, c)
	return nil
}

// finishPasskeyRegistration answers POST /passkeys/register (fields
// ceremony, response: the browser's answer as JSON, name: a label).
func (s *Server) finishPasskeyRegistration(w http.ResponseWriter, r *http.Request) error {
	resp := r.PostFormValue("response")
	if resp == "" {
		return errorf(http.StatusBadRequest, "no passkey was sent: registering a passkey needs JavaScript and a passkey or security key").
			withHint("open /passkeys in a browser with JavaScript on")
	}
	ws := webSessionFrom(r.Context())
	if _, err := s.passkeys.FinishRegistration(r.Context(), ws.tok, r.PostFormValue("ceremony"), r.PostFormValue("name"), []byte(resp)); err != nil {
		return err
	}
	http.Redirect(w, r, "/passkeys?done=registered", http.StatusSeeOther)
	return nil
}

// webRevokePasskey answers POST /passkeys/{id}/revoke: the operator's own
// passkey (an admin revokes others' at /passkeys/all).
func (s *Server) webRevokePasskey(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.passkeys.Revoke(r.Context(), r.PathValue("id"), webSessionFrom(r.Context()).tok.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/passkeys?done=revoked", http.StatusSeeOther)
	return nil
}

// allPasskeysPage answers GET /passkeys/all (admin): every operator's
// passkeys, as roster token passkeys lists them for an admin.
func (s *Server) allPasskeysPage(w http.ResponseWriter, r *http.Request) error {
	list, err := s.passkeys.List(r.Context(), "")
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "passkeys", passkeysData{All: true, Passkeys: passkeyRows(list), Done: r.URL.Query().Get("done")})
}

// webRevokeAnyPasskey answers POST /passkeys/all/{id}/revoke (admin): any
// operator's passkey, as DELETE /v1/passkeys/{id} for an admin.
func (s *Server) webRevokeAnyPasskey(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.passkeys.Revoke(r.Context(), r.PathValue("id"), ""); err != nil {
		return err
	}
	http.Redirect(w, r, "/passkeys/all?done=revoked", http.StatusSeeOther)
	return nil
}

// beginPasskeyLogin answers POST /login/passkey/begin: the request options
// for navigator.credentials.get, as JSON; any passkey of this server will
// do (no name is asked).
func (s *Server) beginPasskeyLogin(w http.ResponseWriter, r *http.Request) error {
	c, err := s.passkeys.BeginLogin(r.Context())
	return writeCeremony(w, r, c, err)
}

// passkeyLogin answers POST /login/passkey (fields ceremony, response,
// next): a new session with factor passkey, as the token form makes one
// with factor token.
func (s *Server) passkeyLogin(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.PostFormValue("next"))
	tok, _, err := s.passkeys.FinishLogin(r.Context(), r.PostFormValue("ceremony"), []byte(r.PostFormValue("response")))
	if err != nil {
		var inv *access.InvalidError
		if !errors.Is(err, access.ErrUnauthenticated) && !errors.As(err, &inv) {
			return err
		}
		r = ensurePreSessionCSRF(w, r)
		return s.render(w, r, http.StatusUnauthorized, "login", loginData{Next: next,
			Error: "That passkey did not sign you in: " + passkeyRefusal(err)})
	}
	if err := s.startSession(w, r, tok, access.FactorPasskey, "passkey"); err != nil {
		return err
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// passkeyRefusal is why a passkey sign-in failed, for the sign-in page.
func passkeyRefusal(err error) string {
	var (
		inv     *access.InvalidError
		refused *access.RefusedError
	)
	switch {
	case errors.As(err, &refused):
		return refused.Reason + "."
	case errors.As(err, &inv):
		return "the sign-in took too long or was already used; try again."
	}
	return "it is not registered here, or its answer did not verify."
}

package server

import (
	"io"
	"net/http"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/render"
)

// listPasskeys answers GET /v1/passkeys[?token=NAME]: the caller's own
// passkeys, or with role admin another token's (?token=) or everyone's.
func (s *Server) listPasskeys(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON)
	if err != nil {
		return err
	}
	me := principalFrom(r.Context()).token
	tokenID := me.ID
	if name := r.URL.Query().Get("token"); name != "" && name != me.Name && name != me.ID {
		if !me.Role.Allows(access.RoleAdmin) {
			return errorf(http.StatusForbidden, "token %q has role %s; listing another operator's passkeys needs role admin", me.Name, me.Role).
				withHint("roster token passkeys")
		}
		tok, err := s.tokenNamed(r, name)
		if err != nil {
			return err
		}
		tokenID = tok.ID
	} else if name == "" && me.Role.Allows(access.RoleAdmin) {
		tokenID = ""
	}
	list, err := s.passkeys.List(r.Context(), tokenID)
	if err != nil {
		return err
	}
	return respond(w, r, f, nonNil(mapSlice(list, apiPasskey)), func(w io.Writer) error { return render.Passkeys(w, list) })
}

// revokePasskey answers DELETE /v1/passkeys/{id}: an operator revokes its
// own passkeys, an admin anyone's.
func (s *Server) revokePasskey(w http.ResponseWriter, r *http.Request) error {
	me := principalFrom(r.Context()).token
	owner := me.ID
	if me.Role.Allows(access.RoleAdmin) {
		owner = ""
	}
	if _, err := s.passkeys.Revoke(r.Context(), r.PathValue("id"), owner); err != nil {
		return err
	}
	return ok(w, r, api.StatusRevoked)
}

// tokenNamed is the unrevoked token with this name, or the token with this
// ID.
func (s *Server) tokenNamed(r *http.Request, name string) (access.Token, error) {
	toks, err := s.tokens.List(r.Context())
	if err != nil {
		return access.Token{}, err
	}
	for _, t := range toks {
		if t.ID == name || t.Name == name && t.RevokedAt == nil {
			return t, nil
		}
	}
	return access.Token{}, errorf(http.StatusNotFound, "token %s: not found", name).withHint("roster token list")
}

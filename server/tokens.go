package server

import (
	"io"
	"net/http"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/render"
)

// whoami answers GET /v1/whoami: the caller's token.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) error {
	tok := principalFrom(r.Context()).token
	writeJSON(w, r, http.StatusOK, api.Whoami{Name: tok.Name, Role: string(tok.Role)})
	return nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var req api.TokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	plain, tok, err := s.tokens.Create(r.Context(), req.Name, access.Role(req.Role))
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusCreated, api.TokenCreated{ID: tok.ID, Name: tok.Name, Role: string(tok.Role), Token: plain})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON, api.FormatCSV)
	if err != nil {
		return err
	}
	toks, err := s.tokens.List(r.Context())
	if err != nil {
		return err
	}
	return respond(w, r, f, nonNil(mapSlice(toks, apiToken)), func(w io.Writer) error { return render.TokenList(w, toks, f) })
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.tokens.Revoke(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	return ok(w, r, api.StatusRevoked)
}

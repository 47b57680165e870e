package server

import (
	"io"
	"net/http"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/render"
)

// tokensData is the tokens page's data (admins only): the operator
// tokens without their secrets; Created is set only on the answer to the
// create form, the one time its secret is shown.
type tokensData struct {
	Tokens  []access.Token
	Roles   []access.Role
	Created *createdToken
	Form    struct{ Name, Role string }
	Refused *webRefusal
	Done    string
}

// createdToken is a token just made, with its secret: shown once.
type createdToken struct {
	Name, Role, Secret string
}

// tokensPage answers GET /tokens (?format=csv: the list without secrets).
func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request) error {
	return s.showTokens(w, r, http.StatusOK, tokensData{})
}

func (s *Server) showTokens(w http.ResponseWriter, r *http.Request, status int, d tokensData) error {
	f, err := format(r, "html", api.FormatCSV)
	if err != nil {
		return err
	}
	if d.Tokens, err = s.tokens.List(r.Context()); err != nil {
		return err
	}
	if f == api.FormatCSV {
		return respond(w, r, f, nil, func(w io.Writer) error { return render.TokenList(w, d.Tokens, f) })
	}
	d.Roles = []access.Role{access.RoleViewer, access.RoleOperator, access.RoleAdmin}
	d.Done = r.URL.Query().Get("done")
	if d.Form.Role == "" {
		d.Form.Role = string(access.RoleViewer)
	}
	return s.render(w, r, status, "tokens", d)
}

// webCreateToken answers POST /tokens (fields name, role):
// access.Tokens.Create, as POST /v1/tokens. The answer is the page itself
// (201), not a redirect: the secret is shown this once and is in no URL,
// no log and no later page.
func (s *Server) webCreateToken(w http.ResponseWriter, r *http.Request) error {
	var d tokensData
	d.Form.Name, d.Form.Role = form(r, "name"), form(r, "role")
	plain, tok, err := s.tokens.Create(r.Context(), d.Form.Name, access.Role(d.Form.Role))
	if err != nil {
		if d.Refused, err = s.refusal(w, r, err); err != nil {
			return err
		}
		return s.showTokens(w, r, d.Refused.Status, d)
	}
	d.Created = &createdToken{Name: tok.Name, Role: string(tok.Role), Secret: plain}
	d.Form.Name, d.Form.Role = "", ""
	return s.showTokens(w, r, http.StatusCreated, d)
}

// webRevokeToken answers POST /tokens/{name}/revoke:
// access.Tokens.Revoke, as DELETE /v1/tokens/{name}; it ends the token's
// web sessions too.
func (s *Server) webRevokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.tokens.Revoke(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	return webDone(w, r, "/tokens", "token "+r.PathValue("name")+" revoked")
}

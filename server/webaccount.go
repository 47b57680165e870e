package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/rosterhq/roster/inventory"
)

// accountData is the account page's data.
type accountData struct {
	Account *inventory.Account
	// Done names the action just completed, for the status line.
	Done string
}

// accountPage answers GET /accounts/{name}.
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) error {
	acct, err := s.inv.GetAccount(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "account", accountData{Account: acct, Done: r.URL.Query().Get("done")})
}

// accountDone sends the browser back to the account's page after an
// action (303: the form is not posted again on reload).
func accountDone(w http.ResponseWriter, r *http.Request, name, done string) error {
	http.Redirect(w, r, "/accounts/"+url.PathEscape(name)+"?done="+url.QueryEscape(done), http.StatusSeeOther)
	return nil
}

// webSetOwner answers POST /accounts/{name}/owner (fields owner, contact):
// inventory.SetOwner, as PUT /v1/accounts/{name}/owner.
func (s *Server) webSetOwner(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	o := inventory.Owner{Name: strings.TrimSpace(r.PostFormValue("owner")), Contact: strings.TrimSpace(r.PostFormValue("contact"))}
	if err := s.inv.SetOwner(r.Context(), name, o); err != nil {
		return err
	}
	return accountDone(w, r, name, "owner")
}

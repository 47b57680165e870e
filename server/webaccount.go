package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
)

// accountAuditLimit is how many of an account's newest audit records its
// page shows.
const accountAuditLimit = 50

// accountData is the account page's data.
type accountData struct {
	Account *inventory.Account
	History []inventory.Event
	Audit   []audit.Event
	// SSHCerts are the newest SSH certificate signed per host, from the
	// audit log (the inventory keeps no SSH certificate state).
	SSHCerts []audit.Event
	// Hosts are the hosts of the live instances, for the enrollment form.
	Hosts []string
	// Done names the action just completed, for the status line.
	Done string
	// Enrollment is the token just created: shown once, on the answer to
	// the form's POST, never stored in a page that can be reloaded.
	Enrollment *api.Enrollment
	Tiers      []inventory.Tier
	Minimum    string // the earliest expiry date the exception form offers
}

// accountPage answers GET /accounts/{name}.
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderAccount(w, r, r.PathValue("name"), http.StatusOK, nil)
}

// renderAccount renders the account's page with everything known of it.
func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, name string, status int, enr *api.Enrollment) error {
	ctx := r.Context()
	acct, err := s.inv.GetAccount(ctx, name)
	if err != nil {
		return err
	}
	hist, err := s.inv.AccountHistory(ctx, acct.Key)
	if err != nil {
		return err
	}
	trail, err := audit.List(ctx, s.inv.Store(), audit.Filter{Account: acct.Name, Limit: accountAuditLimit})
	if err != nil {
		return err
	}
	// Newest first, as the history.
	for i, j := 0, len(trail)-1; i < j; i, j = i+1, j-1 {
		trail[i], trail[j] = trail[j], trail[i]
	}
	for i, j := 0, len(hist)-1; i < j; i, j = i+1, j-1 {
		hist[i], hist[j] = hist[j], hist[i]
	}
	d := accountData{Account: acct, History: hist, Audit: trail, Done: r.URL.Query().Get("done"), Enrollment: enr,
		Tiers: []inventory.Tier{1, 2, 3, 4}, Minimum: s.inv.Now().UTC().Format("2006-01-02")}
	sshSeen := map[string]bool{}
	for _, ev := range trail {
		if ev.Action == audit.ActionSSHSign && ev.Outcome == audit.OutcomeOK && !sshSeen[ev.Host] {
			sshSeen[ev.Host] = true
			d.SSHCerts = append(d.SSHCerts, ev)
		}
	}
	seen := map[string]bool{}
	for _, in := range acct.Instances {
		if in.GoneAt == nil && !seen[in.Host] {
			seen[in.Host] = true
			d.Hosts = append(d.Hosts, in.Host)
		}
	}
	return s.render(w, r, status, "account", d)
}

// accountDone sends the browser back to the account's page after an
// action (303: the form is not posted again on reload).
func accountDone(w http.ResponseWriter, r *http.Request, done string) error {
	http.Redirect(w, r, "/accounts/"+url.PathEscape(r.PathValue("name"))+"?done="+url.QueryEscape(done), http.StatusSeeOther)
	return nil
}

// form is a trimmed form field.
func form(r *http.Request, name string) string { return strings.TrimSpace(r.PostFormValue(name)) }

// The account's actions: each calls what the API route of the same job
// calls (accounts.go, owners.go, registered.go, exceptions.go, enroll.go).

// webSetOwner answers POST /accounts/{name}/owner (owner, contact), as PUT
// /v1/accounts/{name}/owner.
func (s *Server) webSetOwner(w http.ResponseWriter, r *http.Request) error {
	if err := s.inv.SetOwner(r.Context(), r.PathValue("name"), inventory.Owner{Name: form(r, "owner"), Contact: form(r, "contact")}); err != nil {
		return err
	}
	return accountDone(w, r, "owner set")
}

// webSetPurpose answers POST /accounts/{name}/purpose, as PUT
// /v1/accounts/{name}/purpose.
func (s *Server) webSetPurpose(w http.ResponseWriter, r *http.Request) error {
	if err := s.inv.SetPurpose(r.Context(), r.PathValue("name"), form(r, "purpose")); err != nil {
		return err
	}
	return accountDone(w, r, "purpose set")
}

// webAddException answers POST /accounts/{name}/exceptions (reason, owner,
// expires, credential_type), as POST /v1/exceptions.
func (s *Server) webAddException(w http.ResponseWriter, r *http.Request) error {
	_, err := s.newException(r.Context(), api.ExceptionRequest{Account: r.PathValue("name"), Reason: form(r, "reason"),
		Expires: form(r, "expires"), Owner: form(r, "owner"), CredentialType: form(r, "credential_type"),
		BeyondPhase: r.PostFormValue("beyond_phase") != ""})
	if err != nil {
		return err
	}
	return accountDone(w, r, "exception added")
}

// webCloseException answers POST /accounts/{name}/exceptions/{id}/close
// (reason), as DELETE /v1/exceptions/{id}.
func (s *Server) webCloseException(w http.ResponseWriter, r *http.Request) error {
	if err := s.inv.CloseException(r.Context(), r.PathValue("id"), form(r, "reason")); err != nil {
		return err
	}
	return accountDone(w, r, "exception closed")
}

// webTagAccount answers POST /accounts/{name}/tags (add, remove: tags
// separated by spaces or commas), as POST /v1/accounts/{name}/tags.
func (s *Server) webTagAccount(w http.ResponseWriter, r *http.Request) error {
	if err := s.inv.TagAccount(r.Context(), r.PathValue("name"), tagList(r.PostFormValue("add")), tagList(r.PostFormValue("remove"))); err != nil {
		return err
	}
	return accountDone(w, r, "tags changed")
}

// webSetTier answers POST /accounts/{name}/tier (tier: 1-4, or 0 to derive
// it again; reason), as PUT /v1/accounts/{name}/tier.
func (s *Server) webSetTier(w http.ResponseWriter, r *http.Request) error {
	t, err := strconv.Atoi(form(r, "tier"))
	if err != nil {
		return errorf(http.StatusBadRequest, "tier: %q is not a tier from 1 to 4 (or 0 to derive it)", form(r, "tier"))
	}
	if err := s.inv.SetTier(r.Context(), r.PathValue("name"), inventory.Tier(t), form(r, "reason")); err != nil {
		return err
	}
	return accountDone(w, r, "tier set")
}

// webRetire answers POST /accounts/{name}/retire (reason), as POST
// /v1/accounts/{name}/retire.
func (s *Server) webRetire(w http.ResponseWriter, r *http.Request) error {
	if err := s.inv.RetireAccount(r.Context(), r.PathValue("name"), true, form(r, "reason")); err != nil {
		return err
	}
	return accountDone(w, r, "retired")
}

// webUnretire answers POST /accounts/{name}/unretire (reason), as POST
// /v1/accounts/{name}/unretire.
func (s *Server) webUnretire(w http.ResponseWriter, r *http.Request) error {
	if err := s.inv.UnretireAccount(r.Context(), r.PathValue("name"), form(r, "reason")); err != nil {
		return err
	}
	return accountDone(w, r, "back in service")
}

// webEnroll answers POST /accounts/{name}/enroll (host, valid), as POST
// /v1/enrollments: the page shows the token once, with the agent's command
// line (not a redirect: the token is in no URL and no later page).
func (s *Server) webEnroll(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	e, err := s.newEnrollment(r, api.EnrollmentRequest{Host: form(r, "host"), Account: name, Valid: form(r, "valid")})
	if err != nil {
		return err
	}
	return s.renderAccount(w, r, name, http.StatusCreated, &e)
}

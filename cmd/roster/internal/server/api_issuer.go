package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rosterhq/roster/issuer"
)

// agentDir is where the agent keeps an identity's files by default.
const agentDir = "/var/lib/roster-agent"

func (a *api) createEnrollment(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Host    string `json:"host"`
		Account string `json:"account"`
		Valid   string `json:"valid"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var valid time.Duration
	if req.Valid != "" {
		d, err := time.ParseDuration(req.Valid)
		if err != nil {
			return errorf(http.StatusBadRequest, "valid: %q is not a duration such as 15m", req.Valid)
		}
		valid = d
	}
	ticket, err := a.iss.CreateEnrollToken(r.Context(), req.Host, req.Account, valid)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		issuer.EnrollTicket
		Command string `json:"command"`
	}{ticket, agentEnrollCommand(r, ticket, req.Host, accountName(req.Account))})
	return nil
}

// accountName is the host's account name in account, which may be
// NAME@ENV (the issuer checks the environment).
func accountName(account string) string {
	name, _, _ := strings.Cut(account, "@")
	return name
}

// agentEnrollCommand is the exact command line to run on the host.
func agentEnrollCommand(r *http.Request, t issuer.EnrollTicket, host, account string) string {
	name, user := "host", ""
	if account != "" {
		name, user = account, " --user "+account
	}
	return fmt.Sprintf("roster-agent enroll --server https://%s --root-fingerprint %s --token %s --dir %s/%s%s",
		r.Host, t.RootFingerprint, t.Token, agentDir, name, user)
}

func (a *api) revoke(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Host    string `json:"host"`
		Account string `json:"account"`
		Serial  string `json:"serial"`
		Reason  string `json:"reason"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Host+req.Account+req.Serial) == "" {
		return errorf(http.StatusBadRequest, "request body: name an account and host, a host, or a serial")
	}
	res, err := a.iss.Revoke(r.Context(), issuer.RevokeRequest{Host: req.Host, Account: req.Account, Serial: req.Serial, Reason: req.Reason})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

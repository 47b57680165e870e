package server

import (
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/render"
)

// sshSign answers POST /v1/ssh/sign: an SSH user certificate for the
// account identity of the client certificate, or a host certificate for
// the host identity (type "host"). The issuer applies every gate of a
// renewal and audits the answer.
func (s *Server) sshSign(w http.ResponseWriter, r *http.Request) error {
	var req api.SSHSignRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	cert, err := s.iss.SignSSHLine(r.Context(), peerCerts(r), req.PublicKey, req.Type)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, apiSSHSignResponse(cert, s.ca.UserCAPublicKey(), s.ca.HostCAPublicKey()))
	return nil
}

func apiSSHSignResponse(cert *ssh.Certificate, userCA, hostCA string) api.SSHSignResponse {
	return api.SSHSignResponse{Certificate: strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(cert)), "\n"),
		UserCA: userCA, HostCA: hostCA, Serial: cert.Serial,
		ValidAfter:  time.Unix(int64(cert.ValidAfter), 0).UTC(),
		ValidBefore: time.Unix(int64(cert.ValidBefore), 0).UTC()}
}

// sshHostConfig answers GET /v1/ssh/host-config: for the host identity of
// the client certificate, what its sshd trusts and who may log in as whom.
func (s *Server) sshHostConfig(w http.ResponseWriter, r *http.Request) error {
	c, err := s.iss.SSHHostConfig(r.Context(), peerCerts(r))
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, apiSSHHostConfig(c))
	return nil
}

func apiSSHHostConfig(c issuer.SSHHostConfig) api.SSHHostConfig {
	p := c.Principals
	if p == nil {
		p = map[string][]string{}
	}
	return api.SSHHostConfig{Host: c.Host, TrustedUserCAKeys: []string{c.UserCA}, Principals: p}
}

func grantSpec(req api.SSHGrantRequest) inventory.SSHGrantSpec {
	return inventory.SSHGrantSpec{Identity: req.Identity, As: req.As, Host: req.Host, Env: req.Env}
}

func apiSSHGrant(g inventory.SSHGrant) api.SSHGrant {
	return api.SSHGrant{Identity: g.Identity, As: g.As, Host: g.Host, Env: g.Env, CreatedAt: g.CreatedAt, CreatedBy: g.CreatedBy}
}

func apiSSHPolicy(p inventory.SSHPolicy) api.SSHPolicy {
	return api.SSHPolicy{Account: p.Account, Permit: p.Permit, SetAt: p.SetAt, SetBy: p.SetBy}
}

// sshAllow answers POST /v1/ssh/grants (roster ssh allow).
func (s *Server) sshAllow(w http.ResponseWriter, r *http.Request) error {
	var req api.SSHGrantRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	g, err := s.inv.AllowSSH(r.Context(), grantSpec(req))
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, apiSSHGrant(g))
	return nil
}

// sshDeny answers POST /v1/ssh/grants/remove (roster ssh deny).
func (s *Server) sshDeny(w http.ResponseWriter, r *http.Request) error {
	var req api.SSHGrantRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	g, err := s.inv.DenySSH(r.Context(), grantSpec(req))
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, apiSSHGrant(g))
	return nil
}

// sshGrants answers GET /v1/ssh/grants[?host=H][&format=table|json].
func (s *Server) sshGrants(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON)
	if err != nil {
		return err
	}
	gs, err := s.inv.SSHGrants(r.Context(), r.URL.Query().Get("host"))
	if err != nil {
		return err
	}
	return respond(w, r, f, nonNil(mapSlice(gs, apiSSHGrant)), func(w io.Writer) error { return render.SSHGrants(w, gs, f) })
}

// sshMigration answers GET /v1/ssh/migration?account=A&host=H
// [&format=table|json] (roster ssh migrate): the steps as text, or what
// they are built from.
func (s *Server) sshMigration(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if q.Get("account") == "" || q.Get("host") == "" {
		return errorf(http.StatusBadRequest, "query parameters account and host are required").
			withHint("roster ssh migrate ACCOUNT --host HOST")
	}
	m, err := s.inv.SSHMigration(r.Context(), q.Get("account"), q.Get("host"))
	if err != nil {
		return err
	}
	return respond(w, r, f, apiSSHMigration(m), func(w io.Writer) error { return render.SSHMigration(w, m, agentDir) })
}

func apiSSHMigration(m *inventory.SSHMigration) api.SSHMigration {
	return api.SSHMigration{Account: m.Account, ServiceAccount: m.ServiceAccount, Host: m.Host, Env: m.Env, Granted: m.Granted,
		Keys: mapSlice(m.Keys, func(k inventory.SSHMigrationKey) api.SSHMigrationKey {
			return api.SSHMigrationKey{Location: k.Location, Fingerprint: k.Fingerprint, Algorithm: k.Algorithm,
				Clients: mapSlice(k.Clients, func(c inventory.SSHClient) api.SSHClient { return api.SSHClient(c) })}
		})}
}

// setSSHPolicy answers PUT /v1/accounts/{name}/ssh-policy (roster ssh
// policy).
func (s *Server) setSSHPolicy(w http.ResponseWriter, r *http.Request) error {
	var req api.SSHPolicyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	p, err := s.inv.SetSSHPolicy(r.Context(), r.PathValue("name"), req.Permit, req.SourceAddress)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, apiSSHPolicy(p))
	return nil
}

package agenttest

// The SSH endpoints of the roster server's agent protocol, as the contract
// of issue 11 states them: POST /v1/ssh/sign (user certificates for account
// identities, host certificates for the host identity), GET
// /v1/ssh/host-config (the host identity only) and GET /ssh/krl, signed
// with Ed25519 test CA keys by golang.org/x/crypto/ssh.

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/spiffeid"
	"github.com/rosterhq/roster/sshkrl"
)

// SSHEnv is the environment of the service account keys (NAME@ENV) the
// fixture uses as user certificate principals.
const SSHEnv = "test"

// sshCA is the fixture's SSH state, guarded by Server.mu.
type sshCA struct {
	user, host   ssh.Signer
	userValidity time.Duration
	hostValidity time.Duration
	serial       uint64
	revoked      []uint64
	krlTime      time.Time // when the KRL last changed: its bytes stay the same until then
	principals   map[string][]string
	caKeys       []string // nil: the user CA
	hostNames    []string // extra host principals
}

func newSSHCA() (*sshCA, error) {
	signer := func() (ssh.Signer, error) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return ssh.NewSignerFromKey(k)
	}
	u, err := signer()
	if err != nil {
		return nil, err
	}
	h, err := signer()
	if err != nil {
		return nil, err
	}
	return &sshCA{user: u, host: h, userValidity: time.Hour, hostValidity: 7 * 24 * time.Hour, principals: map[string][]string{}, krlTime: time.Now()}, nil
}

func (s *Server) routeSSH(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/ssh/sign", s.sshSign)
	mux.HandleFunc("GET /v1/ssh/host-config", s.sshHostConfig)
	mux.HandleFunc("GET /ssh/krl", s.sshKRL)
}

// UserCA and HostCA are the fixture's SSH CA public keys.
func (s *Server) UserCA() ssh.PublicKey { return s.ssh.user.PublicKey() }

// HostCA is the host CA's public key.
func (s *Server) HostCA() ssh.PublicKey { return s.ssh.host.PublicKey() }

// SetSSHValidity changes the validity of user and host certificates
// issued from now on.
func (s *Server) SetSSHValidity(user, host time.Duration) {
	s.mu.Lock()
	s.ssh.userValidity, s.ssh.hostValidity = user, host
	s.mu.Unlock()
}

// SetPrincipals sets what GET /v1/ssh/host-config lists: local account ->
// principals. Tests may pass hostile entries; they are sent as they are.
func (s *Server) SetPrincipals(p map[string][]string) {
	s.mu.Lock()
	s.ssh.principals = maps.Clone(p)
	s.mu.Unlock()
}

// SetTrustedUserCAKeys overrides the CA lines host-config sends (nil: the
// user CA).
func (s *Server) SetTrustedUserCAKeys(lines []string) {
	s.mu.Lock()
	s.ssh.caKeys = lines
	s.mu.Unlock()
}

// RevokeSSH puts a user certificate serial in the KRL.
func (s *Server) RevokeSSH(serial uint64) {
	s.mu.Lock()
	s.ssh.revoked = append(s.ssh.revoked, serial)
	s.ssh.krlTime = time.Now()
	s.mu.Unlock()
}

func authorizedLine(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

func (s *Server) sshSign(w http.ResponseWriter, r *http.Request) {
	leaf, ok := s.client(w, r)
	if !ok {
		return
	}
	id, err := spiffeid.ParseURL(leaf.URIs[0])
	if err != nil {
		writeError(w, http.StatusForbidden, "not a roster identity", "")
		return
	}
	var req api.SSHSignRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad request body: "+err.Error(), "")
		return
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(req.PublicKey))
	if err != nil {
		writeError(w, http.StatusBadRequest, "public_key: "+err.Error(), "")
		return
	}
	if req.Type == "" {
		req.Type = api.SSHCertUser
	}
	s.mu.Lock()
	s.ssh.serial++
	serial := s.ssh.serial
	userValidity, hostValidity, backdate := s.ssh.userValidity, s.ssh.hostValidity, s.backdate
	hostNames := s.ssh.hostNames
	s.mu.Unlock()
	now := time.Now()
	cert := &ssh.Certificate{
		Key:         pub,
		Serial:      serial,
		KeyId:       id.String(),
		ValidAfter:  uint64(now.Add(-backdate).Unix()),
		Permissions: ssh.Permissions{CriticalOptions: map[string]string{}, Extensions: map[string]string{}},
	}
	signer := s.ssh.user
	switch {
	case req.Type == api.SSHCertUser && id.Account != "":
		cert.CertType = ssh.UserCert
		cert.ValidPrincipals = []string{id.Account + "@" + SSHEnv}
		cert.ValidBefore = uint64(now.Add(userValidity).Unix())
	case req.Type == api.SSHCertHost && id.IsHost():
		cert.CertType = ssh.HostCert
		cert.ValidPrincipals = append([]string{id.Host}, hostNames...)
		cert.ValidBefore = uint64(now.Add(hostValidity).Unix())
		signer = s.ssh.host
	default:
		writeError(w, http.StatusForbidden, "a "+req.Type+" certificate is not for "+id.String(), "")
		return
	}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(api.SSHSignResponse{
		Certificate: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cert))),
		UserCA:      authorizedLine(s.ssh.user.PublicKey()),
		HostCA:      authorizedLine(s.ssh.host.PublicKey()),
		Serial:      serial,
		ValidAfter:  time.Unix(int64(cert.ValidAfter), 0),
		ValidBefore: time.Unix(int64(cert.ValidBefore), 0),
	})
	s.count(r.URL.Path + "/" + req.Type)
	s.count(r.URL.Path)
}

func (s *Server) sshHostConfig(w http.ResponseWriter, r *http.Request) {
	host, ok := s.host(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	hc := api.SSHHostConfig{Host: host, TrustedUserCAKeys: s.ssh.caKeys, Principals: maps.Clone(s.ssh.principals)}
	s.mu.Unlock()
	if hc.TrustedUserCAKeys == nil {
		hc.TrustedUserCAKeys = []string{authorizedLine(s.ssh.user.PublicKey())}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(hc)
	s.count(r.URL.Path)
}

func (s *Server) sshKRL(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	k := sshkrl.KRL{Version: uint64(len(s.ssh.revoked)), Generated: s.ssh.krlTime, Comment: "agenttest",
		Certs: []sshkrl.CertSection{{CA: s.ssh.user.PublicKey(), Serials: append([]uint64(nil), s.ssh.revoked...)}}}
	s.mu.Unlock()
	b, err := k.Marshal()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(b)
	s.count(r.URL.Path)
}

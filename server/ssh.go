package server

import (
	"net/http"

	"github.com/rosterhq/roster/api"
)

// sshRoots answers GET /ssh/roots: the SSH user and host CA keys.
func (s *Server) sshRoots(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, r, http.StatusOK, api.SSHRoots{User: []string{s.ca.UserCAPublicKey()}, Host: []string{s.ca.HostCAPublicKey()}})
	return nil
}

// sshKRL answers GET /ssh/krl: the OpenSSH key revocation list (sshd's
// RevokedKeys), rebuilt by the CA on every revocation.
func (s *Server) sshKRL(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(s.ca.SSHKRL()) // a client gone mid-answer is not an error of ours
	return nil
}

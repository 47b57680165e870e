package server

import (
	"net/http"
	"strings"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/issuer"
)

// revoke answers POST /v1/revocations: an identity's certificates, or one
// by serial.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) error {
	var req api.RevokeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Host+req.Account+req.Serial) == "" {
		return errorf(http.StatusBadRequest, "request body: name an account and host, a host, or a serial")
	}
	res, err := s.iss.Revoke(r.Context(), issuer.RevokeRequest{Host: req.Host, Account: req.Account, Serial: req.Serial, Reason: req.Reason})
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, api.RevokeResponse{Serials: res.Serials, SSHSerials: res.SSHSerials})
	return nil
}

package server

import (
	"net/http"

	"github.com/rosterhq/roster/api"
)

// renew answers POST /1.0/renew and /renew (step-compatible): a new
// certificate for the identity and key of the client certificate. The
// issuer verifies the certificate (chain, expiry, revocation, eligibility)
// and audits a refusal with its reason.
func (s *Server) renew(w http.ResponseWriter, r *http.Request) error {
	chain, err := s.iss.Renew(r.Context(), peerCerts(r))
	s.metrics.issued(opRenew, chain, err)
	if err != nil {
		return err
	}
	writeChain(w, r, chain)
	return nil
}

// rekey answers POST /1.0/rekey and /rekey: renew, for the key of the
// request's CSR.
func (s *Server) rekey(w http.ResponseWriter, r *http.Request) error {
	var req api.RekeyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	csr, err := parseCSRField(req.CSR)
	if err != nil {
		return err
	}
	chain, err := s.iss.Rekey(r.Context(), peerCerts(r), csr)
	s.metrics.issued(opRekey, chain, err)
	if err != nil {
		return err
	}
	writeChain(w, r, chain)
	return nil
}

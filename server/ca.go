package server

import (
	"encoding/pem"
	"net/http"

	"github.com/rosterhq/roster/api"
)

// healthz answers GET /healthz (operator API) and GET /health (step-ca's
// path): the server is up.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, r, http.StatusOK, api.Status{Status: api.StatusOK})
	return nil
}

func (s *Server) rootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ca.Root().Raw})
}

// rootsPEM answers GET /roots.pem: the root certificate, PEM. It is the
// one request an agent makes before it trusts the server; it checks the
// answer against the root fingerprint the operator gave it.
func (s *Server) rootsPEM(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(s.rootPEM())
	return nil
}

// roots answers GET /1.0/roots and /roots in step-ca's shape.
func (s *Server) roots(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, r, http.StatusOK, api.Roots{Crts: []string{string(s.rootPEM())}})
	return nil
}

// crl answers GET /crl and /1.0/crl: the CRL, DER, or PEM with ?format=pem
// or Accept: application/x-pem-file.
func (s *Server) crl(w http.ResponseWriter, r *http.Request) error {
	get, ct := s.ca.CRL, "application/pkix-crl"
	if r.URL.Query().Get("format") == "pem" || r.Header.Get("Accept") == "application/x-pem-file" {
		get, ct = s.ca.CRLPEM, "application/x-pem-file"
	}
	b, err := get()
	if err != nil {
		// The cause is logged (errors.go); the body says only this.
		return &httpError{status: http.StatusInternalServerError, msg: "crl unavailable", cause: err}
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(b) // a client gone mid-answer is not an error of ours
	return nil
}

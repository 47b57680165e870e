package server

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/issuer"
)

// agentDir is where the agent keeps an identity's files by default.
const agentDir = "/var/lib/roster-agent"

// createEnrollment answers POST /v1/enrollments: a one-time enrollment
// token for an identity, and the command to run on its host.
func (s *Server) createEnrollment(w http.ResponseWriter, r *http.Request) error {
	var req api.EnrollmentRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	e, err := s.newEnrollment(r, req)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusCreated, e)
	return nil
}

// newEnrollment makes the one-time enrollment token req asks for, with the
// command to run on the host: POST /v1/enrollments and the web page's
// enrollment form.
func (s *Server) newEnrollment(r *http.Request, req api.EnrollmentRequest) (api.Enrollment, error) {
	var valid time.Duration
	if req.Valid != "" {
		d, err := time.ParseDuration(req.Valid)
		if err != nil {
			return api.Enrollment{}, errorf(http.StatusBadRequest, "valid: %q is not a duration such as 15m", req.Valid)
		}
		valid = d
	}
	ticket, err := s.iss.CreateEnrollToken(r.Context(), req.Host, req.Account, valid)
	if err != nil {
		return api.Enrollment{}, err
	}
	return apiEnrollment(ticket, agentEnrollCommand(r, ticket, accountName(req.Account))), nil
}

// accountName is the host's account name in account, which may be
// NAME@ENV (the issuer checks the environment).
func accountName(account string) string {
	name, _, _ := strings.Cut(account, "@")
	return name
}

// agentEnrollCommand is the exact command line to run on the host.
func agentEnrollCommand(r *http.Request, t issuer.EnrollTicket, account string) string {
	name, user := "host", ""
	if account != "" {
		name, user = account, " --user "+account
	}
	return fmt.Sprintf("roster-agent enroll --server https://%s --root-fingerprint %s --token %s --dir %s/%s%s",
		r.Host, t.RootFingerprint, t.Token, agentDir, name, user)
}

// enroll answers POST /v1/enroll (step-compatible): a one-time token and a
// CSR for the identity's first certificate.
func (s *Server) enroll(w http.ResponseWriter, r *http.Request) error {
	var req api.EnrollRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Token == "" {
		req.Token = req.OTT
	}
	if req.Token == "" {
		return errorf(http.StatusBadRequest, `field "token" is missing`)
	}
	csr, err := parseCSRField(req.CSR)
	if err != nil {
		return err
	}
	chain, err := s.iss.Enroll(r.Context(), req.Token, csr, req.ServerAuth)
	s.metrics.issued(opEnroll, chain, err)
	if err != nil {
		return err
	}
	writeChain(w, r, chain)
	return nil
}

func parseCSRField(s string) (*x509.CertificateRequest, error) {
	csr, err := issuer.ParseCSR([]byte(s))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, `field "csr": %v`, err)
	}
	return csr, nil
}

// writeChain answers an issuance in step-ca's sign response shape (201).
func writeChain(w http.ResponseWriter, r *http.Request, chain []*x509.Certificate) {
	resp := api.SignResponse{Crt: pemCert(chain[0])}
	if len(chain) > 1 {
		resp.CA = pemCert(chain[1])
	}
	for _, c := range chain {
		resp.CertChain = append(resp.CertChain, pemCert(c))
	}
	writeJSON(w, r, http.StatusCreated, resp)
}

func pemCert(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

package issuer

import (
	"cmp"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/audit"
)

// maxBody bounds enroll and rekey request bodies.
const maxBody = 64 << 10

// SignResponse is step-ca's sign/renew response: PEM strings of the leaf,
// the issuing CA and the chain (leaf first).
type SignResponse struct {
	Crt       string   `json:"crt"`
	CA        string   `json:"ca"`
	CertChain []string `json:"certChain"`
}

// EnrollRequest is the body of POST /v1/enroll. "ott" is accepted as
// step-ca's name for the token.
type EnrollRequest struct {
	Token string `json:"token"`
	OTT   string `json:"ott,omitempty"`
	CSR   string `json:"csr"`
	// ServerAuth asks for the serverAuth extended key usage too.
	ServerAuth bool `json:"server_auth,omitempty"`
}

// RekeyRequest is the body of POST /1.0/rekey.
type RekeyRequest struct {
	CSR string `json:"csr"`
}

// ErrorResponse is every error body. Message and Status repeat Error and
// the HTTP status for step clients.
type ErrorResponse struct {
	Error   string `json:"error"`
	Hint    string `json:"hint,omitempty"`
	Status  int    `json:"status"`
	Message string `json:"message"`
}

// Handler serves the agent-facing endpoints:
//
//	POST /v1/enroll  {"token", "csr", "server_auth"?}  -> SignResponse (201)
//	POST /1.0/renew  mTLS              -> SignResponse (201)
//	POST /1.0/rekey  mTLS + {"csr"}    -> SignResponse (201)
//
// POST /renew and /rekey are the same endpoints under the paths step
// clients use (step-ca serves its API both at / and at /1.0).
//
// The listener must request (not verify) client certificates
// (tls.RequestClientCert): the issuer verifies them against its own root.
//
// [HandlerPatterns] lists the patterns, for a server that mounts this
// handler on its own mux.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	routes := map[string]http.HandlerFunc{
		"POST /v1/enroll": i.serveEnroll,
		"POST /1.0/renew": i.serveRenew, "POST /renew": i.serveRenew,
		"POST /1.0/rekey": i.serveRekey, "POST /rekey": i.serveRekey,
	}
	for _, p := range HandlerPatterns() {
		mux.HandleFunc(p, routes[p])
	}
	return mux
}

// HandlerPatterns are the http.ServeMux patterns [Issuer.Handler] serves.
func HandlerPatterns() []string {
	return []string{"POST /v1/enroll", "POST /1.0/renew", "POST /renew", "POST /1.0/rekey", "POST /rekey"}
}

func (i *Issuer) serveEnroll(w http.ResponseWriter, r *http.Request) {
	var req EnrollRequest
	i.respond(w, r, func() ([]*x509.Certificate, error) {
		if err := decodeBody(w, r, &req); err != nil {
			return nil, err
		}
		if req.Token == "" {
			req.Token = req.OTT
		}
		if req.Token == "" {
			return nil, &RequestError{Reason: `field "token" is missing`}
		}
		csr, err := parseCSRField(req.CSR)
		if err != nil {
			return nil, err
		}
		return i.Enroll(audit.WithActor(r.Context(), "enroll"), req.Token, csr, req.ServerAuth)
	})
}

func (i *Issuer) serveRenew(w http.ResponseWriter, r *http.Request) {
	i.respond(w, r, func() ([]*x509.Certificate, error) {
		return i.Renew(r.Context(), peerCerts(r))
	})
}

func (i *Issuer) serveRekey(w http.ResponseWriter, r *http.Request) {
	var req RekeyRequest
	i.respond(w, r, func() ([]*x509.Certificate, error) {
		if err := decodeBody(w, r, &req); err != nil {
			return nil, err
		}
		csr, err := parseCSRField(req.CSR)
		if err != nil {
			return nil, err
		}
		return i.Rekey(r.Context(), peerCerts(r), csr)
	})
}

// respond writes the chain fn returns as a SignResponse (201), or its error.
func (i *Issuer) respond(w http.ResponseWriter, r *http.Request, fn func() ([]*x509.Certificate, error)) {
	chain, err := fn()
	if err != nil {
		i.writeError(w, r, err)
		return
	}
	writeChain(w, chain)
}

func parseCSRField(s string) (*x509.CertificateRequest, error) {
	csr, err := ParseCSR([]byte(s))
	if err != nil {
		return nil, &RequestError{Reason: `field "csr": ` + err.Error()}
	}
	return csr, nil
}

// decodeBody reads one JSON object of at most maxBody bytes.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &RequestError{Reason: fmt.Sprintf("request body is larger than %d bytes", maxBody)}
		}
		return &RequestError{Reason: "request body is not a JSON object: " + jsonErrText(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &RequestError{Reason: "request body has data after the JSON object"}
	}
	return nil
}

// jsonErrText describes a decoding error without quoting the input (which
// may hold a token).
func jsonErrText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be a %s", te.Field, te.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	return "malformed"
}

// ParseCSR decodes one PEM "CERTIFICATE REQUEST" (or "NEW CERTIFICATE
// REQUEST") block and checks its signature. Only whitespace may surround
// the block.
func ParseCSR(b []byte) (*x509.CertificateRequest, error) {
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("PEM block is %q, want CERTIFICATE REQUEST", trunc(block.Type))
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errors.New("data after the PEM block")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("signature does not verify: %w", err)
	}
	return csr, nil
}

func writeChain(w http.ResponseWriter, chain []*x509.Certificate) {
	resp := SignResponse{Crt: pemCert(chain[0])}
	if len(chain) > 1 {
		resp.CA = pemCert(chain[1])
	}
	for _, c := range chain {
		resp.CertChain = append(resp.CertChain, pemCert(c))
	}
	writeJSON(w, http.StatusCreated, resp)
}

func pemCert(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// hinter is implemented by the issuer's typed errors.
type hinter interface{ Hint() string }

// writeError maps an error to a status and a JSON body. Internal errors
// are logged and answered with a generic message.
func (i *Issuer) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := cmp.Or(Status(err), http.StatusInternalServerError)
	msg, hint := err.Error(), ""
	if h := hinter(nil); code != http.StatusInternalServerError && errors.As(err, &h) {
		hint = h.Hint()
	}
	if code == http.StatusInternalServerError {
		i.log.ErrorContext(r.Context(), "request failed", slog.String("path", r.URL.Path), slog.String("error", msg))
		msg = "internal error"
	}
	writeJSON(w, code, ErrorResponse{Error: msg, Hint: hint, Status: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

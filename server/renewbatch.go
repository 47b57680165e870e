package server

import (
	"log/slog"
	"net/http"

	"github.com/rosterhq/roster/api"
)

// Bounds of a batch renewal: a P-256 CSR in PEM is about 500 bytes, so
// maxBatchCSR leaves room for any key roster accepts; the body holds
// api.MaxRenewBatch entries of at most that.
const (
	maxBatchCSR    = 4 << 10
	maxBatchSerial = 50 // a 20-byte serial has at most 49 decimal digits
	renewBatchBody = api.MaxRenewBatch*(maxBatchCSR+maxBatchSerial+64) + 64
)

// renewBatch answers POST /v1/renew-batch: the host identity of the mTLS
// connection renews identities of its own host, one entry each, and gets
// each entry's outcome in request order (200 when the request is well
// formed). Each entry is renewed by the issuer's single renewal
// ([issuer.Issuer.RenewOnHost]), so every check of POST /1.0/renew applies
// to it and its error carries the status that renewal would answer.
func (s *Server) renewBatch(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeRenewBatch(r)
	if err != nil {
		return err
	}
	host := principalFrom(r.Context()).host
	resp := api.RenewBatchResponse{Results: make([]api.RenewBatchResult, len(req.Renewals))}
	renewed := 0
	for n, e := range req.Renewals {
		res := &resp.Results[n]
		err := checkBatchEntry(e)
		if err == nil {
			csr, perr := parseCSRField(e.CSR)
			if err = perr; err == nil {
				id, chain, ierr := s.iss.RenewOnHost(r.Context(), host, e.Serial, csr)
				s.metrics.issued(opRenew, chain, ierr)
				res.Identity, err = id.String(), ierr
				if id.Host == "" {
					res.Identity = ""
				}
				if err == nil {
					res.Crt, res.CA = pemCert(chain[0]), pemCert(chain[1])
					renewed++
				}
			}
		}
		if err != nil {
			res.Status, res.Error, res.Hint = s.describeError(w, r, err)
		}
	}
	s.log.InfoContext(r.Context(), "batch renewal", slog.String("host", host), slog.Int("entries", len(req.Renewals)),
		slog.Int("renewed", renewed))
	writeJSON(w, r, http.StatusOK, resp)
	return nil
}

// decodeRenewBatch reads a batch renewal's body with the one JSON decoder
// and checks its length: at most api.MaxRenewBatch entries (none is a
// well-formed, empty batch).
func decodeRenewBatch(r *http.Request) (api.RenewBatchRequest, error) {
	var req api.RenewBatchRequest
	if err := decodeJSON(r, &req); err != nil {
		return req, err
	}
	if len(req.Renewals) > api.MaxRenewBatch {
		return req, errorf(http.StatusBadRequest, `field "renewals": %d entries, at most %d`, len(req.Renewals), api.MaxRenewBatch).
			withHint("send the rest in another batch")
	}
	return req, nil
}

// checkBatchEntry checks an entry's shape before any lookup: a decimal
// serial and a CSR of bounded size.
func checkBatchEntry(e api.RenewBatchEntry) error {
	if e.Serial == "" || len(e.Serial) > maxBatchSerial {
		return errorf(http.StatusBadRequest, `field "serial": want the certificate's decimal serial (1 to %d digits)`, maxBatchSerial)
	}
	for _, c := range e.Serial {
		if c < '0' || c > '9' {
			return errorf(http.StatusBadRequest, `field "serial": not a decimal number`)
		}
	}
	if len(e.CSR) > maxBatchCSR {
		return errorf(http.StatusBadRequest, `field "csr": %d bytes, at most %d`, len(e.CSR), maxBatchCSR)
	}
	return nil
}

package server

import (
	"encoding/base64"
	"log/slog"
	"net/http"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/scan"
)

// submitScan ingests a scan report (POST /v1/scans). A host certificate
// reports for the host record its identity is bound to only (the inventory
// checks, refuses with inventory.ErrForbidden and audits); every report,
// accepted or refused, is in the audit log.
func (s *Server) submitScan(w http.ResponseWriter, r *http.Request) error {
	sub := submitter(principalFrom(r.Context()))
	rep, err := scan.Decode(r.Body, s.lim.MaxScanBytes)
	if err != nil {
		if aerr := s.inv.AuditRefusedScan(r.Context(), sub, err.Error()); aerr != nil {
			s.log.ErrorContext(r.Context(), "audit of a refused scan failed", slog.String("error", aerr.Error()))
		}
		return err
	}
	res, err := s.inv.IngestAs(r.Context(), rep, sub)
	if err != nil {
		return err
	}
	s.metrics.ingested(res.Accounts)
	s.noticesSoon() // an ownerless privileged account found is queued promptly
	writeJSON(w, r, http.StatusOK, apiScanResult(res))
	return nil
}

// submitter is who submits a scan, as the inventory checks it.
func submitter(p principal) inventory.Submitter {
	if p.token != nil {
		return inventory.Submitter{Operator: p.token.Name}
	}
	return inventory.Submitter{Host: p.host}
}

// scanConfig answers GET /v1/scan-config: the key scans fingerprint
// secrets with.
func (s *Server) scanConfig(w http.ResponseWriter, r *http.Request) error {
	key, err := s.inv.FingerprintKey(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, api.ScanConfig{FingerprintKey: base64.StdEncoding.EncodeToString(key)})
	return nil
}

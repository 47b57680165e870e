package server

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/scan"
)

// submitScan ingests a scan report (POST /v1/scans). A host certificate
// reports for its own host only.
func (s *Server) submitScan(w http.ResponseWriter, r *http.Request) error {
	rep, err := scan.Decode(r.Body, s.lim.MaxScanBytes)
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	if p.host != "" && !strings.EqualFold(rep.Host.Hostname, p.host) {
		return errorf(http.StatusForbidden, "host certificate for %q cannot submit a scan of host %q", p.host, rep.Host.Hostname)
	}
	res, err := s.inv.Ingest(r.Context(), rep)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, apiScanResult(res))
	return nil
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

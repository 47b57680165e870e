package ca

import (
	"encoding/json"
	"log/slog"
	"net/http"
)

// Handler serves the CA's public, unauthenticated endpoints:
//
//	GET /roots.pem   the root certificate, PEM
//	GET /1.0/roots   {"crts": [PEM]} as step-ca answers (also GET /roots)
//	GET /crl         the CRL, DER (PEM with ?format=pem or Accept: application/x-pem-file)
//	GET /1.0/crl     the same, as step-ca's path
//	GET /health      {"status":"ok"}
func (c *CA) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /roots.pem", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(certPEM(c.root))
	})
	roots := func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string][]string{"crts": {string(certPEM(c.root))}})
	}
	mux.HandleFunc("GET /1.0/roots", roots)
	mux.HandleFunc("GET /roots", roots)
	crl := func(w http.ResponseWriter, r *http.Request) {
		get, ct := c.CRL, "application/pkix-crl"
		if r.URL.Query().Get("format") == "pem" || r.Header.Get("Accept") == "application/x-pem-file" {
			get, ct = c.CRLPEM, "application/x-pem-file"
		}
		b, err := get()
		if err != nil {
			slog.Error("crl unavailable", slog.String("error", err.Error()))
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "crl unavailable"})
			return
		}
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(b)
	}
	mux.HandleFunc("GET /crl", crl)
	mux.HandleFunc("GET /1.0/crl", crl)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

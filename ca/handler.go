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
//
// [HandlerPatterns] lists the patterns, for a server that mounts this
// handler on its own mux.
func (c *CA) Handler() http.Handler {
	mux := http.NewServeMux()
	rootsPEM := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(certPEM(c.root))
	}
	roots := func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string][]string{"crts": {string(certPEM(c.root))}})
	}
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
	health := func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
	routes := map[string]http.HandlerFunc{
		"GET /roots.pem": rootsPEM, "GET /1.0/roots": roots, "GET /roots": roots,
		"GET /crl": crl, "GET /1.0/crl": crl, "GET /health": health,
	}
	for _, p := range HandlerPatterns() {
		mux.HandleFunc(p, routes[p])
	}
	return mux
}

// HandlerPatterns are the http.ServeMux patterns [CA.Handler] serves.
func HandlerPatterns() []string {
	return []string{"GET /roots.pem", "GET /1.0/roots", "GET /roots", "GET /crl", "GET /1.0/crl", "GET /health"}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

package api

// Roots is the body of GET /1.0/roots and /roots (step-compatible): the
// root certificates, PEM. GET /roots.pem serves the same as a PEM file, and
// GET /crl (also /1.0/crl) the CRL, DER (PEM with ?format=pem or
// Accept: application/x-pem-file).
type Roots struct {
	Crts []string `json:"crts"`
}

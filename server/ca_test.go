package server

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"testing"

	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/ca/catest"
)

// TestCAEndpoints is the CA's public endpoints (moved from package ca with
// their handler).
func TestCAEndpoints(t *testing.T) {
	e := newEnv(t, true)
	c, cl := e.ca, e.client(nil, nil, false)
	srv := struct{ URL string }{e.url}
	get := func(t *testing.T, cl *http.Client, url string) (*http.Response, []byte) {
		t.Helper()
		resp, err := cl.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}

	_, b := get(t, cl, srv.URL+"/roots.pem")
	if block, _ := pem.Decode(b); block == nil || string(block.Bytes) != string(c.Root().Raw) {
		t.Errorf("/roots.pem: %q", b)
	}

	// step-ca's RootsResponse shape: {"crts": [PEM]}.
	resp, b := get(t, cl, srv.URL+"/1.0/roots")
	var roots struct {
		Crts []string `json:"crts"`
	}
	if err := json.Unmarshal(b, &roots); err != nil || resp.StatusCode != 200 || len(roots.Crts) != 1 {
		t.Fatalf("/1.0/roots: %v %s", err, b)
	}
	if block, _ := pem.Decode([]byte(roots.Crts[0])); block == nil || string(block.Bytes) != string(c.Root().Raw) {
		t.Errorf("/1.0/roots: %s", b)
	}

	resp, b = get(t, cl, srv.URL+"/health")
	if resp.StatusCode != 200 || string(b) != "{\"status\":\"ok\"}\n" {
		t.Errorf("/health: %d %s", resp.StatusCode, b)
	}

	chain, err := c.Sign(context.Background(), catest.CSR(t, catest.Key(t, "EC", 0), "x"), ca.Identity{URI: mustID(t, "h", "x").URL(), CommonName: "x"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(context.Background(), chain[0].SerialNumber.String(), ""); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/crl", "/1.0/crl"} {
		resp, b = get(t, cl, srv.URL+path)
		if ct := resp.Header.Get("Content-Type"); ct != "application/pkix-crl" {
			t.Errorf("%s: content type %q", path, ct)
		}
		crl, err := x509.ParseRevocationList(b)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := crl.CheckSignatureFrom(c.Intermediate()); err != nil {
			t.Error(err)
		}
		if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(chain[0].SerialNumber) != 0 {
			t.Errorf("%s: entries %v", path, crl.RevokedCertificateEntries)
		}
	}
	_, b = get(t, cl, srv.URL+"/crl?format=pem")
	if block, _ := pem.Decode(b); block == nil || block.Type != "X509 CRL" {
		t.Errorf("/crl?format=pem: %q", b)
	}
	resp, _ = get(t, cl, srv.URL+"/nope")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/nope: %d", resp.StatusCode)
	}
}

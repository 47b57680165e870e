package server

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca/catest"
	"github.com/rosterhq/roster/issuer"
)

// batchEntry is a renewal entry for chain's leaf with a CSR signed by key.
func batchEntry(t testing.TB, key crypto.Signer, chain []*x509.Certificate) api.RenewBatchEntry {
	t.Helper()
	return api.RenewBatchEntry{CSR: csrPEM(catest.CSR(t, key, "x")), Serial: chain[0].SerialNumber.String()}
}

// renewBatchHTTP posts a batch over mTLS with the host's key and chain.
func (e *env) renewBatchHTTP(key crypto.Signer, chain []*x509.Certificate, entries []api.RenewBatchEntry) (int, api.RenewBatchResponse, []byte) {
	e.t.Helper()
	code, body := e.post(e.client(key, chain, false), "/v1/renew-batch", api.RenewBatchRequest{Renewals: entries})
	var resp api.RenewBatchResponse
	if code == http.StatusOK {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&resp); err != nil {
			e.t.Fatalf("batch response: %v: %s", err, body)
		}
	}
	return code, resp, body
}

func pemX509(t testing.TB, p string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		t.Fatalf("not PEM: %q", p)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRenewBatch renews a mixed batch over one mTLS connection of web1's
// host identity: each entry gets exactly what POST /1.0/renew would have
// answered for it, in request order.
func TestRenewBatch(t *testing.T) {
	e := newEnv(t, true)
	ctx := audit.WithActor(context.Background(), "test")
	e.ingest("web1", "billing-batch", "nobody-owns", "legacy", "reports", "backup")
	e.owner("reports", "data-team")
	e.owner("backup", "ops")
	e.ingest("web2", "w2")
	e.owner("w2", "ops")
	hk, hc := e.Enroll("web1", "")
	bk, bc := e.Enroll("web1", "billing-batch")
	rk, rc := e.Enroll("web1", "reports")
	xk, xc := e.Enroll("web1", "backup")
	ok2, oc2 := e.Enroll("web2", "w2")
	// A certificate renewed once already: its renewal is replayed.
	_, replayed, _ := e.renewHTTP(rk, rc)
	// A revoked one.
	if _, err := e.iss.Revoke(ctx, issuer.RevokeRequest{Serial: xc[0].SerialNumber.String(), Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	otherKey := catest.Key(t, "EC", 0)
	wrongKey := batchEntry(t, otherKey, bc)

	code, resp, body := e.renewBatchHTTP(hk, hc, []api.RenewBatchEntry{
		batchEntry(t, bk, bc),   // ok
		batchEntry(t, ok2, oc2), // another host's identity
		batchEntry(t, xk, xc),   // revoked
		wrongKey,                // CSR not signed by the certificate's key
		batchEntry(t, rk, rc),   // renewed before: the same successor
		{CSR: batchEntry(t, bk, bc).CSR, Serial: "12345"},       // unknown serial
		{CSR: "not a csr", Serial: bc[0].SerialNumber.String()}, // bad CSR
		{CSR: batchEntry(t, bk, bc).CSR, Serial: "0x12"},        // not decimal
		batchEntry(t, hk, hc),                                   // the host identity itself
		batchEntry(t, bk, bc),                                   // the first entry again: its successor
	})
	if code != http.StatusOK || len(resp.Results) != 10 {
		t.Fatalf("batch: %d %s", code, body)
	}
	r := resp.Results
	want := []struct {
		identity string
		status   int
		errText  string
	}{
		{"spiffe://roster.test/host/web1/sa/billing-batch", 0, ""},
		{"", 403, "is not of an identity on host web1"},
		{"spiffe://roster.test/host/web1/sa/backup", 401, "revoked"},
		{"spiffe://roster.test/host/web1/sa/billing-batch", 401, "not signed by that certificate's key"},
		{"spiffe://roster.test/host/web1/sa/reports", 0, ""},
		{"", 404, "no certificate with this serial"},
		{"", 400, `field "csr"`},
		{"", 400, "not a decimal number"},
		{"spiffe://roster.test/host/web1", 0, ""},
		{"spiffe://roster.test/host/web1/sa/billing-batch", 0, ""},
	}
	td := e.ca.TrustDomain()
	for n, w := range want {
		w.identity = strings.Replace(w.identity, "roster.test", td, 1)
		got := r[n]
		if got.Identity != w.identity || got.Status != w.status || !strings.Contains(got.Error, w.errText) {
			t.Errorf("entry %d: %+v, want identity %q status %d error with %q", n, got, w.identity, w.status, w.errText)
		}
		if w.status == 0 && (got.Crt == "" || got.CA == "" || got.Error != "") {
			t.Errorf("entry %d: no certificate: %+v", n, got)
		}
		if w.status != 0 && got.Crt != "" {
			t.Errorf("entry %d: refused with a certificate", n)
		}
	}
	// The renewed certificate names the identity, keeps its key, and the
	// duplicate entry got the same successor; the replay is byte for byte.
	b1 := pemX509(t, r[0].Crt)
	if b1.SerialNumber.Cmp(bc[0].SerialNumber) == 0 || !b1.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(bk.Public()) {
		t.Error("entry 0: not a new certificate for the same key")
	}
	if r[9].Crt != r[0].Crt {
		t.Error("the same serial twice in a batch: two successors")
	}
	if !bytes.Equal(pemX509(t, r[4].Crt).Raw, replayed[0].Raw) {
		t.Error("entry 4: the renewed certificate was not answered with its successor")
	}
	if pemX509(t, r[0].CA).Subject.String() != e.ca.Intermediate().Subject.String() {
		t.Error("ca is not the intermediate")
	}
	// The other host's certificate was left alone; refusals are audited.
	st, err := e.inv.Identity(ctx, "web2", "w2")
	if err != nil || st.Cert.Serial != oc2[0].SerialNumber.String() {
		t.Errorf("web2/w2 changed: %+v %v", st.Cert, err)
	}
	trail := e.audits()
	for _, s := range []string{"cert.renew refused web1/ serial=" + oc2[0].SerialNumber.String(),
		"cert.renew refused web1/backup serial=" + xc[0].SerialNumber.String(),
		"cert.renew refused web1/billing-batch serial=" + bc[0].SerialNumber.String()} {
		if !strings.Contains(trail, s) {
			t.Errorf("audit lacks %q:\n%s", s, trail)
		}
	}
	// The clone rule: bc is now two generations behind after one more renewal.
	if _, next, _ := e.renewHTTP(bk, []*x509.Certificate{b1, e.ca.Intermediate()}); next == nil {
		t.Fatal("renewing the batch's certificate over /1.0/renew failed")
	}
	_, resp, _ = e.renewBatchHTTP(hk, []*x509.Certificate{pemX509(t, r[8].Crt), e.ca.Intermediate()}, []api.RenewBatchEntry{batchEntry(t, bk, bc)})
	if got := resp.Results[0]; got.Status != 403 || !strings.Contains(got.Error, "possible key theft") {
		t.Errorf("grandparent in a batch: %+v", got)
	}
}

// TestRenewBatchRefused: requests that are not well formed, or not made by
// a host identity, are refused as a whole.
func TestRenewBatchRefused(t *testing.T) {
	e := newEnv(t, true)
	hk, hc := e.Enroll("web1", "")
	bk, bc := e.Enroll("web1", "billing-batch")
	entry := batchEntry(t, bk, bc)
	many := make([]api.RenewBatchEntry, api.MaxRenewBatch+1)
	for n := range many {
		many[n] = entry
	}
	for _, tc := range []struct {
		name   string
		cl     *http.Client
		body   any
		status int
		text   string
	}{
		{"no client certificate", e.client(nil, nil, false), api.RenewBatchRequest{}, 401, "host identity certificate is required"},
		{"an account's certificate", e.client(bk, bc, false), api.RenewBatchRequest{}, 401, "is not a host identity"},
		{"too many entries", e.client(hk, hc, false), api.RenewBatchRequest{Renewals: many}, 400, "at most 64"},
		{"unknown field", e.client(hk, hc, false), map[string]any{"renewals": []any{}, "x": 1}, 400, `unknown field`},
		{"not an object", e.client(hk, hc, false), []int{1}, 400, "not a JSON object"},
		{"oversized CSR", e.client(hk, hc, false), api.RenewBatchRequest{Renewals: []api.RenewBatchEntry{{CSR: strings.Repeat("A", maxBatchCSR+1), Serial: "1"}}}, 200, "at most 4096"},
		{"empty batch", e.client(hk, hc, false), api.RenewBatchRequest{Renewals: []api.RenewBatchEntry{}}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.post(tc.cl, "/v1/renew-batch", tc.body)
			if code != tc.status || !strings.Contains(string(body), tc.text) {
				t.Errorf("%d %s, want %d with %q", code, body, tc.status, tc.text)
			}
		})
	}
	// A body over the limit is refused before it is decoded.
	big := `{"renewals":[{"csr":"` + strings.Repeat("A", renewBatchBody) + `","serial":"1"}]}`
	resp, err := e.client(hk, hc, false).Post(e.url+"/v1/renew-batch", "application/json", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("oversized body: %d", resp.StatusCode)
	}
}

// FuzzRenewBatchBody: any body decodes into an error or a batch of at most
// api.MaxRenewBatch entries, and every entry that passes checkBatchEntry has
// a decimal serial and a bounded CSR.
func FuzzRenewBatchBody(f *testing.F) {
	f.Add([]byte(`{"renewals":[{"csr":"-----BEGIN CERTIFICATE REQUEST-----","serial":"123"}]}`))
	f.Add([]byte(`{"renewals":[]}`))
	f.Add([]byte(`{"renewals":[{"serial":"-1"},{"serial":"007"}]} x`))
	f.Fuzz(func(t *testing.T, b []byte) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/v1/renew-batch", bytes.NewReader(b))
		r.Body = http.MaxBytesReader(w, r.Body, renewBatchBody)
		req, err := decodeRenewBatch(r)
		if err != nil {
			var he *httpError
			if !errors.As(err, &he) && !strings.HasPrefix(err.Error(), "request body") {
				t.Fatalf("error neither a 4xx nor about the body: %v", err)
			}
			return
		}
		if len(req.Renewals) > api.MaxRenewBatch {
			t.Fatalf("%d entries accepted", len(req.Renewals))
		}
		for _, e := range req.Renewals {
			if checkBatchEntry(e) != nil {
				continue
			}
			if len(e.CSR) > maxBatchCSR || e.Serial == "" || strings.Trim(e.Serial, "0123456789") != "" {
				t.Fatalf("entry %+v passed the check", e)
			}
		}
	})
}

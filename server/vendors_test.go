package server

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
)

func (e *env) operatorToken() string {
	e.t.Helper()
	plain, _, err := access.New(e.inv.Store(), nil).Create(audit.WithActor(context.Background(), "test"), "op", access.RoleOperator)
	if err != nil {
		e.t.Fatal(err)
	}
	return plain
}

// crlSerials fetches GET /crl and returns the revoked serials.
func (e *env) crlSerials() []string {
	e.t.Helper()
	resp, err := e.client(nil, nil, false).Get(e.url + "/crl")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	der, _ := io.ReadAll(resp.Body)
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range crl.RevokedCertificateEntries {
		out = append(out, r.SerialNumber.String())
	}
	return out
}

// TestVendorLapseRevokesThroughServer is issue 10's evidence: a vendor
// whose on-lapse is revoke, its account holding a certificate and a
// static password under an exception. Once the exception expires (the
// clock moved) and the sweep runs, the certificate is in the CRL and
// revoked in the inventory, renewal over mTLS and enrollment are refused
// with the reason, and closing or renewing the exception lifts the hold.
// A notify vendor's account keeps its certificate; its lapse is listed by
// VendorLapses.
func TestVendorLapseRevokesThroughServer(t *testing.T) {
	e := newEnv(t, true)
	ctx := audit.WithActor(context.Background(), "test")
	tok := e.operatorToken()
	call := func(method, path, body string, want int) []byte {
		t.Helper()
		code, b := e.operatorCall(tok, method, path, body)
		if code != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
		}
		return b
	}
	call("POST", "/v1/vendors", `{"name":"acme","owner":"vendor-team","contact":"ops@acme.example","route":"vpn","factor":"totp","on_lapse":"revoke"}`, 201)
	call("POST", "/v1/vendors", `{"name":"beta","owner":"vendor-team","contact":"ops@beta.example","route":"sftp"}`, 201)
	if b := call("POST", "/v1/vendors", `{"name":"gamma","owner":"vendor-team","contact":"ops@gamma.example","route":"vnp"}`, 400); !strings.Contains(string(b), "did you mean vpn?") {
		t.Errorf("unknown route: %s", b)
	}
	er := errBody(t, call("POST", "/v1/accounts/billing-batch/tags", `{"add":["third-party=acmee"]}`, 400))
	if er.Hint != "roster vendor add acmee --owner OWNER --contact EMAIL --route ROUTE" {
		t.Errorf("tag with unknown vendor: %+v", er)
	}
	e.Ingest("gw2", "sftp-acme", "ftp-beta")
	e.owner("sftp-acme", "team-ftp")
	e.owner("ftp-beta", "team-ftp")
	// The test CA's certificates live an hour: the exception runs out
	// within it.
	expT := e.clock.Now().Add(30 * time.Minute).UTC()
	expires := expT.Format(time.RFC3339)
	type held struct {
		host, account, vendor string
		exc                   string
	}
	accts := []*held{{"web1", "billing-batch", "acme", ""}, {"gw2", "sftp-acme", "acme", ""}, {"gw2", "ftp-beta", "beta", ""}}
	keys := map[string]struct {
		key   crypto.Signer
		chain []*x509.Certificate
	}{}
	for _, a := range accts {
		call("POST", "/v1/accounts/"+a.account+"/tags", `{"add":["third-party=`+a.vendor+`"]}`, 200)
		var ex api.Exception
		if err := json.Unmarshal(call("POST", "/v1/exceptions", `{"account":"`+a.account+`","owner":"team-ftp","reason":"vendor migrates","expires":"`+expires+`"}`, 201), &ex); err != nil {
			t.Fatal(err)
		}
		a.exc = ex.ID
		k, ch := e.enroll(a.host, a.account)
		keys[a.account] = struct {
			key   crypto.Signer
			chain []*x509.Certificate
		}{k, ch}
	}
	var d api.VendorDetail
	if err := json.Unmarshal(call("GET", "/v1/vendors/acme?format=json", "", 200), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Accounts) != 2 || d.Accounts[0].Tier != 2 || len(d.Exceptions) != 2 || d.Strength != "static_password" {
		t.Errorf("vendor show: %+v", d)
	}

	srv, err := New(Options{Inventory: e.inv, Issuer: e.iss, CA: e.ca})
	if err != nil {
		t.Fatal(err)
	}
	srv.Sweep(ctx)
	if got := e.crlSerials(); len(got) != 0 {
		t.Fatalf("revoked before the lapse: %v", got)
	}
	e.clock.Advance(45 * time.Minute)
	srv.Sweep(ctx)
	srv.Sweep(ctx) // each lapse is processed once

	crl := e.crlSerials()
	lapsedOn := expT.Format(time.DateOnly)
	for _, a := range accts[:2] {
		serial := keys[a.account].chain[0].SerialNumber.String()
		if !slices.Contains(crl, serial) {
			t.Errorf("%s: serial %s not in the CRL %v", a.account, serial, crl)
		}
		acct, err := e.inv.GetAccount(ctx, a.account)
		if err != nil {
			t.Fatal(err)
		}
		if c := acct.Instances[0].Cert; c == nil || c.RevokedAt == nil {
			t.Errorf("%s: inventory cert %+v, want revoked", a.account, c)
		}
		code, _, er := e.renewHTTP(keys[a.account].key, keys[a.account].chain)
		reason := "vendor acme's exception " + a.exc + " lapsed on " + lapsedOn + "; renew or close the exception"
		if code != http.StatusUnauthorized || !strings.Contains(er.Error, reason) || !strings.Contains(er.Hint, "roster exception close "+a.exc) {
			t.Errorf("%s renewal: %d %+v, want the reason %q", a.account, code, er, reason)
		}
		_, err = e.iss.CreateEnrollToken(ctx, a.host, a.account, 0)
		var de *issuer.DeniedError
		if !errors.As(err, &de) || !strings.Contains(de.Reason, reason) {
			t.Errorf("%s enrollment: %v", a.account, err)
		}
	}
	if slices.Contains(crl, keys["ftp-beta"].chain[0].SerialNumber.String()) {
		t.Error("a notify vendor's certificate was revoked")
	}
	if code, _, er := e.renewHTTP(keys["ftp-beta"].key, keys["ftp-beta"].chain); code != http.StatusCreated {
		t.Errorf("notify vendor's renewal: %d %+v", code, er)
	}
	lapses, err := e.inv.VendorLapses(ctx, e.clock.Now())
	if err != nil || len(lapses) != 3 {
		t.Fatalf("lapses %+v %v", lapses, err)
	}
	for _, l := range lapses {
		if l.Processed == nil || l.Owner != "vendor-team" {
			t.Errorf("lapse %+v", l)
		}
		if l.Vendor == "beta" && (l.OnLapse != inventory.OnLapseNotify || len(l.Revoked) != 0) {
			t.Errorf("notify lapse %+v", l)
		}
	}
	evs, err := audit.List(ctx, e.inv, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Action == audit.ActionVendorLapse {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d vendor.lapse audit records, want 3 (one per lapse)", n)
	}

	// Closing lifts one hold, a new exception the other.
	call("DELETE", "/v1/exceptions/"+accts[0].exc+"?reason=vendor+removed+the+password", "", 200)
	renewBy := e.clock.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	call("POST", "/v1/exceptions", `{"account":"sftp-acme","owner":"team-ftp","reason":"extended","expires":"`+renewBy+`"}`, 201)
	for _, a := range accts[:2] {
		k, ch := e.enroll(a.host, a.account)
		if code, _, er := e.renewHTTP(k, ch); code != http.StatusCreated {
			t.Errorf("%s after the hold: %d %+v", a.account, code, er)
		}
	}
}

// TestConvertVendorKeepsEveryField: every field of the inventory's vendor
// values reaches the wire, as TestConvertKeepsEveryField checks the
// others.
func TestConvertVendorKeepsEveryField(t *testing.T) {
	same := func(name string, want, got any) {
		t.Helper()
		w, _ := json.Marshal(want)
		g, _ := json.Marshal(got)
		if string(w) != string(g) {
			t.Errorf("%s:\n inventory %s\n       api %s", name, w, g)
		}
	}
	v := filled[inventory.Vendor]()
	v.Strength = inventory.StrengthHardwareBound // filled's 1 is a level too, but say which
	same("Vendor", v, apiVendor(v))
	d := filled[inventory.VendorDetail]()
	d.Strength = inventory.StrengthSecretFile
	for i := range d.Accounts {
		d.Accounts[i].Strength = inventory.StrengthStaticPassword
	}
	same("VendorDetail", d, apiVendorDetail(&d))
	ir := filled[inventory.VendorImportResult]()
	same("VendorImportResult", ir, apiVendorImport(&ir))
	same("empty VendorDetail", inventory.VendorDetail{}, apiVendorDetail(&inventory.VendorDetail{}))
}

// TestGoldenAPIVendors: the vendor routes' answers and refusals, as
// TestGoldenAPI keeps the others'.
func TestGoldenAPIVendors(t *testing.T) {
	g := startGoldenServer(t)
	now := time.Now().UTC().Truncate(time.Second)
	g.call(t, "scan-submit-vendors", "POST", "/v1/scans", g.admin, string(mustMarshal(t, goldenReport(now.Add(-time.Minute)))))
	g.call(t, "vendor-add", "POST", "/v1/vendors", g.admin,
		`{"name":"acme","owner":"team-vendors","contact":"ops@acme.example","route":"vpn","factor":"totp","on_lapse":"revoke"}`)
	g.call(t, "vendor-set", "PATCH", "/v1/vendors/acme", g.admin, `{"domain":"corp.example","note":"contract until 2027"}`)
	g.call(t, "error-vendor-unknown-tag", "POST", "/v1/accounts/deploy/tags", g.admin, `{"add":["third-party=acmee"]}`)
	g.call(t, "vendor-tag", "POST", "/v1/accounts/deploy/tags", g.admin, `{"add":["third-party=acme"]}`)
	g.call(t, "error-vendor-bad-factor", "POST", "/v1/vendors", g.admin,
		`{"name":"beta","owner":"team-vendors","contact":"ops@beta.example","route":"api","factor":"push_"}`)
	for _, f := range []string{"json", "table"} {
		g.call(t, "vendor-show-"+f, "GET", "/v1/vendors/acme?format="+f, g.admin, "")
	}
	g.call(t, "vendors-list-json", "GET", "/v1/vendors?format=json", g.admin, "")
	g.call(t, "error-vendor-remove-linked", "DELETE", "/v1/vendors/acme", g.admin, "")
}

package issuer_test

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/ca/catest"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/issuer/issuertest"
)

// The issuer's tests through HTTP (enrollment, renewal, rekey, refusals and
// their bodies, the token race, key types) are in package server, which
// serves the issuer; the tests here call it directly.

func TestCreateEnrollTokenPolicy(t *testing.T) {
	e := issuertest.New(t, true)
	ctx := context.Background()
	tests := []struct {
		desc, host, account string
		reason, hint        string
	}{
		{"no owner", "web1", "nobody-owns", "account nobody-owns has no owner", "roster owner set nobody-owns OWNER"},
		{"unknown account", "web1", "ghost", "account ghost does not exist on host web1", "roster accounts list --host web1"},
		{"unknown host", "nohost", "billing-batch", "host nohost is not in the inventory", "roster scan --submit"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := e.Iss.CreateEnrollToken(ctx, tt.host, tt.account, 0)
			var de *issuer.DeniedError
			if !errors.As(err, &de) || de.Error() != tt.reason || !strings.Contains(de.Hint(), tt.hint) {
				t.Fatalf("got %v (hint %q), want %q / %q", err, hintOf(err), tt.reason, tt.hint)
			}
		})
	}
	if !strings.Contains(e.Audits(), "enroll.token.create refused web1/nobody-owns serial= account nobody-owns has no owner") {
		t.Errorf("refusal not audited:\n%s", e.Audits())
	}
	for _, bad := range []struct{ host, account string }{{"web1", "../etc"}, {"web/1", "x"}, {"", "x"}} {
		var re *issuer.RequestError
		if _, err := e.Iss.CreateEnrollToken(ctx, bad.host, bad.account, 0); !errors.As(err, &re) {
			t.Errorf("%q/%q: %v", bad.host, bad.account, err)
		}
	}
	// Host identity.
	tk, err := e.Iss.CreateEnrollToken(ctx, "web1", "", 0)
	if err != nil || tk.Identity != "spiffe://roster.local/host/web1" {
		t.Errorf("host token: %v %+v", err, tk)
	}
}

func hintOf(err error) string {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

// An account whose static credential has an expired exception still gets
// certificates: they are the way out.
func TestExpiredExceptionStillEnrolls(t *testing.T) {
	e := issuertest.New(t, true)
	ctx := context.Background()
	if _, err := e.Inv.AddException(ctx, inventory.Exception{Account: "billing-batch", Reason: "vendor app", Owner: "payments-team",
		Expires: e.Clock.Now().Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(72 * time.Hour)
	_, chain := e.Enroll("web1", "billing-batch")
	if chain[0].Subject.CommonName != "billing-batch" {
		t.Error("wrong cert")
	}
}

// TestAuthenticateHost: only a valid, unrevoked host identity certificate
// authenticates a host; every refusal is an *AuthError (401 at the server).
func TestAuthenticateHost(t *testing.T) {
	e := issuertest.New(t, true)
	ctx := context.Background()
	_, hc := e.Enroll("web1", "")
	if hc[0].Subject.CommonName != "web1" || hc[0].URIs[0].String() != "spiffe://roster.local/host/web1" {
		t.Fatalf("host cert names %v %v", hc[0].Subject, hc[0].URIs)
	}
	if host, err := e.Iss.AuthenticateHost(ctx, hc); err != nil || host != "web1" {
		t.Errorf("host cert: %q %v", host, err)
	}
	var ae *issuer.AuthError
	_, ac := e.Enroll("web1", "billing-batch")
	if _, err := e.Iss.AuthenticateHost(ctx, ac); !errors.As(err, &ae) || !strings.Contains(err.Error(), "not a host identity") {
		t.Errorf("account cert: %v", err)
	}
	if _, err := e.Iss.AuthenticateHost(ctx, nil); !errors.As(err, &ae) {
		t.Errorf("no cert: %v", err)
	}
	if _, err := e.Iss.Revoke(ctx, issuer.RevokeRequest{Host: "web1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Iss.AuthenticateHost(ctx, hc); !errors.As(err, &ae) {
		t.Errorf("revoked host cert: %v", err)
	}
}

func TestRevokeByAccountAndSerial(t *testing.T) {
	e := issuertest.New(t, true)
	ctx := context.Background()
	e.Ingest("db1", "billing-batch")
	_, c1 := e.Enroll("web1", "billing-batch")
	_, c2 := e.Enroll("db1", "billing-batch")
	res, err := e.Iss.Revoke(ctx, issuer.RevokeRequest{Account: "billing-batch", Reason: "superseded"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Serials) != 2 {
		t.Fatalf("revoked %v", res.Serials)
	}
	for _, c := range [][]*x509.Certificate{c1, c2} {
		if r, _ := e.CA.IsRevoked(c[0].SerialNumber.String()); !r {
			t.Errorf("%s not revoked", c[0].SerialNumber)
		}
	}
	var re *issuer.RequestError
	if _, err := e.Iss.Revoke(ctx, issuer.RevokeRequest{Serial: "424242"}); !errors.As(err, &re) {
		t.Errorf("unknown serial: %v", err)
	}
	if _, err := e.Iss.Revoke(ctx, issuer.RevokeRequest{}); !errors.As(err, &re) {
		t.Errorf("empty request: %v", err)
	}
}

// TestServerAuthPolicy: Config.ServerAuthPolicy decides who may have the
// serverAuth usage (the default, refusing everyone, is tested through the
// server's POST /v1/enroll).
func TestServerAuthPolicy(t *testing.T) {
	e := issuertest.New(t, true)
	ctx := context.Background()
	// A policy that allows it for host identities only.
	hostsOnly := func(_ context.Context, s inventory.IdentityState) error {
		if s.Account == "" {
			return nil
		}
		return &issuer.DeniedError{Host: s.Host, Account: s.Account, Reason: "only hosts serve TLS"}
	}
	iss, err := issuer.New(issuer.Config{CA: e.CA, Inventory: e.Inv, ServerAuthPolicy: hostsOnly, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		account string
		ok      bool
	}{{"", true}, {"billing-batch", false}} {
		tk, err := iss.CreateEnrollToken(ctx, "web1", tt.account, 0)
		if err != nil {
			t.Fatal(err)
		}
		chain, err := iss.Enroll(ctx, tk.Token, csrFor(t), true)
		if !tt.ok {
			var de *issuer.DeniedError
			if !errors.As(err, &de) {
				t.Errorf("%q: %v", tt.account, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		eku := chain[0].ExtKeyUsage
		if len(eku) != 2 || eku[1] != x509.ExtKeyUsageServerAuth {
			t.Errorf("host cert EKU %v", eku)
		}
	}
}

func csrFor(t *testing.T) *x509.CertificateRequest {
	return catest.CSR(t, catest.Key(t, "EC", 0), "x")
}

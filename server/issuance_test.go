package server

// The issuer's tests through HTTP, moved here with the transport from
// package issuer: enrollment, renewal, rekey and revocation end to end over
// mTLS on 127.0.0.1, refusals with their status, body and hint, the
// one-time token, key types and the decoding of agent requests. The
// issuer's tests without transport stay in package issuer.

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"go.step.sm/crypto/pemutil"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/ca/catest"
	"github.com/rosterhq/roster/issuer"
)

func TestEnrollRenewRekeyRevoke(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	tk, err := e.iss.CreateEnrollToken(ctx, "web1", "billing-batch", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tk.Token, "ret_") || len(tk.Token) < 4+43 {
		t.Errorf("token shape %d chars", len(tk.Token))
	}
	if tk.RootFingerprint != ca.Fingerprint(e.ca.Root()) || tk.Identity != "spiffe://roster.local/host/web1/sa/billing-batch" {
		t.Errorf("ticket %+v", tk)
	}
	if d := time.Until(tk.ExpiresAt); d < 14*time.Minute || d > 16*time.Minute {
		t.Errorf("token expires in %s, want 15m", d)
	}

	// The CSR asks for root's name and another account's SPIFFE ID.
	key := catest.Key(t, "EC", 0)
	csr := catest.CSR(t, key, "root", "spiffe://roster.local/host/web1/sa/root", "web1.example.com")
	code, body := e.post(e.client(nil, nil, false), "/v1/enroll", map[string]string{"token": tk.Token, "csr": csrPEM(csr)})
	if code != http.StatusCreated {
		t.Fatalf("enroll: %d %s", code, body)
	}
	chain := e.chain(body)
	leaf := chain[0]
	if leaf.Subject.CommonName != "billing-batch" || len(leaf.URIs) != 1 ||
		leaf.URIs[0].String() != tk.Identity || len(leaf.DNSNames) != 0 {
		t.Fatalf("enrolled cert names: CN %q URIs %v DNS %v", leaf.Subject.CommonName, leaf.URIs, leaf.DNSNames)
	}
	checkSVID(t, e, chain, key)
	opensslCheck(t, e, chain)

	st, err := e.inv.Identity(ctx, "web1", "billing-batch")
	if err != nil {
		t.Fatal(err)
	}
	if st.Cert == nil || st.Cert.Serial != leaf.SerialNumber.String() {
		t.Fatalf("inventory cert %+v", st.Cert)
	}

	// Renew over mTLS: same identity, same key, new serial.
	cl := e.client(key, chain, false)
	code, body = e.post(cl, "/1.0/renew", nil)
	if code != http.StatusCreated {
		t.Fatalf("renew: %d %s", code, body)
	}
	renewed := e.chain(body)
	if renewed[0].SerialNumber.Cmp(leaf.SerialNumber) == 0 || renewed[0].URIs[0].String() != tk.Identity ||
		!renewed[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
		t.Error("renewed cert: identity or key changed, or same serial")
	}
	if st, _ := e.inv.Identity(ctx, "web1", "billing-batch"); st.Cert.Serial != renewed[0].SerialNumber.String() {
		t.Errorf("inventory not updated after renewal: %+v", st.Cert)
	}
	// The path step clients use.
	current := renewed
	if code, body := e.post(e.client(key, renewed, true), "/renew", nil); code != http.StatusCreated {
		t.Errorf("POST /renew: %d %s", code, body)
	} else {
		current = e.chain(body)
	}

	// Rekey with the current cert ("renewed" has a successor now, and one
	// certificate gets one successor: see TestRekeyIdempotent).
	newKey := catest.Key(t, "OKP", 0)
	code, body = e.post(e.client(key, current, false), "/1.0/rekey", map[string]string{"csr": csrPEM(catest.CSR(t, newKey, "x"))})
	if code != http.StatusCreated {
		t.Fatalf("rekey: %d %s", code, body)
	}
	rekeyed := e.chain(body)
	if !rekeyed[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(newKey.Public()) || rekeyed[0].URIs[0].String() != tk.Identity {
		t.Error("rekeyed cert: wrong key or identity")
	}

	// Revoke by identity: the current (rekeyed) cert.
	res, err := e.iss.Revoke(audit.WithActor(ctx, "operator:alice"), issuer.RevokeRequest{Host: "web1", Account: "billing-batch", Reason: "keyCompromise"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Serials) != 1 || res.Serials[0] != rekeyed[0].SerialNumber.String() {
		t.Fatalf("revoked %v", res.Serials)
	}
	code, body = e.post(e.client(newKey, rekeyed, false), "/1.0/renew", nil)
	if code != http.StatusUnauthorized || !strings.Contains(errBody(t, body).Error, "revoked") {
		t.Errorf("renew revoked cert: %d %s", code, body)
	}
	// An older, unrevoked cert of the revoked identity cannot renew either.
	code, body = e.post(e.client(key, renewed, false), "/1.0/renew", nil)
	if er := errBody(t, body); code != http.StatusForbidden || !strings.Contains(er.Error, "was revoked") || !strings.Contains(er.Hint, "roster enroll billing-batch --host web1") {
		t.Errorf("renew older cert of revoked identity: %d %s", code, body)
	}
	// The CRL lists it.
	resp, err := e.client(nil, nil, false).Get(e.url + "/crl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	der := make([]byte, 0, 4096)
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		der = append(der, buf[:n]...)
		if err != nil {
			break
		}
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(rekeyed[0].SerialNumber) != 0 {
		t.Errorf("CRL entries %v", crl.RevokedCertificateEntries)
	}
	if _, err := e.iss.Revoke(ctx, issuer.RevokeRequest{Host: "web1", Account: "billing-batch"}); !errors.Is(err, issuer.ErrNothingToRevoke) {
		t.Errorf("second revoke: %v", err)
	}

	// Enrolling again after revocation works.
	e.enroll("web1", "billing-batch")

	// Audit: every step, no secret.
	trail := e.audits()
	for _, want := range []string{
		"enroll.token.create ok web1/billing-batch",
		"enroll.token.use ok web1/billing-batch",
		"cert.issue ok web1/billing-batch",
		"cert.renew ok web1/billing-batch",
		"cert.revoke ok web1/billing-batch serial=" + rekeyed[0].SerialNumber.String() + " keyCompromise",
		"cert.renew refused web1/billing-batch serial=" + rekeyed[0].SerialNumber.String() + " client certificate has been revoked",
		"cert.renew refused web1/billing-batch serial=" + renewed[0].SerialNumber.String() + " the certificate of account billing-batch on host web1 was revoked",
	} {
		if !strings.Contains(trail, want) {
			t.Errorf("trail lacks %q:\n%s", want, trail)
		}
	}
	if _, err := audit.Verify(ctx, e.inv); err != nil {
		t.Error(err)
	}
	e.AssertNoSecret(t, tk.Token)
}

func checkSVID(t *testing.T, e *env, chain []*x509.Certificate, key any) {
	t.Helper()
	var certPEM []byte
	for _, c := range chain {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	kb, err := pemutil.Serialize(key, pemutil.WithPKCS8(true))
	if err != nil {
		t.Fatal(err)
	}
	svid, err := x509svid.Parse(certPEM, pem.EncodeToMemory(kb))
	if err != nil {
		t.Fatalf("go-spiffe does not accept the leaf as an X.509 SVID: %v", err)
	}
	if svid.ID.String() != chain[0].URIs[0].String() {
		t.Errorf("SVID ID %s", svid.ID)
	}
	bundle := x509bundle.FromX509Authorities(spiffeid.RequireTrustDomainFromString(e.ca.TrustDomain()), []*x509.Certificate{e.ca.Root()})
	if _, _, err := x509svid.Verify(chain, bundle); err != nil {
		t.Errorf("x509svid.Verify: %v", err)
	}
}

func opensslCheck(t *testing.T, e *env, chain []*x509.Certificate) {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl not installed")
		}
		t.Log("openssl not installed: skipping openssl checks")
		return
	}
	dir := t.TempDir()
	leaf, inter := filepath.Join(dir, "leaf.crt"), filepath.Join(dir, "inter.crt")
	os.WriteFile(leaf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0].Raw}), 0o644)
	os.WriteFile(inter, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[1].Raw}), 0o644)
	out, err := exec.Command(openssl, "verify", "-CAfile", e.ca.RootPath(), "-untrusted", inter, leaf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Errorf("openssl verify: %v\n%s", err, out)
	}
	out, err = exec.Command(openssl, "x509", "-in", leaf, "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"URI:" + chain[0].URIs[0].String(), "Not Before", "Not After", "TLS Web Client Authentication", "CN=billing-batch"} {
		if !strings.Contains(strings.ReplaceAll(string(out), " = ", "="), want) {
			t.Errorf("openssl x509 -text lacks %q", want)
		}
	}
}

func TestRenewRefused(t *testing.T) {
	tests := []struct {
		desc     string
		setup    func(t *testing.T, e *env) (key crypto.Signer, chain []*x509.Certificate)
		code     int
		wantErr  string
		wantHint string
	}{
		{"no client certificate", func(t *testing.T, e *env) (crypto.Signer, []*x509.Certificate) {
			return nil, nil
		}, 401, "client certificate is required", ""},
		{"expired certificate", func(t *testing.T, e *env) (crypto.Signer, []*x509.Certificate) {
			k, c := e.enroll("web1", "billing-batch")
			e.clock.Advance(c[0].NotAfter.Sub(e.clock.Now()) + time.Second)
			return k, c
		}, 401, "client certificate has expired", "roster enroll"},
		{"certificate from another CA", func(t *testing.T, e *env) (crypto.Signer, []*x509.Certificate) {
			other := catest.New(t, catest.Options{})
			k := catest.Key(t, "EC", 0)
			id := ca.Identity{URI: mustID(t, "web1", "billing-batch").URL(), CommonName: "billing-batch"}
			c, err := other.Sign(context.Background(), catest.CSR(t, k, "x"), id, 0)
			if err != nil {
				t.Fatal(err)
			}
			return k, c
		}, 401, "not issued by this roster CA", "root fingerprint"},
		{"revoked certificate", func(t *testing.T, e *env) (crypto.Signer, []*x509.Certificate) {
			k, c := e.enroll("web1", "billing-batch")
			if _, err := e.iss.Revoke(context.Background(), issuer.RevokeRequest{Serial: c[0].SerialNumber.String(), Reason: "test"}); err != nil {
				t.Fatal(err)
			}
			// Revoked by serial, recorded on the identity the CA names.
			if s, err := e.inv.Identity(context.Background(), "web1", "billing-batch"); err != nil || s.Cert == nil || s.Cert.RevokedAt == nil {
				t.Fatalf("inventory after revoking by serial: %+v, %v", s.Cert, err)
			}
			return k, c
		}, 401, "has been revoked", ""},
		{"owner removed", func(t *testing.T, e *env) (crypto.Signer, []*x509.Certificate) {
			k, c := e.enroll("web1", "billing-batch")
			if err := e.inv.UnsetOwner(context.Background(), "billing-batch"); err != nil {
				t.Fatal(err)
			}
			return k, c
		}, 403, "account billing-batch has no owner", "roster owner set billing-batch OWNER"},
		{"account retired", func(t *testing.T, e *env) (crypto.Signer, []*x509.Certificate) {
			k, c := e.enroll("web1", "billing-batch")
			if err := e.inv.RetireAccount(context.Background(), "billing-batch", true, "decommissioned"); err != nil {
				t.Fatal(err)
			}
			return k, c
		}, 403, "account billing-batch is retired", ""},
		{"account gone from host", func(t *testing.T, e *env) (crypto.Signer, []*x509.Certificate) {
			k, c := e.enroll("web1", "billing-batch")
			e.ingest("web1", "nobody-owns", "legacy")
			return k, c
		}, 403, "account billing-batch is gone from host web1", "rescan"},
		{"shared across environments", func(t *testing.T, e *env) (crypto.Signer, []*x509.Certificate) {
			k, c := e.enroll("web1", "billing-batch")
			e.ingest("db1", "billing-batch")
			ctx := context.Background()
			if err := e.inv.TagHost(ctx, "web1", []string{"env=prod"}, nil); err != nil {
				t.Fatal(err)
			}
			if err := e.inv.TagHost(ctx, "db1", []string{"env=dev"}, nil); err != nil {
				t.Fatal(err)
			}
			e.owner("billing-batch@prod", "payments-team") // regrouped by env: owner per group
			st, _ := e.inv.Identity(ctx, "web1", "billing-batch")
			if !st.SharedAcrossEnvs {
				t.Fatalf("inventory did not flag billing-batch as shared across envs: %+v", st)
			}
			return k, c
		}, 403, "shared across environments", "split"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			e := newEnv(t, true)
			key, chain := tt.setup(t, e)
			var cl *http.Client
			if key != nil {
				cl = e.client(key, chain, false)
			} else {
				cl = e.client(nil, nil, false)
			}
			code, body := e.post(cl, "/1.0/renew", nil)
			er := errBody(t, body)
			if code != tt.code || !strings.Contains(er.Error, tt.wantErr) || !strings.Contains(er.Hint, tt.wantHint) {
				t.Errorf("got %d %+v, want %d %q hint %q", code, er, tt.code, tt.wantErr, tt.wantHint)
			}
			if !strings.Contains(e.audits(), "cert.renew refused") {
				t.Errorf("refusal not audited:\n%s", e.audits())
			}
		})
	}
}

func mustID(t testing.TB, host, account string) issuer.ID {
	id, err := issuer.NewID("roster.local", host, account)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestEnrollTokens(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	tk, err := e.iss.CreateEnrollToken(ctx, "web1", "billing-batch", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cl := e.client(nil, nil, false)
	csr := csrPEM(catest.CSR(t, catest.Key(t, "EC", 0), "x"))

	// A bad CSR does not burn the token.
	code, body := e.post(cl, "/v1/enroll", map[string]string{"token": tk.Token, "csr": "garbage"})
	if code != 400 || strings.Contains(string(body), tk.Token[4:20]) {
		t.Errorf("bad csr: %d %s", code, body)
	}
	rsa2048 := csrPEM(catest.CSR(t, catest.Key(t, "RSA", 2048), "x"))
	if code, body := e.post(cl, "/v1/enroll", map[string]string{"token": tk.Token, "csr": rsa2048}); code != 400 || !strings.Contains(string(body), "3072") {
		t.Errorf("rsa 2048: %d %s", code, body)
	}
	if code, body := e.post(cl, "/v1/enroll", map[string]string{"token": tk.Token, "csr": csr}); code != 201 {
		t.Fatalf("enroll: %d %s", code, body)
	}
	// Replay.
	code, body = e.post(cl, "/v1/enroll", map[string]string{"token": tk.Token, "csr": csr})
	if er := errBody(t, body); code != 401 || er.Error != "enrollment token has already been used" {
		t.Errorf("replay: %d %s", code, body)
	}
	if strings.Contains(string(body), tk.Token[4:20]) {
		t.Error("response echoes the token")
	}
	// Unknown and malformed tokens.
	for _, tok := range []string{"ret_" + strings.Repeat("A", 43), "not-a-token", ""} {
		code, body = e.post(cl, "/v1/enroll", map[string]string{"token": tok, "csr": csr})
		if code == 201 || (tok != "" && strings.Contains(string(body), tok)) {
			t.Errorf("token %q: %d %s", tok, code, body)
		}
	}
	// Expired.
	tk2, err := e.iss.CreateEnrollToken(ctx, "web1", "billing-batch", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	code, body = e.post(cl, "/v1/enroll", map[string]string{"token": tk2.Token, "csr": csr})
	if er := errBody(t, body); code != 401 || er.Error != "enrollment token has expired" {
		t.Errorf("expired: %d %s", code, body)
	}
	trail := e.audits()
	for _, want := range []string{
		// A used or expired token still names its identity; an unknown or
		// malformed one cannot.
		"enroll.token.use refused web1/billing-batch serial= enrollment token has already been used",
		"enroll.token.use refused web1/billing-batch serial= enrollment token has expired",
		"enroll.token.use refused / serial= enrollment token is not known",
		"enroll.token.use refused / serial= enrollment token is malformed",
	} {
		if !strings.Contains(trail, want) {
			t.Errorf("trail lacks %q:\n%s", want, trail)
		}
	}
	e.AssertNoSecret(t, tk.Token)
	e.AssertNoSecret(t, tk2.Token)
}

// Exactly one of many concurrent redemptions of a token wins.
func TestEnrollTokenRace(t *testing.T) {
	e := newEnv(t, true)
	tk, err := e.iss.CreateEnrollToken(context.Background(), "web1", "billing-batch", 0)
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			csr := csrPEM(catest.CSR(t, catest.Key(t, "EC", 0), "x"))
			code, _ := e.post(e.client(nil, nil, false), "/v1/enroll", map[string]string{"token": tk.Token, "csr": csr})
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	won := 0
	for c := range codes {
		switch c {
		case 201:
			won++
		case 401:
		default:
			t.Errorf("status %d", c)
		}
	}
	if won != 1 {
		t.Errorf("%d redemptions won, want exactly 1", won)
	}
}

func TestKeyTypes(t *testing.T) {
	e := newEnv(t, true)
	for _, kt := range []struct {
		kty  string
		size int
		code int
	}{{"EC", 0, 201}, {"OKP", 0, 201}, {"RSA", 3072, 201}, {"RSA", 2048, 400}} {
		tk, err := e.iss.CreateEnrollToken(context.Background(), "web1", "billing-batch", 0)
		if err != nil {
			t.Fatal(err)
		}
		code, body := e.post(e.client(nil, nil, false), "/v1/enroll", map[string]string{"token": tk.Token, "csr": csrPEM(catest.CSR(t, catest.Key(t, kt.kty, kt.size), "x"))})
		if code != kt.code {
			t.Errorf("%s %d: %d %s", kt.kty, kt.size, code, body)
		}
	}
}

func TestErrorResponses(t *testing.T) {
	e := newEnv(t, true)
	cl := e.client(nil, nil, false)
	big := strings.Repeat("x", 70<<10)
	for _, tt := range []struct {
		desc string
		body any
		code int
		want string
	}{
		{"not json", "just a string", 400, "not a JSON object"},
		{"too big", map[string]string{"token": big}, 400, "larger than"},
		{"no token", map[string]string{"csr": "x"}, 400, `"token" is missing`},
		{"csr not pem", map[string]string{"token": "ret_x", "csr": "x"}, 400, "no PEM block"},
	} {
		code, body := e.post(cl, "/v1/enroll", tt.body)
		er := errBody(t, body)
		if code != tt.code || !strings.Contains(er.Error, tt.want) || er.Status != code || er.Message != er.Error {
			t.Errorf("%s: %d %s", tt.desc, code, body)
		}
	}
}

func TestServerAuthOnRequest(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	// Default: refused, and the token is spent (the refusal is audited).
	tk, err := e.iss.CreateEnrollToken(ctx, "web1", "billing-batch", 0)
	if err != nil {
		t.Fatal(err)
	}
	csr := csrPEM(catest.CSR(t, catest.Key(t, "EC", 0), "x"))
	code, body := e.post(e.client(nil, nil, false), "/v1/enroll", map[string]any{"token": tk.Token, "csr": csr, "server_auth": true})
	if code != 403 || !strings.Contains(errBody(t, body).Error, "serverAuth is not allowed for account billing-batch on host web1") {
		t.Errorf("default: %d %s", code, body)
	}
}

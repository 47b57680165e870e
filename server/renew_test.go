package server

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.step.sm/crypto/keyutil"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/ca/catest"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
)

// reopen closes the env's CA and opens it again from its directory with
// opts, as a restart of the server with other flags does, and returns an
// issuer over the new CA and the same inventory.
func (e *env) reopen(opts ca.Options, tiers map[inventory.Tier]time.Duration) *issuer.Issuer {
	e.t.Helper()
	dir := e.ca.Dir()
	if err := e.ca.Close(); err != nil {
		e.t.Fatal(err)
	}
	opts.Now = e.clock.Now
	c, err := ca.Open(dir, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	e.ca = c
	iss, err := issuer.New(issuer.Config{CA: c, Inventory: e.inv, Now: e.clock.Now, TierValidity: tiers,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		e.t.Fatal(err)
	}
	return iss
}

func lifetime(c *x509.Certificate) time.Duration { return c.NotAfter.Sub(c.NotBefore) }

// Item 7 of issue 15: after a restart with --max-validity 30m, renewing a
// 1-hour certificate gave 61 minutes. Every renewal and rekey applies the
// validity in force: the tier's, else the CA's default, within its bounds.
func TestRenewAppliesPolicyInForce(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	_, chain := e.enroll("web1", "billing-batch")
	if got := lifetime(chain[0]); got < time.Hour {
		t.Fatalf("enrolled lifetime %s, want 1h", got)
	}
	iss := e.reopen(ca.Options{MinValidity: time.Second, DefaultValidity: 30 * time.Minute, MaxValidity: 30 * time.Minute}, nil)
	renewed, err := iss.Renew(ctx, chain)
	if err != nil {
		t.Fatal(err)
	}
	if got := lifetime(renewed[0]); got > 30*time.Minute+ca.DefaultBackdate {
		t.Errorf("renewal under a 30m maximum: lifetime %s, want at most 30m + %s backdate", got, ca.DefaultBackdate)
	}
	rekeyed, err := iss.Rekey(ctx, renewed, catest.CSR(t, catest.Key(t, "EC", 0), "x"))
	if err != nil {
		t.Fatal(err)
	}
	if got := lifetime(rekeyed[0]); got > 30*time.Minute+ca.DefaultBackdate {
		t.Errorf("rekey under a 30m maximum: lifetime %s", got)
	}

	// The tier's validity, when one is set, applies to renewals too.
	st, err := e.inv.Identity(ctx, "web1", "billing-batch")
	if err != nil {
		t.Fatal(err)
	}
	iss = e.reopen(ca.Options{MinValidity: time.Second, DefaultValidity: time.Hour, MaxValidity: 2 * time.Hour},
		map[inventory.Tier]time.Duration{st.Tier: 10 * time.Minute})
	again, err := iss.Renew(ctx, rekeyed)
	if err != nil {
		t.Fatal(err)
	}
	if got := lifetime(again[0]); got < 10*time.Minute || got > 10*time.Minute+ca.DefaultBackdate+time.Second {
		t.Errorf("renewal with a 10m tier validity: lifetime %s", got)
	}
}

// Item 11 of issue 15: P-384 keys were accepted although the README (and
// the CA's own message) said P-256. They are refused, at enrollment and at
// rekey, with a message naming what is accepted.
func TestP384Refused(t *testing.T) {
	e := newEnv(t, true)
	k384, err := keyutil.GenerateSigner("EC", "P-384", 0)
	if err != nil {
		t.Fatal(err)
	}
	csr := csrPEM(catest.CSR(t, k384, "x"))
	tk, err := e.iss.CreateEnrollToken(context.Background(), "web1", "billing-batch", 0)
	if err != nil {
		t.Fatal(err)
	}
	code, body := e.post(e.client(nil, nil, false), "/v1/enroll", map[string]string{"token": tk.Token, "csr": csr})
	er := errBody(t, body)
	if code != http.StatusBadRequest || !strings.Contains(er.Error, "ECDSA P-384 (ECDSA keys must use P-256") || !strings.Contains(er.Hint, "P-256") {
		t.Errorf("enroll with P-384: %d %+v", code, er)
	}
	key, chain := e.enroll("web1", "billing-batch")
	code, body = e.post(e.client(key, chain, false), "/1.0/rekey", map[string]string{"csr": csr})
	if er := errBody(t, body); code != http.StatusBadRequest || !strings.Contains(er.Error, "P-384") {
		t.Errorf("rekey to P-384: %d %+v", code, er)
	}
}

// renewHTTP renews over mTLS with chain and key and returns the status and
// the new chain (nil unless 201) or the error body.
func (e *env) renewHTTP(key crypto.Signer, chain []*x509.Certificate) (int, []*x509.Certificate, api.Error) {
	e.t.Helper()
	code, body := e.post(e.client(key, chain, false), "/1.0/renew", nil)
	if code != http.StatusCreated {
		return code, nil, errBody(e.t, body)
	}
	return code, e.chain(body), api.Error{}
}

// Item 10 of issue 15: 30 parallel renewals with one certificate returned
// 30 certificates. Renewal is idempotent per certificate: one successor,
// handed to every renewal of that certificate; a certificate two
// generations behind is refused, audited and flagged as a possible theft.
func TestRenewIdempotent(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	key, c0 := e.enroll("web1", "billing-batch")

	const n = 30
	var wg sync.WaitGroup
	results := make([][]*x509.Certificate, n)
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], results[i], _ = e.renewHTTP(key, c0)
		}()
	}
	wg.Wait()
	serials := map[string]bool{}
	for i := range n {
		if codes[i] != http.StatusCreated {
			t.Fatalf("parallel renewal %d: status %d", i, codes[i])
		}
		serials[results[i][0].SerialNumber.String()] = true
		if !bytes.Equal(results[i][0].Raw, results[0][0].Raw) {
			t.Errorf("parallel renewal %d: other bytes", i)
		}
	}
	if len(serials) != 1 {
		t.Fatalf("%d parallel renewals of one certificate gave %d serials, want 1", n, len(serials))
	}
	c1 := results[0]
	if c1[0].SerialNumber.Cmp(c0[0].SerialNumber) == 0 {
		t.Fatal("renewal returned the certificate presented")
	}
	st, err := e.inv.Identity(ctx, "web1", "billing-batch")
	if err != nil {
		t.Fatal(err)
	}
	if st.Cert.Serial != c1[0].SerialNumber.String() || st.Cert.Previous != c0[0].SerialNumber.String() {
		t.Errorf("inventory: current %s from %s, want %s from %s", st.Cert.Serial, st.Cert.Previous, c1[0].SerialNumber, c0[0].SerialNumber)
	}

	// A lost response: renewing c0 again gets c1 back, byte for byte.
	if code, again, _ := e.renewHTTP(key, c0); code != http.StatusCreated || !bytes.Equal(again[0].Raw, c1[0].Raw) {
		t.Errorf("renewing the renewed certificate again: %d, want c1 back", code)
	}
	// The line moves on: c1 renews to c2, and c1 again gets c2.
	_, c2, _ := e.renewHTTP(key, c1)
	if c2 == nil || c2[0].SerialNumber.Cmp(c1[0].SerialNumber) == 0 {
		t.Fatal("renewing c1 did not give a new certificate")
	}
	if _, again, _ := e.renewHTTP(key, c1); again == nil || !bytes.Equal(again[0].Raw, c2[0].Raw) {
		t.Error("renewing c1 again did not give c2 back")
	}

	// c0 is now two generations behind: refused, audited, flagged.
	code, _, er := e.renewHTTP(key, c0)
	if code != http.StatusForbidden || !strings.Contains(er.Error, "possible key theft") || !strings.Contains(er.Hint, "roster revoke billing-batch --host web1") {
		t.Errorf("renewing the grandparent: %d %+v", code, er)
	}
	_, err = e.iss.Renew(ctx, c0)
	var re *issuer.ReuseError
	if !errors.As(err, &re) || re.Serial != c0[0].SerialNumber.String() || re.Current != c2[0].SerialNumber.String() {
		t.Errorf("in process: %v (%+v)", err, re)
	}
	if trail := e.audits(); strings.Count(trail, "cert.reuse refused web1/billing-batch serial="+c0[0].SerialNumber.String()) != 2 {
		t.Errorf("reuse not audited once per attempt:\n%s", trail)
	}
	st, _ = e.inv.Identity(ctx, "web1", "billing-batch")
	if st.Cert.ReuseDetectedAt == nil || st.Cert.ReuseSerial != c0[0].SerialNumber.String() {
		t.Errorf("identity not flagged: %+v", st.Cert)
	}
	a, err := e.inv.GetAccount(ctx, "billing-batch")
	if err != nil {
		t.Fatal(err)
	}
	if c := a.Instances[0].Cert; c == nil || c.ReuseDetectedAt == nil {
		t.Errorf("account report does not show the reuse: %+v", c)
	}
	hist, err := e.inv.AccountHistory(ctx, "billing-batch")
	if err != nil {
		t.Fatal(err)
	}
	reuses := 0
	for _, ev := range hist {
		if ev.Kind == inventory.EventCertReuse {
			reuses++
			if !strings.Contains(ev.Detail, c0[0].SerialNumber.String()) || ev.Host != "web1" {
				t.Errorf("reuse event %+v", ev)
			}
		}
	}
	if reuses != 1 {
		t.Errorf("%d reuse events, want 1 (one per stale certificate)", reuses)
	}

	// The legitimate line keeps renewing, and keeps the flag until the
	// identity is enrolled again.
	_, c3, _ := e.renewHTTP(key, c2)
	if c3 == nil {
		t.Fatal("current certificate refused after a reuse")
	}
	if st, _ := e.inv.Identity(ctx, "web1", "billing-batch"); st.Cert.ReuseDetectedAt == nil {
		t.Error("renewal cleared the reuse flag")
	}
	e.enroll("web1", "billing-batch")
	if st, _ := e.inv.Identity(ctx, "web1", "billing-batch"); st.Cert.ReuseDetectedAt != nil || st.Cert.Previous != "" {
		t.Errorf("enrollment kept the old line's state: %+v", st.Cert)
	}
	// The enrollment replaced the whole line: c3 is refused too.
	if code, _, _ := e.renewHTTP(key, c3); code != http.StatusForbidden {
		t.Errorf("certificate of the replaced line: %d, want 403", code)
	}
}

// Rekey follows the same rule: one successor per certificate, the same
// answer for the same key, a refusal for another key (that would be a
// second line grown from one certificate), and reuse detection.
func TestRekeyIdempotent(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	_, c0 := e.enroll("web1", "billing-batch")
	k1 := catest.Key(t, "EC", 0)
	csr1 := catest.CSR(t, k1, "x")

	const n = 10
	var wg sync.WaitGroup
	got := make([][]*x509.Certificate, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = e.iss.Rekey(ctx, c0, csr1)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("parallel rekey %d: %v", i, errs[i])
		}
		if !bytes.Equal(got[i][0].Raw, got[0][0].Raw) {
			t.Fatalf("parallel rekeys with one key gave different certificates")
		}
	}
	c1 := got[0]
	if !c1[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(k1.Public()) {
		t.Fatal("rekeyed certificate lacks the new key")
	}
	// Another key for the same certificate: refused, nothing issued.
	_, err := e.iss.Rekey(ctx, c0, catest.CSR(t, catest.Key(t, "EC", 0), "x"))
	var de *issuer.DeniedError
	if !errors.As(err, &de) || !strings.Contains(de.Error(), "already renewed") {
		t.Errorf("rekey of a rekeyed certificate with another key: %v", err)
	}
	if st, _ := e.inv.Identity(ctx, "web1", "billing-batch"); st.Cert.Serial != c1[0].SerialNumber.String() {
		t.Errorf("current certificate changed to %s", st.Cert.Serial)
	}
	// A plain renewal of c0 gets c1 as well.
	if again, err := e.iss.Renew(ctx, c0); err != nil || !bytes.Equal(again[0].Raw, c1[0].Raw) {
		t.Errorf("renew of the rekeyed certificate: %v", err)
	}
	c2, err := e.iss.Rekey(ctx, c1, catest.CSR(t, catest.Key(t, "OKP", 0), "x"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.iss.Rekey(ctx, c0, csr1)
	var re *issuer.ReuseError
	if !errors.As(err, &re) || re.Current != c2[0].SerialNumber.String() {
		t.Errorf("rekey with the grandparent: %v", err)
	}
	if !strings.Contains(e.audits(), "cert.reuse refused web1/billing-batch serial="+c0[0].SerialNumber.String()) {
		t.Errorf("rekey reuse not audited:\n%s", e.audits())
	}
}

// A host identity follows the same rule; its flag is on the host record.
func TestHostRenewReuse(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	_, h0 := e.enroll("web1", "")
	h1, err := e.iss.Renew(ctx, h0)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := e.iss.Renew(ctx, h0); err != nil || !bytes.Equal(again[0].Raw, h1[0].Raw) {
		t.Fatalf("host renewal replay: %v", err)
	}
	if _, err := e.iss.Renew(ctx, h1); err != nil {
		t.Fatal(err)
	}
	_, err = e.iss.Renew(ctx, h0)
	var re *issuer.ReuseError
	if !errors.As(err, &re) || re.Account != "" || !strings.Contains(re.Hint(), "roster revoke --host web1") {
		t.Fatalf("host grandparent: %v", err)
	}
	h, err := e.inv.GetHost(ctx, "web1")
	if err != nil {
		t.Fatal(err)
	}
	if h.Cert == nil || h.Cert.ReuseDetectedAt == nil || h.Cert.ReuseSerial != h0[0].SerialNumber.String() {
		t.Errorf("host record not flagged: %+v", h.Cert)
	}
	if !strings.Contains(e.audits(), "cert.reuse refused web1/ serial="+h0[0].SerialNumber.String()) {
		t.Errorf("host reuse not audited:\n%s", e.audits())
	}
}

// Two servers sharing one store do not share the issuer's per-identity
// lock: the check-and-set that records a renewal decides, the loser revokes
// the certificate it signed and answers with the winner's.
func TestRenewIdempotentAcrossServers(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	_, c0 := e.enroll("web1", "billing-batch")
	other, err := issuer.New(issuer.Config{CA: e.ca, Inventory: e.inv, Now: e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	got := make([][]*x509.Certificate, n)
	errs := make([]error, n)
	for i := range n {
		iss := e.iss
		if i%2 == 1 {
			iss = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = iss.Renew(ctx, c0)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("renewal %d: %v", i, errs[i])
		}
		if !bytes.Equal(got[i][0].Raw, got[0][0].Raw) {
			t.Fatalf("renewals through two servers gave different certificates")
		}
	}
	st, err := e.inv.Identity(ctx, "web1", "billing-batch")
	if err != nil {
		t.Fatal(err)
	}
	if st.Cert.Serial != got[0][0].SerialNumber.String() {
		t.Errorf("inventory holds %s, renewals answered %s", st.Cert.Serial, got[0][0].SerialNumber)
	}
	if revoked, _ := e.ca.IsRevoked(st.Cert.Serial); revoked {
		t.Error("the recorded successor was revoked")
	}
}

// Item 11 of issue 15: the refusal of an expired (or revoked) client
// certificate names the identity and the exact command that enrolls it
// again.
func TestExpiredRefusalNamesIdentity(t *testing.T) {
	for _, tt := range []struct {
		desc, account, label, command string
		revoke                        bool
	}{
		{"expired account certificate", "billing-batch", "account billing-batch on host web1", "roster enroll billing-batch --host web1", false},
		{"expired host certificate", "", "host web1", "roster enroll --host web1", false},
		{"revoked account certificate", "billing-batch", "account billing-batch on host web1", "roster enroll billing-batch --host web1", true},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			e := newEnv(t, true)
			key, chain := e.enroll("web1", tt.account)
			want := "client certificate has expired"
			if tt.revoke {
				want = "client certificate has been revoked"
				if _, err := e.iss.Revoke(context.Background(), issuer.RevokeRequest{Serial: chain[0].SerialNumber.String()}); err != nil {
					t.Fatal(err)
				}
			} else {
				e.clock.Advance(chain[0].NotAfter.Sub(e.clock.Now()) + time.Second)
			}
			code, _, er := e.renewHTTP(key, chain)
			if code != http.StatusUnauthorized || !strings.Contains(er.Error, want) || !strings.Contains(er.Error, tt.label) ||
				!strings.HasSuffix(er.Hint, tt.command) {
				t.Errorf("got %d %q hint %q, want %q naming %q and hint ending %q", code, er.Error, er.Hint, want, tt.label, tt.command)
			}
		})
	}
}

// A used or expired enrollment token names the identity in its hint too.
func TestUsedTokenHintNamesIdentity(t *testing.T) {
	e := newEnv(t, true)
	tk, err := e.iss.CreateEnrollToken(context.Background(), "web1", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	csr := catest.CSR(t, catest.Key(t, "EC", 0), "x")
	if _, err := e.iss.Enroll(context.Background(), tk.Token, csr, false); err != nil {
		t.Fatal(err)
	}
	_, err = e.iss.Enroll(context.Background(), tk.Token, csr, false)
	var ae *issuer.AuthError
	if !errors.As(err, &ae) || !strings.HasSuffix(ae.Hint(), "roster enroll --host web1") {
		t.Errorf("used token: %v (hint %q)", err, hintText(err))
	}
}

func hintText(err error) string {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smallstep/certificates/authority/provisioner"
	"go.step.sm/crypto/keyutil"
	"go.step.sm/crypto/x509util"

	catest "github.com/rosterhq/roster/ca/internal/csrtest"
)

// newCA opens a fresh CA in a temp dir with test validity bounds (ca's
// internal tests cannot import ca/catest).
func newCA(t testing.TB, opts Options) *CA {
	t.Helper()
	if opts.MinValidity == 0 {
		opts.MinValidity = time.Second
	}
	c := initOpen(t, t.TempDir(), opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// initOpen initialises dir and opens it; the caller closes.
func initOpen(t testing.TB, dir string, opts Options) *CA {
	t.Helper()
	if err := Init(dir, InitOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func identity(t testing.TB, td, host, account string) Identity {
	t.Helper()
	u, err := url.Parse("spiffe://" + td + "/host/" + host + "/sa/" + account)
	if err != nil {
		t.Fatal(err)
	}
	return Identity{URI: u, CommonName: account}
}

func TestInitLayoutAndModes(t *testing.T) {
	dir := t.TempDir()
	if IsInitialized(dir) {
		t.Fatal("empty dir reported initialised")
	}
	if err := Init(dir, InitOptions{TrustDomain: "example.org"}); err != nil {
		t.Fatal(err)
	}
	if !IsInitialized(dir) {
		t.Fatal("not initialised after Init")
	}
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{
		{rootKeyFile, 0o600}, {interKeyFile, 0o600}, {secretsDir, 0o700 | os.ModeDir},
		{rootCertFile, 0o644}, {interCertFile, 0o644}, {manifestFile, 0o644},
	} {
		st, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.name, st.Mode(), f.mode)
		}
	}
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.TrustDomain() != "example.org" {
		t.Errorf("trust domain %q", c.TrustDomain())
	}
	if got := Fingerprint(c.Root()); got != c.RootFingerprint() || len(got) != 64 || strings.ToLower(got) != got {
		t.Errorf("fingerprint %q", got)
	}
	if err := c.Intermediate().CheckSignatureFrom(c.Root()); err != nil {
		t.Error(err)
	}
	if k, ok := c.Root().PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("root key %T, want ECDSA P-256", c.Root().PublicKey)
	}
	// Init never overwrites.
	if err := Init(dir, InitOptions{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second Init: %v", err)
	}
}

func TestOpenRefusesDamagedOrForeignDir(t *testing.T) {
	mk := func(t *testing.T) string {
		dir := t.TempDir()
		if err := Init(dir, InitOptions{}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	other := mk(t)
	tests := []struct {
		desc    string
		damage  func(t *testing.T, dir string)
		wantErr string
	}{
		{"manifest missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, manifestFile))
		}, "not initialised"},
		{"manifest garbage", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, manifestFile), []byte("{nope"), 0o644)
		}, "damaged"},
		{"manifest of something else", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, manifestFile), []byte(`{"kind":"other","version":1}`), 0o644)
		}, "not a roster CA manifest"},
		{"future version", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, manifestFile))
			os.WriteFile(filepath.Join(dir, manifestFile), bytes.Replace(b, []byte(`"version": 1`), []byte(`"version": 9`), 1), 0o644)
		}, "unsupported version 9"},
		{"foreign root", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(other, rootCertFile))
			os.WriteFile(filepath.Join(dir, rootCertFile), b, 0o644)
		}, "foreign or replaced root"},
		{"foreign intermediate key", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(other, interKeyFile))
			os.WriteFile(filepath.Join(dir, interKeyFile), b, 0o600)
		}, "does not belong to"},
		{"intermediate missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, interCertFile))
		}, interCertFile},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := mk(t)
			tt.damage(t, dir)
			c, err := Open(dir, Options{})
			if err == nil {
				c.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
			// And Init must not silently re-initialise it.
			if err := Init(dir, InitOptions{}); err == nil {
				t.Error("Init over a damaged dir succeeded")
			}
		})
	}
}

func TestPassphrase(t *testing.T) {
	dir := t.TempDir()
	pass := []byte("correct horse battery staple")
	if err := Init(dir, InitOptions{Passphrase: pass}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{rootKeyFile, interKeyFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("ENCRYPTED PRIVATE KEY")) {
			t.Errorf("%s is not encrypted", f)
		}
	}
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "passphrase is required") {
		t.Errorf("open without passphrase: %v", err)
	}
	_, err := Open(dir, Options{Passphrase: []byte("wrong")})
	if err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("open with wrong passphrase: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong\"") {
		t.Error("error echoes the passphrase")
	}
	c, err := Open(dir, Options{Passphrase: pass})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestSignUsesIdentityNotCSR(t *testing.T) {
	c := newCA(t, Options{})
	key := catest.Key(t, "EC", 0)
	// The CSR asks for another account's name, DNS, IP, email-ish and URI SANs.
	csr := catest.CSR(t, key, "root", "db.example.com", "10.0.0.1",
		"spiffe://roster.local/host/web1/sa/root", "https://evil.example")
	id := identity(t, c.TrustDomain(), "web1", "billing-batch")
	chain, err := c.Sign(context.Background(), csr, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	leaf := chain[0]
	if len(chain) != 2 || !chain[1].Equal(c.Intermediate()) {
		t.Fatalf("chain %d certs", len(chain))
	}
	if leaf.Subject.CommonName != "billing-batch" {
		t.Errorf("CN %q", leaf.Subject.CommonName)
	}
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != "spiffe://roster.local/host/web1/sa/billing-batch" {
		t.Errorf("URIs %v", leaf.URIs)
	}
	if len(leaf.DNSNames)+len(leaf.IPAddresses)+len(leaf.EmailAddresses) != 0 {
		t.Errorf("names copied from CSR: %v %v %v", leaf.DNSNames, leaf.IPAddresses, leaf.EmailAddresses)
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("EKU %v", leaf.ExtKeyUsage)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature || leaf.IsCA {
		t.Errorf("key usage %v, CA %v", leaf.KeyUsage, leaf.IsCA)
	}
	if got, want := leaf.NotAfter.Sub(leaf.NotBefore), DefaultValidity+DefaultBackdate; got < want-time.Second || got > want+time.Second {
		t.Errorf("lifetime %s, want %s", got, want)
	}
	if err := c.Verify(context.Background(), leaf); err != nil {
		t.Errorf("verify: %v", err)
	}

	id.ServerAuth = true
	chain, err = c.Sign(context.Background(), csr, id, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if eku := chain[0].ExtKeyUsage; len(eku) != 2 {
		t.Errorf("serverAuth on request: EKU %v", eku)
	}
}

func TestSignRefuses(t *testing.T) {
	c := newCA(t, Options{MinValidity: time.Minute, MaxValidity: time.Hour})
	good := catest.CSR(t, catest.Key(t, "EC", 0), "x")
	id := identity(t, c.TrustDomain(), "h", "a")
	bad := *good
	bad.Signature = bytes.Clone(good.Signature)
	bad.Signature[len(bad.Signature)-1] ^= 1
	otherTD := identity(t, "other.example", "h", "a")
	tests := []struct {
		desc     string
		csr      *x509.CertificateRequest
		id       Identity
		validity time.Duration
		want     string
	}{
		{"too short", good, id, time.Second, "validity out of bounds"},
		{"too long", good, id, 2 * time.Hour, "validity out of bounds"},
		{"bad signature", &bad, id, 0, "invalid certificate request"},
		{"rsa 2048", catest.CSR(t, catest.Key(t, "RSA", 2048), "x"), id, 0, "at least 3072"},
		{"foreign trust domain", good, otherTD, 0, "not in trust domain"},
		{"no common name", good, Identity{URI: id.URI}, 0, "no common name"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := c.Sign(context.Background(), tt.csr, tt.id, tt.validity)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	for _, kt := range []struct {
		kty  string
		size int
	}{{"EC", 0}, {"OKP", 0}, {"RSA", 3072}} {
		if _, err := c.Sign(context.Background(), catest.CSR(t, catest.Key(t, kt.kty, kt.size), "x"), id, 0); err != nil {
			t.Errorf("%s key refused: %v", kt.kty, err)
		}
	}
}

// Pitfall 1: the authority, given no validity, computes the lifetime from
// zero times and issues a certificate that is never valid.
func TestSignWithoutValidityPitfall(t *testing.T) {
	c := newCA(t, Options{})
	csr := catest.CSR(t, catest.Key(t, "EC", 0), "x")
	data := x509util.CreateTemplateData("x", []string{"spiffe://roster.local/host/h/sa/x"})
	chain, err := c.auth.SignWithContext(context.Background(), csr, provisioner.SignOptions{},
		templateOption{text: leafTemplate, data: data})
	if err != nil {
		t.Fatal(err)
	}
	if !chain[0].NotBefore.Equal(chain[0].NotAfter) {
		t.Fatalf("pitfall gone? NotBefore %s NotAfter %s", chain[0].NotBefore, chain[0].NotAfter)
	}
	// Sign always passes explicit bounds.
	chain, err = c.Sign(context.Background(), csr, identity(t, c.TrustDomain(), "h", "x"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !chain[0].NotBefore.Before(chain[0].NotAfter) {
		t.Errorf("Sign: NotBefore %s NotAfter %s", chain[0].NotBefore, chain[0].NotAfter)
	}
}

// Pitfall 2: without a template the authority copies the CSR's names.
func TestSignWithoutTemplatePitfall(t *testing.T) {
	c := newCA(t, Options{})
	csr := catest.CSR(t, catest.Key(t, "EC", 0), "root", "evil.example.com")
	now := time.Now()
	chain, err := c.auth.SignWithContext(context.Background(), csr, provisioner.SignOptions{},
		validityModifier{notBefore: now, notAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if chain[0].Subject.CommonName != "root" || len(chain[0].DNSNames) != 1 {
		t.Fatalf("pitfall gone? %v %v", chain[0].Subject, chain[0].DNSNames)
	}
}

// Pitfall 3: x509util.WithTemplate writes the request into the template
// data, so data shared between requests carries one request's CSR into
// another (and races). Sign builds the data per request; the concurrent
// test below runs under -race.
func TestTemplateDataIsPerRequest(t *testing.T) {
	shared := x509util.CreateTemplateData("x", nil)
	csr1 := catest.CSR(t, catest.Key(t, "EC", 0), "first")
	if _, err := x509util.NewCertificate(csr1, x509util.WithTemplate(leafTemplate, shared)); err != nil {
		t.Fatal(err)
	}
	insecure, _ := shared[x509util.InsecureKey].(x509util.TemplateData)
	if cr, _ := insecure[x509util.CertificateRequestKey].(*x509util.CertificateRequest); cr == nil || cr.Subject.CommonName != "first" {
		t.Fatalf("pitfall gone? shared data after one request: %v", shared)
	}
}

func TestConcurrentSign(t *testing.T) {
	c := newCA(t, Options{})
	var wg sync.WaitGroup
	const n = 16
	errs := make(chan error, n)
	serials := sync.Map{}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			account := "acct" + string(rune('a'+i))
			csr := catest.CSR(t, catest.Key(t, "EC", 0), "someone-else")
			chain, err := c.Sign(context.Background(), csr, identity(t, c.TrustDomain(), "h", account), 0)
			if err != nil {
				errs <- err
				return
			}
			if chain[0].Subject.CommonName != account || chain[0].URIs[0].Path != "/host/h/sa/"+account {
				errs <- errors.New("identity crossed between requests: " + account + " got " + chain[0].URIs[0].String())
			}
			if _, dup := serials.LoadOrStore(chain[0].SerialNumber.String(), true); dup {
				errs <- errors.New("duplicate serial")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Pitfall 4: RenewContext re-signs whatever it is given, as long as the
// serial is not revoked. Verify is the check that must come first.
func TestRenewPitfallAndVerify(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	c := newCA(t, Options{Now: clock})
	foreign := newCA(t, Options{})
	ctx := context.Background()
	key := catest.Key(t, "EC", 0)
	id := identity(t, c.TrustDomain(), "h", "svc")

	foreignChain, err := foreign.Sign(ctx, catest.CSR(t, key, "svc"), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := c.Renew(ctx, foreignChain[0])
	if err != nil {
		t.Fatalf("pitfall gone? renew of a foreign cert: %v", err)
	}
	if renewed[0].CheckSignatureFrom(c.Intermediate()) != nil {
		t.Fatal("renewed foreign cert not signed by us?")
	}
	if err := c.Verify(ctx, foreignChain[0]); !errors.Is(err, ErrUntrusted) {
		t.Errorf("verify foreign: %v", err)
	}
	// Neither the intermediate nor the server certificate is a client identity.
	sc, err := c.ServerCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, crt := range []*x509.Certificate{c.Intermediate(), sc.Leaf, c.Root()} {
		if err := c.Verify(ctx, crt); !errors.Is(err, ErrUntrusted) {
			t.Errorf("verify %s: %v", crt.Subject, err)
		}
	}

	own, err := c.Sign(ctx, catest.CSR(t, key, "svc"), id, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(ctx, own[0]); err != nil {
		t.Fatal(err)
	}
	now = now.Add(3 * time.Second) // the CA's clock: past NotAfter
	if err := c.Verify(ctx, own[0]); !errors.Is(err, ErrExpired) {
		t.Errorf("verify expired: %v", err)
	}
	if _, err := c.Renew(ctx, own[0]); err != nil {
		t.Errorf("pitfall gone? renew of an expired cert: %v", err)
	}
	now = now.Add(-3 * time.Second)

	if err := c.Revoke(ctx, own[0].SerialNumber.String(), "keyCompromise"); err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(ctx, own[0]); !errors.Is(err, ErrRevoked) {
		t.Errorf("verify revoked: %v", err)
	}
	if _, err := c.Renew(ctx, own[0]); err == nil {
		t.Error("authority renewed a revoked cert")
	}
}

func TestRenewAndRekeyKeepIdentity(t *testing.T) {
	c := newCA(t, Options{})
	ctx := context.Background()
	key := catest.Key(t, "EC", 0)
	id := identity(t, c.TrustDomain(), "h", "svc")
	chain, err := c.Sign(ctx, catest.CSR(t, key, "svc"), id, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	old := chain[0]
	renewed, err := c.Renew(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	n := renewed[0]
	if n.SerialNumber.Cmp(old.SerialNumber) == 0 || n.URIs[0].String() != id.URI.String() ||
		n.Subject.CommonName != "svc" || !publicKeysEqual(n.PublicKey, old.PublicKey) {
		t.Errorf("renewed cert differs: %v %v", n.URIs, n.Subject)
	}
	if d := n.NotAfter.Sub(n.NotBefore) - old.NotAfter.Sub(old.NotBefore); d < -time.Second || d > time.Second {
		t.Errorf("lifetime changed by %s", d)
	}
	if _, err := c.Certificate(n.SerialNumber.String()); err != nil {
		t.Errorf("renewed cert not persisted: %v", err)
	}
	newKey := catest.Key(t, "OKP", 0)
	rekeyed, err := c.Rekey(ctx, old, newKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	if !publicKeysEqual(rekeyed[0].PublicKey, newKey.Public()) || rekeyed[0].URIs[0].String() != id.URI.String() {
		t.Error("rekey did not take the new key / identity")
	}
	if _, err := c.Rekey(ctx, old, catest.Key(t, "RSA", 2048).Public()); err == nil {
		t.Error("rekey to RSA 2048 accepted")
	}
}

func TestRevokeCRLAndPersistence(t *testing.T) {
	dir := t.TempDir()
	c := initOpen(t, dir, Options{})
	ctx := context.Background()
	chain, err := c.Sign(ctx, catest.CSR(t, catest.Key(t, "EC", 0), "x"), identity(t, c.TrustDomain(), "h", "x"), 0)
	if err != nil {
		t.Fatal(err)
	}
	serial := chain[0].SerialNumber.String()
	crl0 := parseCRL(t, c)
	if err := c.Revoke(ctx, serial, "superseded"); err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(ctx, serial, "again"); !errors.Is(err, ErrAlreadyRevoked) {
		t.Errorf("second revoke: %v", err)
	}
	if err := c.Revoke(ctx, "12345", ""); !errors.Is(err, ErrUnknownSerial) {
		t.Errorf("unknown serial: %v", err)
	}
	crl1 := parseCRL(t, c)
	if crl1.Number.Cmp(crl0.Number) <= 0 {
		t.Errorf("CRL not reissued: number %v then %v", crl0.Number, crl1.Number)
	}
	if len(crl1.RevokedCertificateEntries) != 1 || crl1.RevokedCertificateEntries[0].SerialNumber.String() != serial ||
		crl1.RevokedCertificateEntries[0].ReasonCode != 4 {
		t.Errorf("CRL entries %+v", crl1.RevokedCertificateEntries)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r, err := c.IsRevoked(serial); err != nil || !r {
		t.Errorf("after reopen: revoked=%v err=%v", r, err)
	}
	if got, err := c.Certificate(serial); err != nil || !got.Equal(chain[0]) {
		t.Errorf("after reopen: certificate %v", err)
	}
}

func parseCRL(t *testing.T, c *CA) *x509.RevocationList {
	t.Helper()
	der, err := c.CRL()
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(c.Intermediate()); err != nil {
		t.Fatal(err)
	}
	return crl
}

// What groupDB writes, step's own readers find.
func TestGroupDBCompatible(t *testing.T) {
	c := newCA(t, Options{})
	chain, err := c.Sign(context.Background(), catest.CSR(t, catest.Key(t, "EC", 0), "x"), identity(t, c.TrustDomain(), "h", "x"), 0)
	if err != nil {
		t.Fatal(err)
	}
	g := c.auth.GetDatabase().(*groupDB)
	got, err := g.DB.GetCertificate(chain[0].SerialNumber.String())
	if err != nil || !got.Equal(chain[0]) {
		t.Fatalf("step GetCertificate: %v", err)
	}
	// No provisioner data is stored; step reads that as "no provisioner in
	// the database", as it would an empty record.
	if _, err := g.DB.GetCertificateData(chain[0].SerialNumber.String()); err == nil {
		t.Fatal("step GetCertificateData found a record groupDB does not write")
	}
}

// openssl agrees with the chain and shows the identity.
func TestOpenSSLVerify(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl not installed")
		}
		t.Skip("openssl not installed")
	}
	c := newCA(t, Options{})
	chain, err := c.Sign(context.Background(), catest.CSR(t, catest.Key(t, "EC", 0), "x"), identity(t, c.TrustDomain(), "web1", "billing-batch"), 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	leaf := filepath.Join(dir, "leaf.crt")
	inter := filepath.Join(dir, "inter.crt")
	os.WriteFile(leaf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0].Raw}), 0o644)
	os.WriteFile(inter, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[1].Raw}), 0o644)
	out, err := exec.Command(openssl, "verify", "-CAfile", c.RootPath(), "-untrusted", inter, leaf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
	out, err = exec.Command(openssl, "x509", "-in", leaf, "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"URI:spiffe://roster.local/host/web1/sa/billing-batch", "Not Before", "Not After", "TLS Web Client Authentication"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("openssl x509 -text lacks %q:\n%s", want, out)
		}
	}
}

// A renewal or rekey gets the validity in force when it is made, not the
// lifetime of the certificate it replaces: smallstep's RenewContext copies
// the old lifetime, so a 1h certificate renewed after a restart with a
// 30m maximum came back with 61 minutes.
func TestRenewAppliesValidityInForce(t *testing.T) {
	dir := t.TempDir()
	c := initOpen(t, dir, Options{MinValidity: time.Second})
	ctx := context.Background()
	key := catest.Key(t, "EC", 0)
	id := identity(t, c.TrustDomain(), "h", "svc")
	chain, err := c.Sign(ctx, catest.CSR(t, key, "svc"), id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	old := chain[0]
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c, err = Open(dir, Options{MinValidity: time.Second, DefaultValidity: 20 * time.Minute, MaxValidity: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lifetime := func(crt *x509.Certificate) time.Duration { return crt.NotAfter.Sub(crt.NotBefore) }
	near := func(got, want time.Duration) bool { return got > want-2*time.Second && got < want+2*time.Second }

	renewed, err := c.Renew(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if got := lifetime(renewed[0]); !near(got, 30*time.Minute+DefaultBackdate) {
		t.Errorf("renewed 1h certificate under a 30m maximum: lifetime %s, want 30m (+%s backdate)", got, DefaultBackdate)
	}
	rekeyed, err := c.Rekey(ctx, old, catest.Key(t, "OKP", 0).Public())
	if err != nil {
		t.Fatal(err)
	}
	if got := lifetime(rekeyed[0]); !near(got, 30*time.Minute+DefaultBackdate) {
		t.Errorf("rekeyed 1h certificate under a 30m maximum: lifetime %s", got)
	}
	// Reissue takes the caller's validity (0: the default) within the bounds.
	for _, tt := range []struct {
		validity, want time.Duration
	}{{0, 20 * time.Minute}, {10 * time.Minute, 10 * time.Minute}, {30 * time.Minute, 30 * time.Minute}} {
		got, err := c.Reissue(ctx, old, nil, tt.validity)
		if err != nil {
			t.Fatal(err)
		}
		if d := lifetime(got[0]); !near(d, tt.want+DefaultBackdate) {
			t.Errorf("reissue with validity %s: lifetime %s, want %s", tt.validity, d, tt.want)
		}
		if got[0].URIs[0].String() != id.URI.String() || !publicKeysEqual(got[0].PublicKey, key.Public()) {
			t.Errorf("reissue changed the identity or the key")
		}
	}
	if _, err := c.Reissue(ctx, old, nil, 31*time.Minute); !errors.Is(err, ErrValidity) {
		t.Errorf("reissue beyond the maximum: %v", err)
	}
	// A short certificate renews with its own lifetime, raised to the minimum.
	c2 := newCA(t, Options{MinValidity: 5 * time.Minute})
	short, err := c2.Sign(ctx, catest.CSR(t, key, "svc"), identity(t, c2.TrustDomain(), "h", "svc"), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	fake := *short[0]
	fake.NotAfter = fake.NotBefore.Add(DefaultBackdate + time.Minute) // a 1m certificate of an older, looser policy
	got, err := c2.Renew(ctx, &fake)
	if err != nil {
		t.Fatal(err)
	}
	if d := lifetime(got[0]); !near(d, 5*time.Minute+DefaultBackdate) {
		t.Errorf("renewal below the minimum: lifetime %s, want 5m", d)
	}
}

// The accepted keys are the README's: ECDSA P-256, Ed25519, RSA of 3072 bits
// or more. P-384 and P-521 are refused with a message that says what to use.
func TestCheckPublicKey(t *testing.T) {
	gen := func(kty, crv string, size int) crypto.PublicKey {
		k, err := keyutil.GenerateSigner(kty, crv, size)
		if err != nil {
			t.Fatal(err)
		}
		return k.Public()
	}
	for _, tt := range []struct {
		desc string
		pub  crypto.PublicKey
		want string // "" accepted
	}{
		{"P-256", gen("EC", "P-256", 0), ""},
		{"Ed25519", gen("OKP", "Ed25519", 0), ""},
		{"RSA 3072", gen("RSA", "", 3072), ""},
		{"P-384", gen("EC", "P-384", 0), "key type not accepted: ECDSA P-384 (ECDSA keys must use P-256"},
		{"P-521", gen("EC", "P-521", 0), "key type not accepted: ECDSA P-521"},
		{"RSA 2048", gen("RSA", "", 2048), "at least 3072 bits"},
	} {
		err := CheckPublicKey(tt.pub)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s refused: %v", tt.desc, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrKeyType)):
			t.Errorf("%s: got %v, want %q", tt.desc, err, tt.want)
		}
	}
	// Sign and Rekey refuse the same keys.
	c := newCA(t, Options{})
	k384, err := keyutil.GenerateSigner("EC", "P-384", 0)
	if err != nil {
		t.Fatal(err)
	}
	id := identity(t, c.TrustDomain(), "h", "svc")
	if _, err := c.Sign(context.Background(), catest.CSR(t, k384, "svc"), id, 0); !errors.Is(err, ErrKeyType) {
		t.Errorf("sign with P-384: %v", err)
	}
	chain, err := c.Sign(context.Background(), catest.CSR(t, catest.Key(t, "EC", 0), "svc"), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Rekey(context.Background(), chain[0], k384.Public()); !errors.Is(err, ErrKeyType) {
		t.Errorf("rekey to P-384: %v", err)
	}
}

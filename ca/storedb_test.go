package ca

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	catest "github.com/rosterhq/roster/ca/internal/csrtest"
	"github.com/rosterhq/roster/internal/pgtest"
	"golang.org/x/crypto/ssh"
)

// TestStoreURL keeps the authority's records in a real PostgreSQL
// database: signing, revoking, the CRL and the SSH index work, no ca.db is
// written, and a reopened CA finds everything.
func TestStoreURL(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	_, url := pg.NewDatabase()
	dir := t.TempDir()
	opts := Options{StoreURL: url, MinValidity: time.Second}
	c := initOpen(t, dir, opts)
	ctx := context.Background()
	chain, err := c.Sign(ctx, catest.CSR(t, catest.Key(t, "EC", 0), "x"), identity(t, c.TrustDomain(), "h", "x"), 0)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := c.Sign(ctx, catest.CSR(t, catest.Key(t, "EC", 0), "y"), identity(t, c.TrustDomain(), "h", "y"), 0)
	if err != nil {
		t.Fatal(err)
	}
	serial, keptSerial := chain[0].SerialNumber.String(), kept[0].SerialNumber.String()
	if err := c.Revoke(ctx, serial, "test"); err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(catest.Key(t, "OKP", 0).Public())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SignSSHUser(ctx, pub, SSHRequest{KeyID: "spiffe://x/host/h/sa/x", Principals: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, databaseFile)); !os.IsNotExist(err) {
		t.Errorf("%s written with a PostgreSQL store: %v", databaseFile, err)
	}

	c, err = Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := c.Certificate(keptSerial); err != nil || got.SerialNumber.String() != keptSerial {
		t.Errorf("certificate after reopening: %v", err)
	}
	if revoked, err := c.IsRevoked(serial); err != nil || !revoked {
		t.Errorf("revocation after reopening: %v, %v", revoked, err)
	}
	if revoked, err := c.IsRevoked(keptSerial); err != nil || revoked {
		t.Errorf("unrevoked certificate: %v, %v", revoked, err)
	}
	if err := c.Verify(ctx, kept[0]); err != nil {
		t.Errorf("verify a recorded certificate: %v", err)
	}
	der, err := c.CRL()
	if err != nil {
		t.Fatalf("CRL: %v", err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil || len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.String() != serial {
		t.Errorf("CRL after reopening: %v, %+v", err, crl)
	}
	if recs, err := c.SSHCertificates(); err != nil || len(recs) != 1 {
		t.Errorf("SSH records after reopening: %d, %v", len(recs), err)
	}
}

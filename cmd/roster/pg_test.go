package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/pgtest"
)

// pgInstance is a private PostgreSQL server started for one test
// (internal/pgtest), here with TLS on and certificate authentication.
type pgInstance struct{ *pgtest.Instance }

// requireTool fails under CI=true, and skips elsewhere, when a binary the
// test drives is missing.
func requireTool(t testing.TB, what string, ok bool) {
	t.Helper()
	pgtest.Require(t, what, ok)
}

// startPostgres starts a PostgreSQL instance on a free loopback port that
// accepts only TLS clients presenting a certificate chained to caFile, with
// the certificate's CN as the database user.
func startPostgres(t testing.TB, caFile string, users ...string) *pgInstance {
	t.Helper()
	return &pgInstance{pgtest.Start(t, pgtest.Options{TLSRoot: caFile, Users: users})}
}

func (pg *pgInstance) setCRL(crlPEM []byte) { pg.SetCRL(crlPEM) }

func (pg *pgInstance) connect(user, certFile, keyFile string) (string, error) {
	return pg.Connect(user, certFile, keyFile)
}

func freePort(t testing.TB) int { t.Helper(); return pgtest.FreePort(t) }

func appendFile(t testing.TB, path, text string) { t.Helper(); pgtest.AppendFile(t, path, text) }

// TestPostgresHarness checks the private instance itself: it refuses a
// client without a certificate.
func TestPostgresHarness(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", filepath.Join(dir, "ca.key"), "-out", ca, "-days", "1", "-subj", "/CN=test root").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	pg := startPostgres(t, ca, "billing")
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres user=billing sslmode=require connect_timeout=5", pg.Port)
	cmd := exec.Command(filepath.Join(pg.Bin, "psql"), dsn, "-tAc", "select 1")
	cmd.Env = append(os.Environ(), "PGPASSWORD=")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "certificate") {
		t.Fatalf("without a certificate: err %v, output %s; want a refusal naming the certificate", err, out)
	}
}

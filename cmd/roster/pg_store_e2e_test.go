package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/pgtest"
)

// TestServerPostgresStore runs a real server with --store postgres:// on a
// private PostgreSQL server: it enrolls an identity and renews it, keeps
// no inventory or CA database file in its data directory, restarts, and
// still knows the account, the identity's certificates (a second renewal
// of the renewed certificate) and an intact audit chain.
func TestServerPostgresStore(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	db, url := pg.NewDatabase()
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	s := startServer(t, dataDir, "--scan-on-start=false", "--store", url, "--min-validity", "1s")
	if !strings.Contains(s.out.String(), `store:            PostgreSQL database "`+db+`"`) {
		t.Errorf("banner does not name the store:\n%s", s.out.String())
	}
	admin := s.adminToken()
	idDir := enrollBilling(t, s, admin, tmp)
	renewed := renewOnce(t, s, idDir)
	for _, f := range []string{"inventory.db", "ca.db"} {
		if _, err := os.Stat(filepath.Join(dataDir, f)); !os.IsNotExist(err) {
			t.Errorf("%s in the data directory with --store postgres: %v", f, err)
		}
	}
	// The certificate records are in the database, beside the inventory.
	pg.SQLIn(db, `DO $$ BEGIN IF (SELECT count(*) FROM roster_kv WHERE tbl = 'ca.x509_certs') < 2 THEN RAISE 'no certificate records'; END IF; END $$`)

	s.stop()
	s.restart()
	if out := s.mustCLI(admin, "accounts", "list"); !strings.Contains(out, "billing") {
		t.Errorf("accounts after the restart:\n%s", out)
	}
	if again := renewOnce(t, s, idDir); again == renewed {
		t.Errorf("second renewal returned serial %s again", again)
	}
	if out := s.mustCLI(admin, "audit", "verify"); !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %s", out)
	}
}

// enrollBilling submits a scan of a fixture host (under tmp) with the
// service account billing, gives it an owner and enrolls its identity with
// the real agent into tmp/id, which it returns.
func enrollBilling(t *testing.T, s *serverProc, admin, tmp string) string {
	t.Helper()
	_, agentBin := buildBinaries(t)
	fix := filepath.Join(tmp, "host")
	fixtureHost(t, fix, "app1", "$y$j9T$abcdefghijklmnopqrstu.$0123456789abcdefghijklmnopqrstuvwxyzABCDE")
	s.mustCLI(admin, "scan", "--root", fix, "--submit")
	s.mustCLI(admin, "owner", "set", "billing", "team-billing")
	tk := enroll(t, s, admin, "billing", "--host", "app1")
	idDir := filepath.Join(tmp, "id")
	cmd := exec.Command(agentBin, "enroll", "--server", s.URL, "--root-fingerprint", tk.RootFingerprint, "--token", tk.Token, "--dir", idDir)
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("roster-agent enroll: %v\n%s", err, out)
	}
	return idDir
}

// renewOnce renews the identity in dir over mTLS (POST /1.0/renew), writes
// the new certificate back and returns its serial.
func renewOnce(t *testing.T, s *serverProc, dir string) string {
	t.Helper()
	st, body := renewRequest(t, s, dir)
	if st != http.StatusCreated {
		t.Fatalf("renew: %d %s", st, body)
	}
	var resp struct {
		Crt string `json:"crt"`
		CA  string `json:"ca"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode([]byte(resp.Crt))
	if blk == nil {
		t.Fatalf("renew: no certificate in %s", body)
	}
	crt, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), []byte(resp.Crt+resp.CA), 0o600); err != nil {
		t.Fatal(err)
	}
	return crt.SerialNumber.String()
}

// renewRequest sends POST /1.0/renew to s over mTLS with the identity in
// dir and returns the status and body.
func renewRequest(t *testing.T, s *serverProc, dir string) (int, []byte) {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	c := newAPIClient(t, s)
	c.hc.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{pair}
	return c.do("POST", "/1.0/renew", "", nil)
}

// TestStoreMigrate outgrows the embedded store: a bbolt server with an
// account, an owner and an enrolled identity is stopped, `roster store
// migrate` copies it into PostgreSQL (refused while the server runs, and
// into a database that is not empty), and a server on the copy knows
// everything, renews the identity and verifies its audit chain.
func TestStoreMigrate(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	_, url := pg.NewDatabase()
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	s := startServer(t, dataDir, "--scan-on-start=false", "--min-validity", "1s")
	admin := s.adminToken()
	idDir := enrollBilling(t, s, admin, tmp)
	if _, errOut, code := s.cli("", "store", "migrate", "--from", dataDir, "--to", url); code == 0 || !strings.Contains(errOut, "stop the roster server") {
		t.Errorf("migrate while the server runs: exit %d, %s", code, errOut)
	}
	s.stop()

	out := s.mustCLI("", "store", "migrate", "--from", dataDir, "--to", url)
	for _, want := range []string{"ca.x509_certs", "audit chain verified on the copy", "row counts match"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("roster store migrate:\n%s", out)
	if _, errOut, code := s.cli("", "store", "migrate", "--from", dataDir, "--to", url); code == 0 || !strings.Contains(errOut, "already holds roster data") {
		t.Errorf("second migrate: exit %d, %s", code, errOut)
	}

	// The bbolt files move aside: the server on the copy must not need them.
	for _, f := range []string{"inventory.db", "ca.db"} {
		if err := os.Rename(filepath.Join(dataDir, f), filepath.Join(tmp, f)); err != nil {
			t.Fatal(err)
		}
	}
	s.args = append(s.args, "--store", url)
	s.restart()
	if out := s.mustCLI(admin, "accounts", "list"); !strings.Contains(out, "billing") || !strings.Contains(out, "team-billing") {
		t.Errorf("accounts on the copy:\n%s", out)
	}
	renewOnce(t, s, idDir)
	if out := s.mustCLI(admin, "audit", "verify"); !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %s", out)
	}
}

// TestServerDatabaseOutage stops the PostgreSQL server under a running
// roster server: a renewal and an enrollment answer 503 saying the
// database is unreachable (the agent prints it), /readyz is 503; once the
// database is back, without a restart of roster, the identity renews, the
// token refused during the outage enrolls (it was not used up) and the
// audit chain is intact.
func TestServerDatabaseOutage(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	_, url := pg.NewDatabase()
	tmp := t.TempDir()
	s := startServer(t, filepath.Join(tmp, "data"), "--scan-on-start=false", "--store", url, "--min-validity", "1s")
	admin := s.adminToken()
	idDir := enrollBilling(t, s, admin, tmp)
	tk := enroll(t, s, admin, "billing", "--host", "app1")
	_, agentBin := buildBinaries(t)
	agentEnroll := func() ([]byte, error) {
		cmd := exec.Command(agentBin, "enroll", "--server", s.URL, "--root-fingerprint", tk.RootFingerprint,
			"--token", tk.Token, "--dir", filepath.Join(tmp, "second"))
		cmd.Env = cleanEnv()
		return cmd.CombinedOutput()
	}
	data := filepath.Join(pg.Dir, "data")

	pg.Run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
	if st, body := renewRequest(t, s, idDir); st != http.StatusServiceUnavailable || !strings.Contains(string(body), "database is unreachable") {
		t.Errorf("renewal with the database down: %d %s", st, body)
	}
	if out, err := agentEnroll(); err == nil || !strings.Contains(string(out), "database is unreachable") {
		t.Errorf("enrollment with the database down: %v\n%s", err, out)
	}
	if st, body := newAPIClient(t, s).do("GET", "/readyz", "", nil); st != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database down: %d %s", st, body)
	}

	pg.Run("pg_ctl", "-D", data, "-l", filepath.Join(pg.Dir, "log"), "-w", "start")
	waitFor(t, "/readyz after the database returned", time.Minute, func() bool {
		st, _ := newAPIClient(t, s).do("GET", "/readyz", "", nil)
		return st == http.StatusOK
	}, nil)
	renewOnce(t, s, idDir)
	if out, err := agentEnroll(); err != nil {
		t.Errorf("the token refused during the outage does not enroll after it: %v\n%s", err, out)
	}
	if out := s.mustCLI(admin, "audit", "verify"); !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %s", out)
	}
}

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// pgInstance is a private PostgreSQL server started for one test, with TLS
// on and certificate authentication against a given root.
type pgInstance struct {
	t      testing.TB
	bin    string
	dir    string
	port   int
	asUser []string // command prefix that runs a binary as the owner of dir
	uid    int      // owner of dir when running as root, else -1
	gid    int
}

// chown gives the files written by the test to the server's account.
func (pg *pgInstance) chown() {
	if pg.asUser == nil {
		return
	}
	filepath.Walk(pg.dir, func(p string, _ os.FileInfo, _ error) error { os.Lchown(p, pg.uid, pg.gid); return nil })
}

// requireTool fails under CI=true, and skips elsewhere, when a binary the
// test drives is missing.
func requireTool(t testing.TB, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI (scripts/test.sh installs it)", what)
	}
	t.Skipf("%s not installed", what)
}

// startPostgres starts a PostgreSQL instance on a free loopback port that
// accepts only TLS clients presenting a certificate chained to caFile, with
// the certificate's CN as the database user.
func startPostgres(t testing.TB, caFile string, users ...string) *pgInstance {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	_, errOpenSSL := exec.LookPath("openssl")
	requireTool(t, "PostgreSQL server binaries", len(bins) > 0)
	requireTool(t, "openssl", errOpenSSL == nil)
	pg := &pgInstance{t: t, bin: filepath.Dir(bins[len(bins)-1])}

	// The data dir must belong to the user the server runs as; as root
	// that is the postgres account.
	var err error
	pg.dir, err = os.MkdirTemp("", "roster-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pg.dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres account: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(pg.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		pg.asUser = []string{"runuser", "-u", "postgres", "--"}
		pg.uid, pg.gid = uid, gid
	}
	data := filepath.Join(pg.dir, "data")
	pg.run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")

	// Server certificate: self-signed, from the real openssl binary.
	crt, key := filepath.Join(data, "server.crt"), filepath.Join(data, "server.key")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	os.Chmod(key, 0o600)
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(data, "roster-root.crt"), ca, 0o644)
	pg.port = freePort(t)
	conf := fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nssl = on\n"+
		"ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'roster-root.crt'\nfsync = off\n", pg.port, pg.dir)
	appendFile(t, filepath.Join(data, "postgresql.conf"), conf)
	os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte("local all postgres trust\nhostssl all all 127.0.0.1/32 cert\n"), 0o600)
	pg.chown()
	pg.run("pg_ctl", "-D", data, "-l", filepath.Join(pg.dir, "log"), "-w", "start")
	t.Cleanup(func() { pg.runQuiet("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop") })
	for _, u := range users {
		pg.sql(fmt.Sprintf("CREATE ROLE %q LOGIN", u))
	}
	return pg
}

func (pg *pgInstance) cmd(name string, args ...string) *exec.Cmd {
	argv := append(append([]string{}, pg.asUser...), append([]string{filepath.Join(pg.bin, name)}, args...)...)
	return exec.Command(argv[0], argv[1:]...)
}

func (pg *pgInstance) run(name string, args ...string) {
	pg.t.Helper()
	if out, err := pg.cmd(name, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(pg.dir, "log"))
		pg.t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, log)
	}
}

func (pg *pgInstance) runQuiet(name string, args ...string) { pg.cmd(name, args...).Run() }

// sql runs a statement as the superuser over the Unix socket.
func (pg *pgInstance) sql(stmt string) {
	pg.t.Helper()
	pg.run("psql", "-h", pg.dir, "-p", strconv.Itoa(pg.port), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", stmt)
}

// setCRL installs a CRL (PEM) and reloads the server.
func (pg *pgInstance) setCRL(crlPEM []byte) {
	pg.t.Helper()
	data := filepath.Join(pg.dir, "data")
	p := filepath.Join(data, "roster.crl")
	if err := os.WriteFile(p, crlPEM, 0o644); err != nil {
		pg.t.Fatal(err)
	}
	appendFile(pg.t, filepath.Join(data, "postgresql.conf"), "ssl_crl_file = 'roster.crl'\n")
	pg.chown()
	pg.run("pg_ctl", "-D", data, "-w", "reload")
}

// connect runs `select current_user` as a TLS client with a certificate
// and no password, and returns psql's output and error.
func (pg *pgInstance) connect(user, certFile, keyFile string) (string, error) {
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres user=%s sslmode=require sslcert=%s sslkey=%s connect_timeout=5",
		pg.port, user, certFile, keyFile)
	cmd := exec.Command(filepath.Join(pg.bin, "psql"), dsn, "-tAc", "select current_user")
	cmd.Env = append(os.Environ(), "PGPASSWORD=", "PGCONNECT_TIMEOUT=5")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func appendFile(t testing.TB, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

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
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres user=billing sslmode=require connect_timeout=5", pg.port)
	cmd := exec.Command(filepath.Join(pg.bin, "psql"), dsn, "-tAc", "select 1")
	cmd.Env = append(os.Environ(), "PGPASSWORD=")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "certificate") {
		t.Fatalf("without a certificate: err %v, output %s; want a refusal naming the certificate", err, out)
	}
}

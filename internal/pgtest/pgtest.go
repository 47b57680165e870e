// Package pgtest starts private PostgreSQL servers for tests: initdb and
// pg_ctl from /usr/lib/postgresql/*/bin (as the postgres account when the
// test runs as root) on a free loopback port, with the Unix socket in the
// instance's own temporary directory. Start with [Start], then
// [Instance.NewDatabase] for a fresh database per test.
//
// Under CI=true a missing PostgreSQL fails the test; elsewhere it skips.
package pgtest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// Options configure [Start]. The zero value is a server that trusts every
// local and loopback client.
type Options struct {
	// TLSRoot, if set, is a CA certificate file: the server then turns TLS
	// on (with a self-signed certificate from the openssl binary) and
	// accepts TCP clients only with a certificate chained to it, the
	// certificate's CN being the database user.
	TLSRoot string
	// Users are login roles created at start.
	Users []string
	// Durable keeps fsync on (benchmarks compare durable commits); by
	// default the server runs with fsync off, faster and enough for tests
	// that do not crash the machine.
	Durable bool
}

// Instance is one running private server.
type Instance struct {
	t      testing.TB
	Bin    string // directory of the PostgreSQL binaries
	Dir    string // temporary directory: data/, log, the Unix socket
	Port   int
	asUser []string // command prefix that runs a binary as the owner of Dir
	uid    int
	gid    int
	dbs    atomic.Int64
}

// Require fails under CI=true, and skips elsewhere, when a binary the test
// drives is missing.
func Require(t testing.TB, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI (scripts/test.sh installs it)", what)
	}
	t.Skipf("%s not installed", what)
}

// Start starts a server for the test and stops it (immediate mode) when
// the test ends.
func Start(t testing.TB, o Options) *Instance {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	Require(t, "PostgreSQL server binaries", len(bins) > 0)
	if o.TLSRoot != "" {
		_, err := exec.LookPath("openssl")
		Require(t, "openssl", err == nil)
	}
	pg := &Instance{t: t, Bin: filepath.Dir(bins[len(bins)-1]), uid: -1, gid: -1}
	var err error
	pg.Dir, err = os.MkdirTemp("", "roster-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pg.Dir) })
	// The data directory must belong to the account the server runs as;
	// as root that is the postgres account.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres account: %v", err)
		}
		pg.uid, _ = strconv.Atoi(u.Uid)
		pg.gid, _ = strconv.Atoi(u.Gid)
		if err := os.Chown(pg.Dir, pg.uid, pg.gid); err != nil {
			t.Fatal(err)
		}
		pg.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	data := filepath.Join(pg.Dir, "data")
	pg.Run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
	pg.Port = FreePort(t)
	conf := fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_connections = 200\n", pg.Port, pg.Dir)
	if !o.Durable {
		conf += "fsync = off\n"
	}
	hba := "local all all trust\nlocal replication all trust\nhost all all 127.0.0.1/32 trust\n"
	if o.TLSRoot != "" {
		crt, key := filepath.Join(data, "server.crt"), filepath.Join(data, "server.key")
		out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
			"-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=127.0.0.1").CombinedOutput()
		if err != nil {
			t.Fatalf("openssl req: %v\n%s", err, out)
		}
		os.Chmod(key, 0o600)
		ca, err := os.ReadFile(o.TLSRoot)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(data, "roster-root.crt"), ca, 0o644)
		conf += "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'roster-root.crt'\n"
		hba = "local all postgres trust\nlocal replication all trust\nhostssl all all 127.0.0.1/32 cert\n"
	}
	AppendFile(t, filepath.Join(data, "postgresql.conf"), conf)
	os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600)
	pg.chown()
	pg.Run("pg_ctl", "-D", data, "-l", filepath.Join(pg.Dir, "log"), "-w", "start")
	t.Cleanup(func() { pg.cmd("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop").Run() })
	for _, u := range o.Users {
		pg.SQL(fmt.Sprintf("CREATE ROLE %q LOGIN", u))
	}
	return pg
}

// chown gives the files written by the test to the server's account.
func (pg *Instance) chown() {
	if pg.asUser == nil {
		return
	}
	filepath.Walk(pg.Dir, func(p string, _ os.FileInfo, _ error) error { os.Lchown(p, pg.uid, pg.gid); return nil })
}

func (pg *Instance) cmd(name string, args ...string) *exec.Cmd {
	argv := append(append([]string{}, pg.asUser...), append([]string{filepath.Join(pg.Bin, name)}, args...)...)
	return exec.Command(argv[0], argv[1:]...)
}

// Run runs one of the PostgreSQL binaries as the server's account and
// fails the test, with the server's log, if it fails.
func (pg *Instance) Run(name string, args ...string) {
	pg.t.Helper()
	if out, err := pg.cmd(name, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(pg.Dir, "log"))
		pg.t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, log)
	}
}

// SQL runs a statement as the superuser over the Unix socket in the
// database postgres.
func (pg *Instance) SQL(stmt string) { pg.t.Helper(); pg.SQLIn("postgres", stmt) }

// SQLIn runs a statement as the superuser in database db.
func (pg *Instance) SQLIn(db, stmt string) {
	pg.t.Helper()
	pg.Run("psql", "-h", pg.Dir, "-p", strconv.Itoa(pg.Port), "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qc", stmt)
}

// URL returns a postgres:// URL for database db as the superuser over the
// Unix socket.
func (pg *Instance) URL(db string) string {
	q := url.Values{"host": {pg.Dir}, "port": {strconv.Itoa(pg.Port)}, "user": {"postgres"}, "sslmode": {"disable"}}
	return "postgres:///" + db + "?" + q.Encode()
}

// NewDatabase creates an empty database and returns its name and URL.
func (pg *Instance) NewDatabase() (name, dsn string) {
	pg.t.Helper()
	name = fmt.Sprintf("t%d", pg.dbs.Add(1))
	pg.SQL("CREATE DATABASE " + name)
	return name, pg.URL(name)
}

// Standby starts a streaming replica of pg (pg_basebackup -R: a standby
// in recovery, read-only) on a port and directory of its own, stopped
// when the test ends. What pg commits reaches it shortly after, not at
// once: poll for it.
func (pg *Instance) Standby() *Instance {
	pg.t.Helper()
	sb := &Instance{t: pg.t, Bin: pg.Bin, asUser: pg.asUser, uid: pg.uid, gid: pg.gid}
	var err error
	sb.Dir, err = os.MkdirTemp("", "roster-pg-standby-")
	if err != nil {
		pg.t.Fatal(err)
	}
	pg.t.Cleanup(func() { os.RemoveAll(sb.Dir) })
	sb.chown()
	data := filepath.Join(sb.Dir, "data")
	sb.Run("pg_basebackup", "-h", pg.Dir, "-p", strconv.Itoa(pg.Port), "-U", "postgres", "-D", data, "-R", "-X", "stream", "-c", "fast", "--no-sync")
	sb.Port = FreePort(pg.t)
	// Later settings win: the primary's port and socket directory are
	// in the copied postgresql.conf.
	AppendFile(pg.t, filepath.Join(data, "postgresql.conf"), fmt.Sprintf("port = %d\nunix_socket_directories = '%s'\n", sb.Port, sb.Dir))
	sb.chown()
	sb.Run("pg_ctl", "-D", data, "-l", filepath.Join(sb.Dir, "log"), "-w", "start")
	pg.t.Cleanup(func() { sb.cmd("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop").Run() })
	return sb
}

// SetCRL installs a CRL (PEM) and reloads the server.
func (pg *Instance) SetCRL(crlPEM []byte) {
	pg.t.Helper()
	data := filepath.Join(pg.Dir, "data")
	if err := os.WriteFile(filepath.Join(data, "roster.crl"), crlPEM, 0o644); err != nil {
		pg.t.Fatal(err)
	}
	AppendFile(pg.t, filepath.Join(data, "postgresql.conf"), "ssl_crl_file = 'roster.crl'\n")
	pg.chown()
	pg.Run("pg_ctl", "-D", data, "-w", "reload")
}

// Connect runs `select current_user` as a TLS client with a certificate
// and no password, and returns psql's output and error.
func (pg *Instance) Connect(user, certFile, keyFile string) (string, error) {
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres user=%s sslmode=require sslcert=%s sslkey=%s connect_timeout=5",
		pg.Port, user, certFile, keyFile)
	cmd := exec.Command(filepath.Join(pg.Bin, "psql"), dsn, "-tAc", "select current_user")
	cmd.Env = append(os.Environ(), "PGPASSWORD=", "PGCONNECT_TIMEOUT=5")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// AppendFile appends text to the file at path.
func AppendFile(t testing.TB, path, text string) {
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

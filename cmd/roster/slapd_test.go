package main

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slapdServer is a private OpenLDAP slapd on loopback: its own slapd.conf,
// database and certificate, LDAPS on one port and LDAP (for StartTLS) on
// another.
type slapdServer struct {
	dir, ca     string
	ldaps, ldap string // URLs
}

const slapdBin = "/usr/sbin/slapd"

// startSlapd loads the LDIF with slapadd (offline, so that operational
// attributes such as pwdChangedTime and pwdLastSuccess can be planted)
// and runs slapd on two free loopback ports with a certificate for
// 127.0.0.1 from a test CA. acl is the access control of the database.
func startSlapd(t *testing.T, suffix, ldif, acl string) *slapdServer {
	t.Helper()
	_, err := os.Stat(slapdBin)
	requireTool(t, "OpenLDAP slapd (Debian package slapd)", err == nil)
	dir := t.TempDir()
	ca, cert, key := writeTLS(t, filepath.Join(dir, "tls"))
	db := filepath.Join(dir, "db")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	var conf strings.Builder
	for _, s := range []string{"core", "cosine", "nis", "inetorgperson"} {
		fmt.Fprintf(&conf, "include /etc/ldap/schema/%s.schema\n", s)
	}
	fmt.Fprintf(&conf, "modulepath /usr/lib/ldap\nmoduleload back_mdb\nmoduleload ppolicy\n")
	fmt.Fprintf(&conf, "pidfile %s/slapd.pid\n", dir)
	fmt.Fprintf(&conf, "TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n", ca, cert, key)
	fmt.Fprintf(&conf, "database mdb\nmaxsize 16777216\nsuffix \"%s\"\ndirectory %s\nlastbind on\noverlay ppolicy\n%s\n", suffix, db, acl)
	confFile := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confFile, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ldifFile := filepath.Join(dir, "data.ldif")
	if err := os.WriteFile(ldifFile, []byte(ldif), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run(t, ctx, "/usr/sbin/slapadd", "-f", confFile, "-l", ldifFile)

	ps, pl := freePort(t), freePort(t)
	s := &slapdServer{dir: dir, ca: ca, ldaps: fmt.Sprintf("ldaps://127.0.0.1:%d", ps), ldap: fmt.Sprintf("ldap://127.0.0.1:%d", pl)}
	cmd := exec.Command(slapdBin, "-d", "0", "-f", confFile, "-h", s.ldaps+"/ "+s.ldap+"/")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(filepath.Join(dir, "slapd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("slapd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logf.Close()
	})
	for _, port := range []int{ps, pl} {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				log, _ := os.ReadFile(filepath.Join(dir, "slapd.log"))
				t.Fatalf("slapd exited:\n%s", log)
			case <-ctx.Done():
				log, _ := os.ReadFile(filepath.Join(dir, "slapd.log"))
				t.Fatalf("slapd did not listen on %d: %v\n%s", port, err, log)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return s
}

// sshaPassword is a userPassword value in the {SSHA} scheme, as
// slappasswd makes it: base64 of SHA-1(password + salt) and the salt.
func sshaPassword(pw string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	h := sha1.Sum(append([]byte(pw), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
}

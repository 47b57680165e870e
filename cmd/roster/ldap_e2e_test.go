package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sambaDC is a private Samba AD domain controller on loopback.
type sambaDC struct {
	dir, ca string
}

const (
	dcBase      = "DC=corp,DC=example"
	dcAdminPass = "Adm1n-Pass-2026-Zq7!"
	dcBindDN    = "CN=Administrator,CN=Users," + dcBase
)

// startSambaDC provisions a domain corp.example in a temporary directory
// and runs samba on 127.0.0.1 (LDAP 389, LDAPS 636: fixed ports, so one
// DC at a time) with a certificate for 127.0.0.1 from a test CA: Samba's
// auto-generated one names the host only in its CN and has a negative
// serial, both of which Go's verifier refuses. Provisioning takes 3-4 s.
func startSambaDC(t *testing.T) *sambaDC {
	t.Helper()
	_, err := exec.LookPath("samba-tool")
	requireTool(t, "samba (samba-tool)", err == nil)
	if os.Geteuid() != 0 {
		requireTool(t, "root for samba", false)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:636", time.Second); err == nil {
		c.Close()
		t.Fatalf("127.0.0.1:636 is taken: another DC (or a previous one still stopping) would answer this test")
	}
	dir := t.TempDir()
	ca, cert, key := writeTLS(t, filepath.Join(dir, "tls"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	run(t, ctx, "samba-tool", "domain", "provision", "--use-rfc2307", "--realm=CORP.EXAMPLE", "--domain=CORP",
		"--server-role=dc", "--dns-backend=NONE", "--adminpass="+dcAdminPass, "--targetdir="+dir,
		"--option=interfaces=lo", "--option=bind interfaces only=yes",
		"--option=tls enabled=yes", "--option=tls keyfile="+key, "--option=tls certfile="+cert, "--option=tls cafile="+ca)
	t.Logf("provisioned in %s", time.Since(start).Round(time.Millisecond))
	// A simple bind over plain LDAP is refused by default; allowed here so
	// that --insecure-ldap can be shown to work. Provision does not keep
	// this option, so it is added to smb.conf.
	conf := filepath.Join(dir, "etc", "smb.conf")
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	// Samba's RPC endpoints default to 49152-65535, inside Linux's
	// ephemeral range (32768-60999): a port another test's connection or
	// listener holds there made samba exit ("Failed to listen on
	// 127.0.0.1:49154"). Below that range no port is handed out at random.
	data = []byte(strings.Replace(string(data), "[global]\n",
		"[global]\n\tldap server require strong auth = no\n\trpc server dynamic port range = 21000-21999\n", 1))
	if err := os.WriteFile(conf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("samba", "-i", "-s", conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(filepath.Join(dir, "samba.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("samba: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		// The next DC needs the fixed ports: wait until they are free.
		for i := 0; i < 50; i++ {
			c, err := net.DialTimeout("tcp", "127.0.0.1:636", 200*time.Millisecond)
			if err != nil {
				break
			}
			c.Close()
			time.Sleep(200 * time.Millisecond)
		}
		logf.Close()
	})
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:636", time.Second)
		if err == nil {
			c.Close()
			break
		}
		if ctx.Err() != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "samba.log"))
			t.Fatalf("LDAPS did not come up: %v\n%s", err, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("LDAPS up %s after start", time.Since(start).Round(time.Millisecond))
	return &sambaDC{dir: dir, ca: ca}
}

func run(t *testing.T, ctx context.Context, name string, args ...string) {
	t.Helper()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// tool runs samba-tool against the DC's database.
func (dc *sambaDC) tool(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run(t, ctx, "samba-tool", append(args, "-H", filepath.Join(dc.dir, "private", "sam.ldb"))...)
}

// ldif applies LDIF with ldbadd or ldbmodify.
func (dc *sambaDC) ldif(t *testing.T, prog, text string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "x.ldif")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run(t, ctx, prog, "-H", filepath.Join(dc.dir, "private", "sam.ldb"), f)
}

// writeTLS writes a CA and a server certificate for 127.0.0.1.
func writeTLS(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test DC CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "dc.corp.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(srvKey)
	write := func(name, typ string, der []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER, 0o644), write("cert.pem", "CERTIFICATE", srvDER, 0o644),
		write("key.pem", "PRIVATE KEY", keyDER, 0o600)
}

// ldapRig is a roster server and an operator's directory scan arguments:
// the bind password in a file, as roster scan --ldap reads it.
type ldapRig struct {
	s                    *serverProc
	admin, tmp           string
	base, bindDN, pwFile string
}

func newLDAPRig(t *testing.T, base, bindDN, password string) *ldapRig {
	t.Helper()
	tmp := t.TempDir()
	pwFile := filepath.Join(tmp, "bind.pw")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, filepath.Join(tmp, "data"), "--scan-on-start=false", "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	return &ldapRig{s: s, admin: s.adminToken(), tmp: tmp, base: base, bindDN: bindDN, pwFile: pwFile}
}

// args are roster scan --ldap URL with the rig's base and bind, then extra.
func (r *ldapRig) args(url string, extra ...string) []string {
	return append([]string{"scan", "--ldap", url, "--base", r.base, "--bind-dn", r.bindDN, "--bind-password-file", r.pwFile}, extra...)
}

// TestLDAPScanSamba plants service accounts in a real Samba AD DC and
// scans it with the real binaries: flags, recursive privilege, staleness,
// a gMSA as managed, certificate verification, --insecure-ldap, and
// --submit putting the privileged account in tier 1; the bind password is
// in no output.
func TestLDAPScanSamba(t *testing.T) {
	dc := startSambaDC(t)
	// svc-sql: SPN, never expires, password in its description, in
	// Tier0Ops, itself in Domain Admins. svc-web: SPN, protocol
	// transition, a logon in 2012 (stale). svc-deleg: unconstrained
	// delegation, no SPN. gmsa-app$: a group managed service account.
	dc.tool(t, "user", "create", "svc-sql", "Svc-Sql-Pass-2026-Xy!", "--description=SQL service, password: Svc-Sql-Pass-2026-Xy!")
	dc.tool(t, "user", "create", "svc-web", "Svc-Web-Pass-2026-Xy!")
	dc.tool(t, "user", "create", "svc-deleg", "Svc-Deleg-Pass-2026-Xy!")
	dc.tool(t, "user", "create", "alice", "Alice-Pass-2026-Xy!")
	dc.tool(t, "spn", "add", "MSSQLSvc/db1.corp.example:1433", "svc-sql")
	dc.tool(t, "spn", "add", "HTTP/web.corp.example", "svc-web")
	dc.tool(t, "user", "setexpiry", "--noexpiry", "svc-sql")
	dc.tool(t, "group", "add", "Tier0Ops")
	dc.tool(t, "group", "addmembers", "Domain Admins", "Tier0Ops")
	dc.tool(t, "group", "addmembers", "Tier0Ops", "svc-sql")
	dc.tool(t, "group", "add", "WebOps") // privileged only with --privileged-group WebOps
	dc.tool(t, "group", "addmembers", "WebOps", "svc-web")
	dc.tool(t, "delegation", "for-any-protocol", "svc-web", "on")
	dc.tool(t, "delegation", "for-any-service", "svc-deleg", "on")
	dc.ldif(t, "ldbmodify", "dn: CN=svc-web,CN=Users,"+dcBase+"\nchangetype: modify\nreplace: lastLogonTimestamp\nlastLogonTimestamp: 130000000000000000\n")
	dc.ldif(t, "ldbadd", "dn: CN=gmsa-app,CN=Managed Service Accounts,"+dcBase+"\nobjectClass: msDS-GroupManagedServiceAccount\n"+
		"sAMAccountName: gmsa-app$\ndNSHostName: gmsa-app.corp.example\nmsDS-ManagedPasswordInterval: 30\nservicePrincipalName: HTTP/app.corp.example\n")

	rig := newLDAPRig(t, dcBase, dcBindDN, dcAdminPass)
	s, admin, tmp, ldapArgs := rig.s, rig.admin, rig.tmp, rig.args
	var outputs []string
	noSecret := func() {
		t.Helper()
		for _, o := range outputs {
			for _, secret := range []string{dcAdminPass, "Svc-Sql-Pass-2026-Xy!"} {
				if strings.Contains(o, secret) {
					t.Fatalf("a password appears in an output:\n%s", o)
				}
			}
		}
	}

	out, errOut, code := s.cli(admin, ldapArgs("ldaps://127.0.0.1", "--ldap-ca", dc.ca, "--format", "json")...)
	outputs = append(outputs, out, errOut)
	if code != 0 {
		t.Fatalf("scan --ldap: exit %d\n%s%s", code, out, errOut)
	}
	var rep struct {
		Host     struct{ Hostname string }
		Accounts []struct {
			Name             string
			Kind             string
			Privileged       bool
			PrivilegeReasons []string `json:"privilege_reasons"`
			Credentials      []struct {
				Type     string
				Findings []string
			}
			Directory struct {
				SPNs    []string
				Flags   []string
				Managed bool
				Stale   bool
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if rep.Host.Hostname != "corp.example" {
		t.Errorf("host %q, want corp.example", rep.Host.Hostname)
	}
	byName := map[string]int{}
	for i, a := range rep.Accounts {
		byName[a.Name] = i
	}
	for _, name := range []string{"svc-sql", "svc-web", "svc-deleg", "gmsa-app$"} {
		if _, ok := byName[name]; !ok {
			t.Fatalf("%s not found in\n%s", name, out)
		}
	}
	if _, ok := byName["alice"]; ok {
		t.Errorf("alice (no SPN, no flag) reported")
	}
	sql := rep.Accounts[byName["svc-sql"]]
	findings := strings.Join(sql.Credentials[0].Findings, "; ")
	if !sql.Privileged || !strings.Contains(strings.Join(sql.PrivilegeReasons, ";"), "Domain Admins") ||
		!strings.Contains(strings.Join(sql.Directory.Flags, ","), "DONT_EXPIRE_PASSWORD") ||
		!strings.Contains(findings, "never expires") || !strings.Contains(findings, "description seems to hold a password") ||
		len(sql.Directory.SPNs) != 1 || sql.Kind != "directory" {
		t.Errorf("svc-sql: %+v", sql)
	}
	web := rep.Accounts[byName["svc-web"]]
	if web.Privileged || !web.Directory.Stale || !strings.Contains(strings.Join(web.Directory.Flags, ","), "TRUSTED_TO_AUTH_FOR_DELEGATION") {
		t.Errorf("svc-web: %+v", web)
	}
	deleg := rep.Accounts[byName["svc-deleg"]]
	if !deleg.Privileged || !strings.Contains(strings.Join(deleg.Directory.Flags, ","), "TRUSTED_FOR_DELEGATION") {
		t.Errorf("svc-deleg: %+v", deleg)
	}
	gmsa := rep.Accounts[byName["gmsa-app$"]]
	if !gmsa.Directory.Managed || len(gmsa.Credentials) != 0 {
		t.Errorf("gmsa-app$: %+v", gmsa)
	}

	// The table, too.
	out, errOut, code = s.cli(admin, ldapArgs("ldaps://127.0.0.1", "--ldap-ca", dc.ca)...)
	outputs = append(outputs, out, errOut)
	if code != 0 || !strings.Contains(out, "svc-sql") {
		t.Fatalf("table: exit %d\n%s%s", code, out, errOut)
	}
	// The system roots (or a wrong CA) do not know the test CA.
	wrongCA, _, _ := writeTLS(t, filepath.Join(tmp, "wrong"))
	for _, args := range [][]string{ldapArgs("ldaps://127.0.0.1", "--ldap-ca", wrongCA), ldapArgs("ldaps://127.0.0.1"), ldapArgs("ldap://127.0.0.1", "--ldap-ca", wrongCA)} {
		out, errOut, code = s.cli(admin, args...)
		outputs = append(outputs, out, errOut)
		if code == 0 || !strings.Contains(errOut, "certificate") {
			t.Errorf("%v: exit %d, want a certificate refusal\n%s%s", args, code, out, errOut)
		}
	}
	// ldap:// uses StartTLS (verified); plain LDAP needs --insecure-ldap.
	out, errOut, code = s.cli(admin, ldapArgs("ldap://127.0.0.1", "--ldap-ca", dc.ca)...)
	outputs = append(outputs, out, errOut)
	if code != 0 || !strings.Contains(out, "svc-sql") {
		t.Errorf("StartTLS: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = s.cli(admin, ldapArgs("ldap://127.0.0.1", "--insecure-ldap")...)
	outputs = append(outputs, out, errOut)
	if code != 0 || !strings.Contains(out, "svc-sql") {
		t.Errorf("--insecure-ldap: exit %d\n%s%s", code, out, errOut)
	}
	// A wrong password: refused, and the error does not quote it.
	bad := filepath.Join(tmp, "bad.pw")
	_ = os.WriteFile(bad, []byte("Wrong-Pass-Zz9!\n"), 0o600)
	out, errOut, code = s.cli(admin, "scan", "--ldap", "ldaps://127.0.0.1", "--ldap-ca", dc.ca, "--base", dcBase, "--bind-dn", dcBindDN, "--bind-password-file", bad)
	if code == 0 || strings.Contains(out+errOut, "Wrong-Pass") || !strings.Contains(errOut, "bind") {
		t.Errorf("wrong password: exit %d\n%s%s", code, out, errOut)
	}

	// --submit: the privileged directory account is tier 1.
	out, errOut, code = s.cli(admin, ldapArgs("ldaps://127.0.0.1", "--ldap-ca", dc.ca, "--privileged-group", "WebOps", "--submit")...)
	outputs = append(outputs, out, errOut)
	if code != 0 {
		t.Fatalf("submit: exit %d\n%s%s", code, out, errOut)
	}
	list := s.mustCLI(admin, "accounts", "list", "--host", "corp.example", "--format", "json")
	outputs = append(outputs, list)
	var accts []struct {
		Name string
		Tier int
	}
	if err := json.Unmarshal([]byte(list), &accts); err != nil {
		var wrapped struct {
			Accounts []struct {
				Name string
				Tier int
			}
		}
		if err2 := json.Unmarshal([]byte(list), &wrapped); err2 != nil {
			t.Fatalf("accounts list: %v\n%s", err, list)
		}
		accts = wrapped.Accounts
	}
	tiers := map[string]int{}
	for _, a := range accts {
		tiers[a.Name] = a.Tier
	}
	if tiers["svc-sql"] != 1 || tiers["svc-web"] != 1 {
		t.Errorf("svc-sql tier %d, svc-web (in WebOps) tier %d, want 1:\n%s", tiers["svc-sql"], tiers["svc-web"], list)
	}
	// account show: kind directory and the directory entry.
	show := s.mustCLI(admin, "accounts", "show", "svc-sql")
	outputs = append(outputs, show)
	for _, want := range []string{"kind:     directory (found by scans)", "directory entry on corp.example:", "MSSQLSvc/db1.corp.example:1433",
		"DONT_EXPIRE_PASSWORD", "tier:     1"} {
		if !strings.Contains(show, want) {
			t.Errorf("accounts show svc-sql lacks %q:\n%s", want, show)
		}
	}
	show = s.mustCLI(admin, "accounts", "show", "gmsa-app$", "--format", "json")
	outputs = append(outputs, show)
	var gm struct {
		Directory        bool
		DirectoryEntries []struct{ Managed bool } `json:"directory_entries"`
	}
	if err := json.Unmarshal([]byte(show), &gm); err != nil || !gm.Directory || len(gm.DirectoryEntries) != 1 || !gm.DirectoryEntries[0].Managed {
		t.Errorf("accounts show gmsa-app$: %v %+v\n%s", err, gm, show)
	}
	outputs = append(outputs, s.out.String()) // the server's log
	noSecret()
}

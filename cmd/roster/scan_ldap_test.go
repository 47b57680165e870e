package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLDAPScanFlags checks the --ldap flags' decoding without a directory:
// each refusal says what is wrong before any connection.
func TestLDAPScanFlags(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("Flag-Test-Secret-91!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--base", "DC=corp,DC=example", "--bind-dn", "CN=scanner,DC=corp,DC=example"}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no base", []string{"--ldap", "ldaps://dc", "--bind-dn", "CN=x", "--bind-password-file", pw}, "--ldap needs --base"},
		{"no bind dn", []string{"--ldap", "ldaps://dc", "--base", "DC=c", "--bind-password-file", pw}, "--ldap needs --bind-dn"},
		{"no password file", append([]string{"--ldap", "ldaps://dc"}, base...), "--ldap needs --bind-password-file"},
		{"bad scheme", append([]string{"--ldap", "http://dc", "--bind-password-file", pw}, base...), "want ldaps://HOST"},
		{"insecure with ldaps", append([]string{"--ldap", "ldaps://dc", "--insecure-ldap", "--bind-password-file", pw}, base...), "already uses TLS"},
		{"insecure with ca", append([]string{"--ldap", "ldap://dc", "--insecure-ldap", "--ldap-ca", pw, "--bind-password-file", pw}, base...), "contradict"},
		{"base without DC", []string{"--ldap", "ldaps://dc", "--base", "OU=x", "--bind-dn", "CN=x", "--bind-password-file", pw}, "no DC= components"},
		{"empty password", append([]string{"--ldap", "ldaps://dc", "--bind-password-file", empty}, base...), "empty"},
		{"missing password file", append([]string{"--ldap", "ldaps://dc", "--bind-password-file", filepath.Join(dir, "nope")}, base...), "--bind-password-file"},
		{"ca file not PEM", append([]string{"--ldap", "ldaps://127.0.0.1:1", "--ldap-ca", pw, "--bind-password-file", pw}, base...), "no PEM certificate"},
		{"with --root", append([]string{"--ldap", "ldaps://dc", "--root", "/", "--bind-password-file", pw}, base...), "--root and --proc do not apply"},
		{"bad schema", append([]string{"--ldap", "ldaps://dc", "--ldap-schema", "openldap", "--bind-password-file", pw}, base...), "want auto, ad, rfc2307"},
		{"empty privileged group", append([]string{"--ldap", "ldaps://dc", "--privileged-group", " ", "--bind-password-file", pw}, base...), "--privileged-group: empty"},
		{"bad format", append([]string{"--ldap", "ldaps://dc", "--format", "xml", "--bind-password-file", pw}, base...), "unknown --format"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := rosterScan(t, []string{"ROSTER_FINGERPRINT_KEY_FILE=" + filepath.Join(dir, "key")}, c.args...)
			if code == 0 || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, want a refusal with %q\nstdout:\n%s\nstderr:\n%s", code, c.want, out, errOut)
			}
			if strings.Contains(out+errOut, "Flag-Test-Secret") {
				t.Errorf("the bind password appears in the output:\n%s%s", out, errOut)
			}
		})
	}
}

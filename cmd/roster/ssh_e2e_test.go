package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// roster ssh ca prints the SSH CA keys without a token, in the forms sshd
// and known_hosts take; a restart keeps them.
func TestSSHCAEndToEnd(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--scan-on-start=false")
	user := s.mustCLI("", "ssh", "ca", "--user")
	host := s.mustCLI("", "ssh", "ca", "--host")
	both := s.mustCLI("", "ssh", "ca")

	if k, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(user)); err != nil || len(rest) != 0 || k.Type() != ssh.KeyAlgoED25519 {
		t.Errorf("--user: %q (%v)", user, err)
	}
	if !strings.HasPrefix(host, "@cert-authority * ssh-ed25519 ") || strings.Count(host, "\n") != 1 {
		t.Errorf("--host: %q", host)
	}
	if _, _, _, _, _, err := ssh.ParseKnownHosts([]byte(host)); err != nil {
		t.Errorf("--host is not a known_hosts line: %v", err)
	}
	if want := "# SSH user CA (sshd TrustedUserCAKeys)\n" + user + "# SSH host CA (known_hosts)\n" + host; both != want {
		t.Errorf("without a flag:\n%s\nwant:\n%s", both, want)
	}
	if strings.TrimPrefix(host, "@cert-authority * ") == user {
		t.Error("user and host CA are the same key")
	}
	if kg, err := exec.LookPath("ssh-keygen"); err == nil {
		p := filepath.Join(t.TempDir(), "user_ca.pub")
		os.WriteFile(p, []byte(user), 0o644)
		if out, err := exec.Command(kg, "-l", "-f", p).CombinedOutput(); err != nil {
			t.Errorf("ssh-keygen -l: %v\n%s", err, out)
		}
	}

	s.stop()
	s.restart()
	if again := s.mustCLI("", "ssh", "ca"); again != both {
		t.Errorf("after restart:\n%s\nwant:\n%s", again, both)
	}
}

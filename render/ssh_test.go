package render

import (
	"bytes"
	"strings"
	"testing"
)

func TestGoldenSSHCA(t *testing.T) {
	user := []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOv2Xy9bJ0hLq8eHqF3ZrM1uQ2n6j0dS8tYbWcVxKp1A"}
	host := []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7mQp2R9sLx4yTnVdK0cW3aZ8eH1fJ6uGoP5iN2rXsE"}
	for name, f := range map[string][2]bool{"both": {true, true}, "user": {true, false}, "host": {false, true}} {
		var b bytes.Buffer
		if err := SSHCA(&b, user, host, f[0], f[1]); err != nil {
			t.Fatal(err)
		}
		golden(t, "ssh-ca."+name, b.Bytes())
	}
	var b bytes.Buffer
	if err := SSHCA(&b, []string{"ssh-ed25519 AAAA\x1b[31m"}, nil, true, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("escape passed through: %q", b.String())
	}
}

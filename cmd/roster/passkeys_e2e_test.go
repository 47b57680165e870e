package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServerUIOrigin: the web page's origin, the name passkeys are bound
// to, is localhost by default on loopback and is printed at start; an IP
// address or a URL that is not an https origin is refused with a clear
// error, before the data directory is made or anything listens.
func TestServerUIOrigin(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--scan-on-start=false", "--ui-admin-passkey")
	if !strings.Contains(s.out.String(), "passkey origin:   https://localhost:") {
		t.Errorf("banner lacks the passkey origin:\n%s", s.out.String())
	}
	bin, _ := buildBinaries(t)
	for _, tc := range []struct{ origin, want string }{
		{"https://127.0.0.1:8443", "not an IP address"},
		{"http://localhost:8443", "want https://NAME[:PORT]"},
		{"https://localhost:8443/ui", "want https://NAME[:PORT]"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		out, err := runWithTimeout(bin, "server", "--data", data, "--listen", "127.0.0.1:0", "--scan-on-start=false", "--ui-origin", tc.origin)
		if err == nil || !strings.Contains(out, "roster: error: --ui-origin") || !strings.Contains(out, tc.want) || strings.Contains(out, "listening on") {
			t.Errorf("--ui-origin %s: %v\n%s", tc.origin, err, out)
		}
		if _, err := os.Stat(data); err == nil {
			t.Errorf("--ui-origin %s: the refused start made %s", tc.origin, data)
		}
	}
}

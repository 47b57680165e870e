package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/ca"
)

func sshKeygenTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ssh-keygen")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ssh-keygen not installed (openssh-client)")
		}
		t.Skip("ssh-keygen not installed")
	}
	return p
}

func (e *env) get(path string) (int, string, []byte) {
	e.t.Helper()
	resp, err := e.client(nil, nil, false).Get(e.url + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func TestSSHRoots(t *testing.T) {
	e := newEnv(t, true)
	code, ct, b := e.get("/ssh/roots")
	if code != 200 || !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%d %s %s", code, ct, b)
	}
	var r api.SSHRoots
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.User, []string{e.ca.UserCAPublicKey()}) || !slices.Equal(r.Host, []string{e.ca.HostCAPublicKey()}) {
		t.Errorf("roots %+v", r)
	}
	for _, line := range append(r.User, r.Host...) {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err != nil {
			t.Errorf("%q: %v", line, err)
		}
	}
}

// roster revoke of an identity revokes its SSH certificates too, and the
// KRL served at /ssh/krl says so to ssh-keygen -Q.
func TestRevokeRevokesSSHCertificates(t *testing.T) {
	kg := sshKeygenTool(t)
	e := newEnv(t, true)
	e.enroll("web1", "billing-batch")
	td := e.ca.TrustDomain()
	sign := func(keyID, principal string) *ssh.Certificate {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := ssh.NewPublicKey(pub)
		c, err := e.ca.SignSSHUser(t.Context(), k, ca.SSHRequest{KeyID: keyID, Principals: []string{principal}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	mine := sign("spiffe://"+td+"/host/web1/sa/billing-batch", "billing-batch")
	other := sign("spiffe://"+td+"/host/web1/sa/legacy", "legacy")

	code, body := e.operatorCall(operatorToken(t, e), "POST", "/v1/revocations", `{"account":"billing-batch","host":"web1","reason":"test"}`)
	if code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	var res api.RevokeResponse
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.SSHSerials, []string{strconv.FormatUint(mine.Serial, 10)}) {
		t.Errorf("ssh serials %v, want %d", res.SSHSerials, mine.Serial)
	}
	if !strings.Contains(e.audits(), "ssh.revoke") {
		t.Error("no ssh.revoke audit record")
	}

	code, ct, krl := e.get("/ssh/krl")
	if code != 200 || ct != "application/octet-stream" {
		t.Fatalf("/ssh/krl: %d %s", code, ct)
	}
	dir := t.TempDir()
	krlPath := filepath.Join(dir, "revoked.krl")
	if err := os.WriteFile(krlPath, krl, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		cert    *ssh.Certificate
		revoked bool
	}{"revoked identity": {mine, true}, "other identity": {other, false}} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+"-cert.pub")
		if err := os.WriteFile(p, ssh.MarshalAuthorizedKey(tc.cert), 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command(kg, "-Q", "-f", krlPath, p).CombinedOutput()
		if got := strings.Contains(string(out), "REVOKED"); got != tc.revoked {
			t.Errorf("%s: ssh-keygen -Q: %s", name, out)
		}
	}
	if code, _, _ := e.get("/ssh/krl"); code != http.StatusOK {
		t.Error("second /ssh/krl")
	}
}

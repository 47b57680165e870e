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
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
)

// sshTestKey is a new Ed25519 key's authorized_keys line.
func sshTestKey(t testing.TB) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// sshSign posts a signing request over cl (mTLS) and decodes a success.
func (e *env) sshSign(cl *http.Client, pub, typ string) (int, api.SSHSignResponse, []byte) {
	e.t.Helper()
	code, body := e.post(cl, "/v1/ssh/sign", api.SSHSignRequest{PublicKey: pub, Type: typ})
	var res api.SSHSignResponse
	if code == http.StatusOK {
		if err := json.Unmarshal(body, &res); err != nil {
			e.t.Fatal(err)
		}
	}
	return code, res, body
}

func parseCert(t testing.TB, line string) *ssh.Certificate {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatalf("certificate %q: %v", line, err)
	}
	c, ok := k.(*ssh.Certificate)
	if !ok {
		t.Fatalf("%q is not a certificate", line)
	}
	return c
}

// keygenList runs ssh-keygen -L on the certificate line.
func keygenList(t *testing.T, kg, line string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "id_ed25519-cert.pub")
	if err := os.WriteFile(p, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kg, "-L", "-f", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -L: %v: %s", err, out)
	}
	return string(out)
}

// Through the real server over mTLS with enrolled identities: a user
// certificate for the account identity and a host certificate for the
// host identity, as golang.org/x/crypto/ssh and ssh-keygen -L read them;
// the host's sshd configuration lists its granted principals; after a
// revocation of the identity, signing is refused.
func TestSSHSignOverMTLS(t *testing.T) {
	kg := sshKeygenTool(t)
	e := newEnv(t, true)
	ctx := t.Context()
	akey, achain := e.enroll("web1", "billing-batch")
	hkey, hchain := e.enroll("web1", "")
	acct, host := e.client(akey, achain, false), e.client(hkey, hchain, false)
	td := e.ca.TrustDomain()
	sa := "billing-batch@" + inventory.DefaultEnv

	if _, err := e.inv.SetSSHPolicy(ctx, "billing-batch", []string{"pty"}, false); err != nil {
		t.Fatal(err)
	}
	code, res, body := e.sshSign(acct, sshTestKey(t)+" root@elsewhere", "")
	if code != http.StatusOK {
		t.Fatalf("sign user: %d %s", code, body)
	}
	if res.UserCA != e.ca.UserCAPublicKey() || res.HostCA != e.ca.HostCAPublicKey() {
		t.Errorf("CA keys %q %q", res.UserCA, res.HostCA)
	}
	c := parseCert(t, res.Certificate)
	if c.CertType != ssh.UserCert || !slices.Equal(c.ValidPrincipals, []string{sa}) || c.KeyId != "spiffe://"+td+"/host/web1/sa/billing-batch" ||
		c.Serial != res.Serial || !res.ValidBefore.Equal(time.Unix(int64(c.ValidBefore), 0)) {
		t.Errorf("user cert: type %d principals %v key id %q serial %d/%d", c.CertType, c.ValidPrincipals, c.KeyId, c.Serial, res.Serial)
	}
	if ssh.FingerprintSHA256(c.SignatureKey) != ssh.FingerprintSHA256(e.ca.SSHUserCA()) {
		t.Error("user cert not signed by the user CA")
	}
	l := keygenList(t, kg, res.Certificate)
	for _, want := range []string{"Type: ssh-ed25519-cert-v01@openssh.com user certificate", `Key ID: "spiffe://` + td + `/host/web1/sa/billing-batch"`,
		"Principals: \n                " + sa, "permit-pty", "Critical Options: (none)"} {
		if !strings.Contains(l, want) {
			t.Errorf("ssh-keygen -L lacks %q:\n%s", want, l)
		}
	}
	if strings.Contains(l, "permit-port-forwarding") || strings.Contains(l, "permit-agent-forwarding") {
		t.Errorf("extensions beyond the policy:\n%s", l)
	}
	if got := time.Unix(int64(c.ValidBefore), 0).Sub(time.Unix(int64(c.ValidAfter), 0)); got != 61*time.Minute {
		t.Errorf("user validity %s, want 1h + 1m backdate", got)
	}

	// The host identity: a host certificate; a user one is refused, and the
	// account identity gets no host certificate.
	code, res, body = e.sshSign(host, sshTestKey(t), api.SSHCertHost)
	if code != http.StatusOK {
		t.Fatalf("sign host: %d %s", code, body)
	}
	hc := parseCert(t, res.Certificate)
	if hc.CertType != ssh.HostCert || !slices.Equal(hc.ValidPrincipals, []string{"web1"}) || len(hc.Extensions) != 0 {
		t.Errorf("host cert: type %d principals %v extensions %v", hc.CertType, hc.ValidPrincipals, hc.Extensions)
	}
	if d := time.Unix(int64(hc.ValidBefore), 0).Sub(time.Unix(int64(hc.ValidAfter), 0)); d > 7*24*time.Hour+time.Minute {
		t.Errorf("host validity %s", d)
	}
	l = keygenList(t, kg, res.Certificate)
	for _, want := range []string{"host certificate", "Principals: \n                web1", "Extensions: (none)"} {
		if !strings.Contains(l, want) {
			t.Errorf("ssh-keygen -L (host) lacks %q:\n%s", want, l)
		}
	}
	for _, tc := range []struct {
		desc string
		cl   *http.Client
		typ  string
		want string
	}{
		{"user cert for the host identity", host, "", "user certificates are for account identities"},
		{"host cert for an account", acct, "host", "host certificates are for the host identity only"},
	} {
		code, _, body := e.sshSign(tc.cl, sshTestKey(t), tc.typ)
		if code != http.StatusForbidden || !strings.Contains(errBody(t, body).Error, tc.want) {
			t.Errorf("%s: %d %s", tc.desc, code, body)
		}
	}
	if code, _, body := e.sshSign(acct, "ssh-dss AAAA", ""); code != http.StatusBadRequest {
		t.Errorf("bad key: %d %s", code, body)
	}
	if code, _, body := e.sshSign(e.client(nil, nil, false), sshTestKey(t), ""); code != http.StatusUnauthorized {
		t.Errorf("no client certificate: %d %s", code, body)
	}

	// The host's sshd configuration: grants on web1 and on its environment.
	e.ingest("ci1", "deploy")
	e.owner("deploy", "ops")
	e.owner("legacy", "ops")
	for _, sp := range []inventory.SSHGrantSpec{{Identity: "deploy", As: "billing-batch", Host: "web1"}, {Identity: "billing-batch", As: "legacy", Env: inventory.DefaultEnv},
		{Identity: "deploy", As: "legacy", Host: "ci1"}} {
		if _, err := e.inv.AllowSSH(ctx, sp); err != nil {
			t.Fatal(err)
		}
	}
	getConfig := func(cl *http.Client) (int, []byte) {
		resp, err := cl.Get(e.url + "/v1/ssh/host-config")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, body = getConfig(host)
	var cfg api.SSHHostConfig
	if code != http.StatusOK || json.Unmarshal(body, &cfg) != nil {
		t.Fatalf("host-config: %d %s", code, body)
	}
	want := map[string][]string{"billing-batch": {"deploy@default"}, "legacy": {"billing-batch@default"}}
	if cfg.Host != "web1" || !slices.Equal(cfg.TrustedUserCAKeys, []string{e.ca.UserCAPublicKey()}) || len(cfg.Principals) != len(want) {
		t.Errorf("host-config %+v", cfg)
	}
	for a, p := range want {
		if !slices.Equal(cfg.Principals[a], p) {
			t.Errorf("principals of %s: %v, want %v", a, cfg.Principals[a], p)
		}
	}
	if code, body := getConfig(acct); code != http.StatusForbidden {
		t.Errorf("host-config for an account identity: %d %s", code, body)
	}

	// Revoked: signing is refused (the X.509 certificate is revoked).
	code, body = e.operatorCall(operatorToken(t, e), "POST", "/v1/revocations", `{"account":"billing-batch","host":"web1","reason":"test"}`)
	if code != http.StatusOK {
		t.Fatalf("revoke: %d %s", code, body)
	}
	code, _, body = e.sshSign(acct, sshTestKey(t), "")
	if code != http.StatusUnauthorized || !strings.Contains(errBody(t, body).Error, "revoked") {
		t.Errorf("after revocation: %d %s", code, body)
	}
	if a := e.audits(); !strings.Contains(a, "ssh.sign ok web1/billing-batch") || !strings.Contains(a, "ssh.sign refused web1/billing-batch") {
		t.Errorf("audit:\n%s", a)
	}
}

package issuer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/issuer/issuertest"
)

func sshLine(t testing.TB, pub any, comment string) string {
	t.Helper()
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	if comment != "" {
		line += " " + comment
	}
	return line
}

func edLine(t testing.TB, comment string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sshLine(t, pub, comment)
}

func mustParseSSH(t testing.TB, line, typ string) ssh.PublicKey {
	t.Helper()
	k, err := issuer.ParseSSHPublicKey(line, typ)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseSSHPublicKey(t *testing.T) {
	ec := func(c elliptic.Curve) string {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return sshLine(t, &k.PublicKey, "")
	}
	rsaLine := func(bits int) string {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		return sshLine(t, &k.PublicKey, "")
	}
	rsa2048, rsa1024 := rsaLine(2048), rsaLine(1024)
	ed := edLine(t, "deploy@ci1")
	tests := []struct {
		desc, line, typ string
		refused         string // "" for accepted
	}{
		{"ed25519 user", ed, "user", ""},
		{"ed25519 default type", ed, "", ""},
		{"ed25519 host", ed, "host", ""},
		{"p256 user", ec(elliptic.P256()), "user", ""},
		{"p384 user", ec(elliptic.P384()), "user", ""},
		{"p521 host", ec(elliptic.P521()), "host", ""},
		{"rsa 2048 host", rsa2048, "host", ""},
		{"rsa user", rsa2048, "user", "RSA key is accepted for host certificates only"},
		{"rsa 1024 host", rsa1024, "host", "at least 2048 bits"},
		{"options", `command="true" ` + ed, "user", "without authorized_keys options"},
		{"two lines", ed + "\n" + ed, "user", "one line only"},
		{"garbage", "ssh-ed25519 AAAA", "user", "not an OpenSSH public key"},
		{"empty", " ", "user", "missing"},
		{"long", strings.Repeat("A", 17<<10), "user", "longer than"},
		{"unknown type", ed, "admin", `type "admin"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := issuer.ParseSSHPublicKey(tc.line, tc.typ)
			var req *issuer.RequestError
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refused != "" && (!errors.As(err, &req) || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("err %v, want a RequestError with %q", err, tc.refused)
			}
		})
	}
}

func FuzzParseSSHPublicKey(f *testing.F) {
	f.Add(edLine(f, "c"), "user")
	f.Add("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ", "host")
	f.Add(`from="1.2.3.4" ssh-ed25519 AAAA`, "")
	f.Fuzz(func(t *testing.T, line, typ string) {
		k, err := issuer.ParseSSHPublicKey(line, typ)
		if err == nil && k == nil {
			t.Fatal("nil key without error")
		}
		var req *issuer.RequestError
		if err != nil && !errors.As(err, &req) {
			t.Fatalf("not a RequestError: %v", err)
		}
	})
}

func validity(c *ssh.Certificate) time.Duration {
	return time.Duration(c.ValidBefore-c.ValidAfter) * time.Second
}

// A user certificate: the principal is the inventory's service account
// key whatever the key's comment says, the key id the SPIFFE ID, the
// validity the identity's X.509 one (plus the backdate), no extensions
// until the account's SSH policy permits some; audited.
func TestSignSSHUser(t *testing.T) {
	e := issuertest.New(t, true)
	ctx := context.Background()
	_, chain := e.Enroll("web1", "billing-batch")
	st, err := e.Inv.Identity(ctx, "web1", "billing-batch")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := e.Iss.SignSSH(ctx, chain, mustParseSSH(t, edLine(t, "root@web1"), ""), "")
	if err != nil {
		t.Fatal(err)
	}
	if cert.CertType != ssh.UserCert {
		t.Errorf("type %d", cert.CertType)
	}
	if !slices.Equal(cert.ValidPrincipals, []string{st.ServiceAccount}) || !strings.HasPrefix(st.ServiceAccount, "billing-batch@") {
		t.Errorf("principals %v, want [%s]", cert.ValidPrincipals, st.ServiceAccount)
	}
	if want := "spiffe://" + e.CA.TrustDomain() + "/host/web1/sa/billing-batch"; cert.KeyId != want {
		t.Errorf("key id %q, want %q", cert.KeyId, want)
	}
	if got := validity(cert); got != ca.DefaultValidity+ca.DefaultBackdate {
		t.Errorf("validity %s, want the CA default 1h + 1m backdate", got)
	}
	if len(cert.Extensions) != 0 || len(cert.CriticalOptions) != 0 {
		t.Errorf("extensions %v, options %v: want none by default", cert.Extensions, cert.CriticalOptions)
	}
	if !strings.Contains(e.Audits(), audit.ActionSSHSign+" ok web1/billing-batch") {
		t.Errorf("no ssh.sign audit:\n%s", e.Audits())
	}

	// The policy permits extensions, for this account only.
	if _, err := e.Inv.SetSSHPolicy(ctx, "billing-batch", []string{"pty", "port-forwarding"}, false); err != nil {
		t.Fatal(err)
	}
	cert, err = e.Iss.SignSSH(ctx, chain, mustParseSSH(t, edLine(t, ""), ""), issuer.SSHUser)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(cert.Extensions)); !slices.Equal(got, []string{"permit-port-forwarding", "permit-pty"}) {
		t.Errorf("extensions %v", got)
	}
	if _, err := e.Inv.SetSSHPolicy(ctx, "billing-batch", []string{"none"}, false); err != nil {
		t.Fatal(err)
	}
	cert, err = e.Iss.SignSSH(ctx, chain, mustParseSSH(t, edLine(t, ""), ""), issuer.SSHUser)
	if err != nil || len(cert.Extensions) != 0 {
		t.Fatalf("after --permit none: %v %v", cert, err)
	}

	// The tier's validity, as a renewal would get it (the CA keeps it
	// within 24 h).
	for _, tc := range []struct{ tier, want time.Duration }{{2 * time.Hour, 2 * time.Hour}, {24 * time.Hour, 24 * time.Hour}} {
		iss, err := issuer.New(issuer.Config{CA: e.CA, Inventory: e.Inv, Now: e.Clock.Now, Logger: slog.New(slog.DiscardHandler),
			TierValidity: map[inventory.Tier]time.Duration{st.Tier: tc.tier}})
		if err != nil {
			t.Fatal(err)
		}
		cert, err := iss.SignSSH(ctx, chain, mustParseSSH(t, edLine(t, ""), ""), issuer.SSHUser)
		if err != nil {
			t.Fatal(err)
		}
		if got := validity(cert); got != tc.want+ca.DefaultBackdate {
			t.Errorf("tier validity %s: certificate for %s", tc.tier, got)
		}
	}
}

// Host certificates: the host identity only, principals from the
// inventory, 7 days; user certificates are refused to it, host
// certificates to an account identity.
func TestSignSSHHost(t *testing.T) {
	e := issuertest.New(t, true)
	ctx := context.Background()
	_, hostChain := e.Enroll("web1", "")
	_, acctChain := e.Enroll("web1", "billing-batch")
	cert, err := e.Iss.SignSSH(ctx, hostChain, mustParseSSH(t, edLine(t, "other.example"), "host"), issuer.SSHHost)
	if err != nil {
		t.Fatal(err)
	}
	if cert.CertType != ssh.HostCert || !slices.Equal(cert.ValidPrincipals, []string{"web1"}) {
		t.Errorf("host cert type %d principals %v", cert.CertType, cert.ValidPrincipals)
	}
	if got := validity(cert); got != ca.MaxSSHHostValidity+ca.DefaultBackdate || got > 7*24*time.Hour+time.Minute {
		t.Errorf("host validity %s", got)
	}
	if len(cert.Extensions) != 0 {
		t.Errorf("host extensions %v", cert.Extensions)
	}
	var denied *issuer.DeniedError
	if _, err := e.Iss.SignSSH(ctx, acctChain, mustParseSSH(t, edLine(t, ""), "host"), issuer.SSHHost); !errors.As(err, &denied) ||
		!strings.Contains(err.Error(), "host certificates are for the host identity only") {
		t.Errorf("host cert for an account identity: %v", err)
	}
	if _, err := e.Iss.SignSSH(ctx, hostChain, mustParseSSH(t, edLine(t, ""), ""), issuer.SSHUser); !errors.As(err, &denied) ||
		!strings.Contains(err.Error(), "user certificates are for account identities") {
		t.Errorf("user cert for the host identity: %v", err)
	}
	if _, err := e.Iss.SSHHostConfig(ctx, acctChain); !errors.As(err, &denied) {
		t.Errorf("host config for an account identity: %v", err)
	}
	hc, err := e.Iss.SSHHostConfig(ctx, hostChain)
	if err != nil || hc.Host != "web1" || hc.UserCA != e.CA.UserCAPublicKey() {
		t.Errorf("host config %+v %v", hc, err)
	}
}

// Every gate of a renewal refuses SSH signing, with the renewal's reason,
// and the refusal is audited.
func TestSignSSHGates(t *testing.T) {
	tests := []struct {
		desc   string
		break_ func(e *issuertest.Env)
		reason string
	}{
		{"no owner", func(e *issuertest.Env) {
			if err := e.Inv.UnsetOwner(context.Background(), "billing-batch"); err != nil {
				e.T.Fatal(err)
			}
		}, "account billing-batch has no owner"},
		{"retired", func(e *issuertest.Env) {
			if err := e.Inv.RetireAccount(context.Background(), "billing-batch", true, "test"); err != nil {
				e.T.Fatal(err)
			}
		}, "account billing-batch is retired"},
		{"gone", func(e *issuertest.Env) { e.Ingest("web1", "nobody-owns", "legacy") }, "account billing-batch is gone from host web1"},
		{"revoked", func(e *issuertest.Env) {
			if _, err := e.Iss.Revoke(audit.WithActor(context.Background(), "test"), issuer.RevokeRequest{Host: "web1", Account: "billing-batch", Reason: "test"}); err != nil {
				e.T.Fatal(err)
			}
		}, "client certificate has been revoked"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			e := issuertest.New(t, true)
			_, chain := e.Enroll("web1", "billing-batch")
			tc.break_(e)
			_, err := e.Iss.SignSSH(context.Background(), chain, mustParseSSH(t, edLine(t, ""), ""), "")
			if err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err %v, want %q", err, tc.reason)
			}
			if !strings.Contains(e.Audits(), audit.ActionSSHSign+" refused web1/billing-batch") {
				t.Errorf("refusal not audited:\n%s", e.Audits())
			}
		})
	}
}

// A superseded certificate (two renewals behind) is refused as a reuse.
func TestSignSSHSupersededCertificate(t *testing.T) {
	e := issuertest.New(t, true)
	ctx := context.Background()
	_, c0 := e.Enroll("web1", "billing-batch")
	c1, err := e.Iss.Renew(ctx, c0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Iss.SignSSH(ctx, c0, mustParseSSH(t, edLine(t, ""), ""), ""); err != nil {
		t.Errorf("the certificate renewed to the current one: %v", err)
	}
	if _, err := e.Iss.Renew(ctx, c1); err != nil {
		t.Fatal(err)
	}
	var reuse *issuer.ReuseError
	if _, err := e.Iss.SignSSH(ctx, c0, mustParseSSH(t, edLine(t, ""), ""), ""); !errors.As(err, &reuse) {
		t.Errorf("superseded: %v", err)
	}
}

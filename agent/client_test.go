package agent

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent/agenttest"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/internal/certutil"
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func enrollOpts(ca *agenttest.Server, dir, token string) EnrollOptions {
	return EnrollOptions{Server: ca.URL, RootFingerprint: ca.Fingerprint, Token: token, Dir: dir}
}

func TestEnroll(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	ctx := context.Background()
	for _, kt := range []string{"", KeyEd25519, KeyRSA} {
		t.Run("key "+kt, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "billing")
			o := enrollOpts(ca, dir, ca.Token("db1", "billing"))
			o.KeyType = kt
			// The fingerprint is accepted in the forms people paste.
			o.RootFingerprint = strings.ToUpper(ca.Fingerprint)
			res, err := Enroll(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Identity != testIdentity || res.Serial == "" || time.Until(res.NotAfter) < 50*time.Minute {
				t.Errorf("result %+v", res)
			}
			c := mustLoad(t, dir)
			if Serial(c.Leaf()) != res.Serial || len(c.Chain) != 2 {
				t.Error("cert.pem does not hold the enrolled chain")
			}
			if kt != "" && keyTypeOf(c.Key) != kt {
				t.Errorf("key type %s, want %s", keyTypeOf(c.Key), kt)
			}
			s, _ := OpenDir(dir, "", false)
			root, err := s.LoadRoot()
			if err != nil || certutil.Fingerprint(root) != ca.Fingerprint {
				t.Fatalf("root.pem: %v", err)
			}
			info, err := s.LoadIdentity()
			if err != nil || info.Server != ca.URL || info.RootFingerprint != ca.Fingerprint {
				t.Errorf("identity.json = %+v, %v", info, err)
			}
			// The key was made here and never sent: the server only ever
			// saw its public half, and the file holds no token.
			for _, name := range []string{IdentityFile, CertFile, RootFile} {
				b, _ := os.ReadFile(filepath.Join(dir, name))
				if strings.Contains(string(b), o.Token) || strings.Contains(string(b), "PRIVATE KEY") {
					t.Errorf("%s holds the token or a private key", name)
				}
			}
		})
	}
}

func TestEnrollFailures(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	other := agenttest.New(t, time.Hour)
	ctx := context.Background()
	used := ca.Token("db1", "billing")
	if _, err := Enroll(ctx, enrollOpts(ca, filepath.Join(t.TempDir(), "first"), used)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc    string
		mod     func(*EnrollOptions)
		wantErr string
		hint    string
	}{
		{desc: "fingerprint of another root", mod: func(o *EnrollOptions) { o.RootFingerprint = other.Fingerprint }, wantErr: "no root at"},
		{desc: "malformed fingerprint", mod: func(o *EnrollOptions) { o.RootFingerprint = "abc" }, wantErr: "not a hex SHA-256"},
		{desc: "used token", mod: func(o *EnrollOptions) { o.Token = used }, wantErr: "401", hint: "roster enroll"},
		{desc: "empty token", mod: func(o *EnrollOptions) { o.Token = "" }, wantErr: "token is empty"},
		{desc: "http URL", mod: func(o *EnrollOptions) { o.Server = strings.Replace(o.Server, "https", "http", 1) }, wantErr: "want https://"},
		{desc: "unknown user", mod: func(o *EnrollOptions) { o.User = "no-such-user-roster" }, wantErr: "no-such-user-roster"},
		{desc: "bad key type", mod: func(o *EnrollOptions) { o.KeyType = "dsa" }, wantErr: `key type "dsa"`},
		{desc: "server down", mod: func(o *EnrollOptions) { o.Server = "https://127.0.0.1:1" }, wantErr: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "id")
			o := enrollOpts(ca, dir, ca.Token("db1", "billing"))
			tt.mod(&o)
			_, err := Enroll(ctx, o)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if o.Token != "" && strings.Contains(err.Error(), o.Token) {
				t.Error("error shows the token")
			}
			var se *ServerError
			if tt.hint != "" && (!errors.As(err, &se) || !strings.Contains(se.Hint(), tt.hint)) {
				t.Errorf("hint missing: %v", err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Error("a failed enrollment wrote the directory")
			}
		})
	}
}

// TestEnrollFailureKeepsExistingIdentity: a failed enrollment over an
// enrolled directory leaves every file as it was.
func TestEnrollFailureKeepsExistingIdentity(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	other := agenttest.New(t, time.Hour)
	dir := filepath.Join(t.TempDir(), "billing")
	if _, err := Enroll(context.Background(), enrollOpts(ca, dir, ca.Token("db1", "billing"))); err != nil {
		t.Fatal(err)
	}
	before := map[string]string{}
	for _, f := range []string{CertFile, KeyFile, RootFile, IdentityFile} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		before[f] = string(b)
	}
	for _, o := range []EnrollOptions{
		enrollOpts(ca, dir, "spent-or-unknown"),
		enrollOpts(other, dir, other.Token("db1", "billing")), // pinned root is ca's
	} {
		if o.Server == other.URL {
			o.RootFingerprint = ca.Fingerprint
		}
		if _, err := Enroll(context.Background(), o); err == nil {
			t.Fatal("enrollment succeeded")
		}
		for f, want := range before {
			if b, _ := os.ReadFile(filepath.Join(dir, f)); string(b) != want {
				t.Errorf("%s changed by a failed enrollment", f)
			}
		}
	}
}

func TestVerifyChain(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	other := agenttest.New(t, time.Hour)
	key, _ := GenerateKey("")
	otherKey, _ := GenerateKey("")
	now := time.Now()
	good, _ := ca.Issue(key.Public(), testIdentity, now, now.Add(time.Hour))
	foreign, _ := other.Issue(key.Public(), testIdentity, now, now.Add(time.Hour))
	expired, _ := ca.Issue(key.Public(), testIdentity, now.Add(-2*time.Hour), now.Add(-time.Hour))
	tests := []struct {
		desc    string
		chain   []*x509.Certificate
		pub     any
		wantErr string
	}{
		{desc: "good", chain: good, pub: key.Public()},
		{desc: "other CA", chain: foreign, pub: key.Public(), wantErr: "pinned root"},
		{desc: "other key", chain: good, pub: otherKey.Public(), wantErr: "another key"},
		{desc: "expired", chain: expired, pub: key.Public(), wantErr: "pinned root"},
		{desc: "no intermediate", chain: good[:1], pub: key.Public(), wantErr: "pinned root"},
		{desc: "empty", chain: nil, pub: key.Public(), wantErr: "empty chain"},
	}
	for _, tt := range tests {
		err := VerifyChain(tt.chain, ca.Root, tt.pub, now)
		if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.desc, err, tt.wantErr)
		}
	}
}

func TestClientRenewRekey(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	other := agenttest.New(t, time.Hour)
	ctx := context.Background()
	cred := newCred(t, ca, "", time.Hour)
	c, err := NewClient(ca.URL, ca.Root, nil)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := c.Renew(ctx, cred)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyChain(chain, ca.Root, cred.Key.Public(), time.Now()); err != nil {
		t.Fatal(err)
	}
	key, _ := GenerateKey(KeyEd25519)
	csr, _ := newCSR(key)
	chain, err = c.Rekey(ctx, cred, csr)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyChain(chain, ca.Root, key.Public(), time.Now()); err != nil {
		t.Fatal(err)
	}
	// Refusals are told apart from outages.
	ca.Revoke(Serial(cred.Leaf()))
	_, err = c.Renew(ctx, cred)
	if !isRefused(err) || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("revoked: err = %v, want a refusal", err)
	}
	ca.SetDown(true)
	_, err = c.Renew(ctx, newCred(t, ca, "", time.Hour))
	if err == nil || isRefused(err) || !strings.Contains(err.Error(), "503") {
		t.Errorf("down: err = %v, want a 503 that is not a refusal", err)
	}
	ca.SetDown(false)
	// A server whose TLS chain is not under the pinned root is not talked to.
	c2, _ := NewClient(other.URL, ca.Root, nil)
	if _, err := c2.Renew(ctx, cred); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("foreign server: err = %v", err)
	}
}

func TestDecodeSignResponse(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	key, _ := GenerateKey("")
	chain, _ := ca.Issue(key.Public(), testIdentity, time.Now(), time.Now().Add(time.Hour))
	leaf, inter := string(EncodeCertificates(chain[:1])), string(EncodeCertificates(chain[1:]))
	js := func(v any) []byte { b, _ := json.Marshal(v); return b }
	tests := []struct {
		desc    string
		body    []byte
		wantN   int
		wantErr string
	}{
		{desc: "step shape", body: js(api.SignResponse{Crt: leaf, CA: inter, CertChain: []string{leaf, inter}}), wantN: 2},
		{desc: "crt and ca only", body: js(map[string]any{"crt": leaf, "ca": inter}), wantN: 2},
		{desc: "chain wins", body: js(map[string]any{"crt": inter, "certChain": []string{leaf}}), wantN: 1},
		{desc: "bundle in one element", body: js(map[string]any{"certChain": []string{leaf + inter}}), wantN: 2},
		{desc: "empty object", body: []byte(`{}`), wantErr: "no certificate"},
		{desc: "not json", body: []byte(`<html>`), wantErr: "decode certificate response"},
		{desc: "garbage pem", body: js(map[string]any{"crt": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}), wantErr: "chain element 0"},
		{desc: "too long", body: js(map[string]any{"certChain": []string{strings.Repeat(leaf, 9)}}), wantErr: "at most 8"},
	}
	for _, tt := range tests {
		got, err := DecodeSignResponse(tt.body)
		if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.desc, err, tt.wantErr)
			continue
		}
		if len(got) != tt.wantN {
			t.Errorf("%s: %d certificates, want %d", tt.desc, len(got), tt.wantN)
		}
	}
}

func TestDecodeError(t *testing.T) {
	tests := []struct {
		body        string
		status      int
		msg, hint   string
		wantRefused bool
	}{
		{body: string(mustJSON(api.Error{Error: "account billing has no owner", Hint: "roster owner set billing ..."})), status: 403, msg: "account billing has no owner", hint: "roster owner set billing ...", wantRefused: true},
		{body: string(mustJSON(api.Error{Error: "client certificate has expired", Status: 401, Message: "client certificate has expired"})), status: 401, msg: "client certificate has expired", wantRefused: true},
		{body: `{"status":401,"message":"unauthorized"}`, status: 401, msg: "unauthorized", wantRefused: true},
		{body: `<html>bad gateway</html>`, status: 502},
		{body: "{\"error\":\"line\\nbreak\\u001b[31m\"}", status: 500, msg: "line break [31m"},
	}
	for _, tt := range tests {
		e := decodeError(tt.status, []byte(tt.body))
		if e.Message != tt.msg || e.Hint() != tt.hint || e.Refused() != tt.wantRefused {
			t.Errorf("%s: got %q %q %v", tt.body, e.Message, e.Hint(), e.Refused())
		}
		if !strings.Contains(e.Error(), "server answered") {
			t.Errorf("Error() = %q", e.Error())
		}
	}
}

func FuzzDecodeSignResponse(f *testing.F) {
	ca, err := agenttest.Start(time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	defer ca.Close()
	key, _ := GenerateKey("")
	chain, _ := ca.Issue(key.Public(), testIdentity, time.Now(), time.Now().Add(time.Hour))
	leaf := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0].Raw}))
	inter := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[1].Raw}))
	seed, _ := json.Marshal(api.SignResponse{Crt: leaf, CA: inter, CertChain: []string{leaf, inter}})
	f.Add(seed)
	f.Add([]byte(`{"crt":"","ca":""}`))
	f.Add([]byte(`{"certChain":["-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := DecodeSignResponse(body)
		if err == nil && (len(got) == 0 || len(got) > 8) {
			t.Fatalf("accepted a chain of %d certificates", len(got))
		}
		for _, c := range got {
			if c == nil {
				t.Fatal("nil certificate without an error")
			}
		}
		e := decodeError(500, body)
		if strings.ContainsAny(e.Message+e.Hint(), "\n\r\x1b") {
			t.Fatal("control characters survive in a server message")
		}
	})
}

// BenchmarkRenew is one agent renewal as the loop does it: a fresh mTLS
// connection to a server on 127.0.0.1, decode, verify against the pinned
// root, install atomically (fsync) in the identity directory.
func BenchmarkRenew(b *testing.B) {
	ca, err := agenttest.Start(time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	defer ca.Close()
	dir := filepath.Join(b.TempDir(), "id")
	if _, err := Enroll(context.Background(), enrollOpts(ca, dir, ca.Token("db1", "billing"))); err != nil {
		b.Fatal(err)
	}
	r, err := newRunner(&Config{}, Identity{Name: "billing", Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		cred, err := r.store.Load(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.renew(ctx, cred); err != nil {
			b.Fatal(err)
		}
	}
}

package server

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/access/passkeytest"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

// testPasskeyOrigin is the origin the in-process tests' passkeys are
// registered for.
const testPasskeyOrigin = "https://localhost"

// registerPasskey registers a passkey of a new software authenticator for
// tok in s, as a browser at testPasskeyOrigin would, and returns it.
func registerPasskey(t testing.TB, s store.Store, tok access.Token) access.Passkey {
	t.Helper()
	p, _ := registerAuthenticator(t, s, tok)
	return p
}

// registerAuthenticator is registerPasskey that also returns the
// authenticator, to sign in with.
func registerAuthenticator(t testing.TB, s store.Store, tok access.Token) (access.Passkey, *passkeytest.Authenticator) {
	t.Helper()
	pk := testPasskeys(t, s)
	ctx := audit.WithActor(context.Background(), tok.Actor())
	c, err := pk.BeginRegistration(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	a := passkeytest.New(t, testPasskeyOrigin, "localhost")
	p, err := pk.FinishRegistration(ctx, tok, c.ID, "test key", a.Create(t, c.Options))
	if err != nil {
		t.Fatal(err)
	}
	return p, a
}

func testPasskeys(t testing.TB, s store.Store) *access.Passkeys {
	t.Helper()
	pk, err := access.NewPasskeys(s, access.RelyingParty{Origin: testPasskeyOrigin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

// TestPasskeyAPIOwnership: an operator lists and revokes its own passkeys
// only; an admin anyone's. The report shows each operator's factor.
func TestPasskeyAPIOwnership(t *testing.T) {
	e := newAccessEnv(t)
	ctx := context.Background()
	tokenOf := func(c credential) access.Token {
		tok, err := access.New(e.inv.Store(), nil).Authenticate(ctx, e.tokens[c])
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	viewerKey := registerPasskey(t, e.inv.Store(), tokenOf(credViewer))
	adminKey := registerPasskey(t, e.inv.Store(), tokenOf(credAdmin))
	for _, tc := range []struct {
		desc   string
		c      credential
		method string
		path   string
		want   int
		has    []string // in the body
		hasnt  []string
	}{
		{"viewer lists its own", credViewer, "GET", "/v1/passkeys?format=json", 200, []string{viewerKey.ID}, []string{adminKey.ID}},
		{"viewer names itself", credViewer, "GET", "/v1/passkeys?token=t-viewer", 200, []string{viewerKey.ID}, []string{adminKey.ID}},
		{"viewer lists another's", credViewer, "GET", "/v1/passkeys?token=t-admin", 403, []string{"needs role admin"}, []string{adminKey.ID}},
		{"admin lists all", credAdmin, "GET", "/v1/passkeys", 200, []string{viewerKey.ID, adminKey.ID, "test key"}, nil},
		{"admin lists one token's", credAdmin, "GET", "/v1/passkeys?token=t-viewer&format=json", 200, []string{viewerKey.ID}, []string{adminKey.ID}},
		{"admin names an unknown token", credAdmin, "GET", "/v1/passkeys?token=nobody", 404, []string{"roster token list"}, nil},
		{"nothing leaks", credAdmin, "GET", "/v1/passkeys?format=json", 200, nil, []string{"publicKey", "user_handle", "credential"}},
		{"operator revokes another's", credOperator, "DELETE", "/v1/passkeys/" + adminKey.ID, 403, []string{"needs role admin"}, nil},
		{"viewer revokes an unknown one", credViewer, "DELETE", "/v1/passkeys/pk-0000", 404, []string{"roster token passkeys"}, nil},
		{"report before any passkey sign-in", credViewer, "GET", "/v1/report?format=json", 200,
			[]string{`"name": "t-admin"`, `"factor": "token"`, `"roster_operators"`}, []string{`"factor": "passkey"`}},
		{"viewer revokes its own", credViewer, "DELETE", "/v1/passkeys/" + viewerKey.ID, 200, nil, nil},
		{"admin revokes another's", credAdmin, "DELETE", "/v1/passkeys/" + adminKey.ID, 200, nil, nil},
		{"again", credAdmin, "DELETE", "/v1/passkeys/" + adminKey.ID, 400, []string{"already revoked"}, nil},
	} {
		code, body := e.call(tc.c, tc.method, tc.path, "", "")
		if code != tc.want {
			t.Errorf("%s: %d %.300s, want %d", tc.desc, code, body, tc.want)
		}
		for _, s := range tc.has {
			if !strings.Contains(body, s) {
				t.Errorf("%s: body lacks %q: %.500s", tc.desc, s, body)
			}
		}
		for _, s := range tc.hasnt {
			if strings.Contains(body, s) {
				t.Errorf("%s: body has %q: %.500s", tc.desc, s, body)
			}
		}
	}
	// A passkey registered and used makes its operator hardware-bound.
	_, a := registerAuthenticator(t, e.inv.Store(), tokenOf(credAdmin))
	pk := testPasskeys(t, e.inv.Store())
	c, err := pk.BeginLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok, _, err := pk.FinishLogin(ctx, c.ID, a.Get(t, c.Options)); err != nil || tok.Name != "t-admin" {
		t.Fatalf("sign-in = %+v, %v", tok, err)
	}
	_, body := e.call(credViewer, "GET", "/v1/report?format=json", "", "")
	var rep api.Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	factors := map[string]string{}
	for _, o := range rep.Operators {
		factors[o.Name] = o.Factor + " " + o.Strength
	}
	if factors["t-admin"] != "passkey hardware_bound" || factors["t-viewer"] != "token secret_file" || len(factors) != 3 {
		t.Errorf("report operators: %+v", rep.Operators)
	}
	if o := rep.Tiers[0].Operators; o == nil || o.Accounts != 3 || o.ByStrength["hardware_bound"] != 1 || o.ByStrength["secret_file"] != 2 {
		t.Errorf("tier 1 operators: %+v", o)
	}
}

// tokenRecord is the web user's token (without its secret).
func (u *webUser) tokenRecord() access.Token {
	u.t.Helper()
	tok, err := access.New(u.e.inv.Store(), nil).Authenticate(context.Background(), u.token)
	if err != nil {
		u.t.Fatal(err)
	}
	return tok
}

func TestDefaultUIOrigin(t *testing.T) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		t.Skip("no host name")
	}
	host = strings.ToLower(host)
	if !strings.Contains(host, ".") {
		host = "localhost" // a one-label name is no WebAuthn relying party
	}
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8443}, "https://localhost:8443"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 9000}, "https://localhost:9000"},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 443}, "https://localhost"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8443}, "https://" + host + ":8443"},
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 8443}, "https://" + host + ":8443"},
	} {
		if got := defaultUIOrigin(tc.addr); got != tc.want {
			t.Errorf("defaultUIOrigin(%v) = %q, want %q", tc.addr, got, tc.want)
		}
		if _, err := access.NewPasskeys(nil, access.RelyingParty{Origin: defaultUIOrigin(tc.addr)}, nil); err != nil {
			t.Errorf("%v: the default origin is refused: %v", tc.addr, err)
		}
	}
}

package access

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/access/passkeytest"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

type authenticator = passkeytest.Authenticator

func newAuthenticator(t testing.TB, origin, rpID string) *authenticator {
	return passkeytest.New(t, origin, rpID)
}

var b64 = base64.RawURLEncoding

const (
	testOrigin = "https://localhost:8443"
	testRPID   = "localhost"
)

// passkeyEnv is a token register with passkeys and a settable clock.
type passkeyEnv struct {
	s      store.Store
	tokens *Tokens
	pk     *Passkeys
	mu     sync.Mutex
	now    time.Time
}

func newPasskeyEnv(t *testing.T) *passkeyEnv {
	t.Helper()
	e := &passkeyEnv{s: openStore(t), now: time.Now()}
	clock := func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
	e.tokens = New(e.s, clock)
	pk, err := NewPasskeys(e.s, RelyingParty{Origin: testOrigin}, clock)
	if err != nil {
		t.Fatal(err)
	}
	e.pk = pk
	return e
}

func (e *passkeyEnv) advance(d time.Duration) { e.mu.Lock(); e.now = e.now.Add(d); e.mu.Unlock() }

func (e *passkeyEnv) token(t *testing.T, name string, role Role) Token {
	t.Helper()
	_, tok, err := e.tokens.Create(ctx, name, role)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// register registers a passkey of a for tok.
func (e *passkeyEnv) register(t *testing.T, tok Token, a *authenticator, name string) Passkey {
	t.Helper()
	c, err := e.pk.BeginRegistration(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.pk.FinishRegistration(ctx, tok, c.ID, name, a.Create(t, c.Options))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	e.advance(time.Second) // List sorts by creation
	return p
}

// login signs in with a, its answer changed by mutate (nil: as is).
func (e *passkeyEnv) login(t *testing.T, a *authenticator, mutate func([]byte) []byte) (Token, Passkey, error) {
	t.Helper()
	c, err := e.pk.BeginLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp := a.Get(t, c.Options)
	if mutate != nil {
		resp = mutate(resp)
	}
	return e.pk.FinishLogin(ctx, c.ID, resp)
}

func (e *passkeyEnv) mustList(t *testing.T, tokenID string) []Passkey {
	t.Helper()
	l, err := e.pk.List(ctx, tokenID)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func auditActions(t *testing.T, s store.Store, action string) []audit.Event {
	t.Helper()
	all, err := audit.List(ctx, s, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Event
	for _, ev := range all {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

func TestPasskeyRegisterAndLogin(t *testing.T) {
	e := newPasskeyEnv(t)
	alice := e.token(t, "alice", RoleAdmin)
	a := newAuthenticator(t, testOrigin, testRPID)
	p := e.register(t, alice, a, "laptop")
	if p.TokenID != alice.ID || p.TokenName != "alice" || p.Name != "laptop" || !p.Active() || p.LastUsedAt != nil {
		t.Errorf("registered passkey = %+v", p)
	}
	if len(a.Handle) != 32 || bytes.Contains(a.Handle, []byte(alice.ID)) {
		t.Errorf("user handle %x: want 32 random bytes, not the token ID", a.Handle)
	}
	tok, used, err := e.login(t, a, nil)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if tok.ID != alice.ID || tok.Role != RoleAdmin || used.ID != p.ID || used.LastUsedAt == nil || used.SignCount != 1 {
		t.Errorf("login = %+v, %+v", tok, used)
	}
	// A second passkey of the same token keeps the token's user handle.
	b := newAuthenticator(t, testOrigin, testRPID)
	e.register(t, alice, b, "")
	if !bytes.Equal(a.Handle, b.Handle) {
		t.Error("the token's second passkey got another user handle")
	}
	if _, _, err := e.login(t, b, nil); err != nil {
		t.Errorf("login with the second passkey: %v", err)
	}
	list, err := e.pk.List(ctx, alice.ID)
	if err != nil || len(list) != 2 || list[1].Name != "passkey" {
		t.Errorf("List = %+v, %v", list, err)
	}
	raw, _ := json.Marshal(list)
	if bytes.Contains(raw, []byte("publicKey")) || bytes.Contains(raw, []byte(b64.EncodeToString(a.Handle))) {
		t.Errorf("List leaks key material: %s", raw)
	}
	if n := len(auditActions(t, e.s, audit.ActionPasskeyRegister)); n != 2 {
		t.Errorf("%d registrations audited, want 2", n)
	}
	logins := auditActions(t, e.s, audit.ActionPasskeyLogin)
	if len(logins) != 2 || logins[0].Actor != "token:alice" || logins[0].Outcome != audit.OutcomeOK {
		t.Errorf("logins audited: %+v", logins)
	}
}

func TestPasskeyLoginRefusals(t *testing.T) {
	for _, tc := range []struct {
		desc string
		// setup runs after registration and before the login; it may
		// return a mutation of the browser's answer.
		setup   func(t *testing.T, e *passkeyEnv, tok Token, p Passkey, a *authenticator) func([]byte) []byte
		audited bool // the refusal is audited (the answer was signed)
		// again: a later honest login is refused too.
		again bool
	}{
		{desc: "other origin", setup: func(_ *testing.T, _ *passkeyEnv, _ Token, _ Passkey, a *authenticator) func([]byte) []byte {
			a.Origin = "https://evil.example:8443"
			return nil
		}},
		{desc: "other relying party", setup: func(_ *testing.T, _ *passkeyEnv, _ Token, _ Passkey, a *authenticator) func([]byte) []byte {
			a.RPID = "evil.example"
			return nil
		}},
		{desc: "bad signature", setup: func(t *testing.T, _ *passkeyEnv, _ Token, _ Passkey, a *authenticator) func([]byte) []byte {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			a.Key = k
			return nil
		}},
		{desc: "unknown credential", setup: func(_ *testing.T, _ *passkeyEnv, _ Token, _ Passkey, a *authenticator) func([]byte) []byte {
			a.CredID = []byte("another-credential")
			return nil
		}},
		{desc: "other user handle", setup: func(_ *testing.T, _ *passkeyEnv, _ Token, _ Passkey, a *authenticator) func([]byte) []byte {
			a.Handle = bytes.Repeat([]byte{7}, 32)
			return nil
		}},
		{desc: "not JSON", setup: func(_ *testing.T, _ *passkeyEnv, _ Token, _ Passkey, _ *authenticator) func([]byte) []byte {
			return func([]byte) []byte { return []byte("{") }
		}},
		{desc: "registration answer", setup: func(_ *testing.T, _ *passkeyEnv, _ Token, _ Passkey, a *authenticator) func([]byte) []byte {
			a.GetType = "webauthn.create"
			return nil
		}},
		{desc: "signature of another answer", setup: func(_ *testing.T, _ *passkeyEnv, _ Token, _ Passkey, _ *authenticator) func([]byte) []byte {
			return func(b []byte) []byte {
				var m map[string]any
				json.Unmarshal(b, &m)
				m["response"].(map[string]any)["signature"] = b64.EncodeToString([]byte("0D\x02 not a signature"))
				out, _ := json.Marshal(m)
				return out
			}
		}},
		{desc: "counter replayed", audited: true, again: true, setup: func(_ *testing.T, _ *passkeyEnv, _ Token, _ Passkey, a *authenticator) func([]byte) []byte {
			a.Count = 0 // the next signature counts 1 again: a clone
			return nil
		}},
		{desc: "revoked passkey", audited: true, again: true, setup: func(t *testing.T, e *passkeyEnv, _ Token, p Passkey, _ *authenticator) func([]byte) []byte {
			if _, err := e.pk.Revoke(ctx, p.ID, ""); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
		{desc: "revoked token", audited: true, again: true, setup: func(t *testing.T, e *passkeyEnv, tok Token, _ Passkey, _ *authenticator) func([]byte) []byte {
			if err := e.tokens.Revoke(ctx, tok.ID); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			e := newPasskeyEnv(t)
			tok := e.token(t, "bob", RoleOperator)
			a := newAuthenticator(t, testOrigin, testRPID)
			p := e.register(t, tok, a, "key")
			if _, _, err := e.login(t, a, nil); err != nil {
				t.Fatalf("first login: %v", err)
			}
			mutate := tc.setup(t, e, tok, p, a)
			_, _, err := e.login(t, a, mutate)
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("login = %v, want ErrUnauthenticated", err)
			}
			refusals := 0
			for _, ev := range auditActions(t, e.s, audit.ActionPasskeyLogin) {
				if ev.Outcome == audit.OutcomeRefused {
					refusals++
				}
			}
			var refused *RefusedError
			if errors.As(err, &refused) != tc.audited {
				t.Errorf("login = %v: a RefusedError only for a signed answer", err)
			}
			if want := map[bool]int{true: 1}[tc.audited]; refusals != want {
				t.Errorf("%d refusals audited, want %d", refusals, want)
			}
			if tc.again {
				a.Count += 10
				if _, _, err := e.login(t, a, nil); !errors.Is(err, ErrUnauthenticated) {
					t.Errorf("a later login = %v, want refused", err)
				}
			}
		})
	}
}

func TestPasskeyCeremonies(t *testing.T) {
	e := newPasskeyEnv(t)
	alice, bob := e.token(t, "alice", RoleAdmin), e.token(t, "bob", RoleViewer)
	a := newAuthenticator(t, testOrigin, testRPID)
	for _, tc := range []struct {
		desc string
		// finish answers a fresh registration ceremony begun for alice.
		finish func(c Ceremony) error
	}{
		{"another token finishes it", func(c Ceremony) error {
			_, err := e.pk.FinishRegistration(ctx, bob, c.ID, "", a.Create(t, c.Options))
			return err
		}},
		{"expired", func(c Ceremony) error {
			e.advance(CeremonyTimeout + time.Second)
			_, err := e.pk.FinishRegistration(ctx, alice, c.ID, "", a.Create(t, c.Options))
			return err
		}},
		{"unknown ceremony", func(c Ceremony) error {
			_, err := e.pk.FinishRegistration(ctx, alice, "nope", "", a.Create(t, c.Options))
			return err
		}},
		{"a sign-in ceremony", func(Ceremony) error {
			c, err := e.pk.BeginLogin(ctx)
			if err != nil {
				return err
			}
			_, err = e.pk.FinishRegistration(ctx, alice, c.ID, "", a.Create(t, c.Options))
			return err
		}},
		{"bad label", func(c Ceremony) error {
			_, err := e.pk.FinishRegistration(ctx, alice, c.ID, "tab\there", a.Create(t, c.Options))
			return err
		}},
		{"other origin", func(c Ceremony) error {
			evil := *a
			evil.Origin = "https://localhost:9999"
			_, err := e.pk.FinishRegistration(ctx, alice, c.ID, "", evil.Create(t, c.Options))
			return err
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c, err := e.pk.BeginRegistration(ctx, alice)
			if err != nil {
				t.Fatal(err)
			}
			var inv *InvalidError
			if err := tc.finish(c); !errors.As(err, &inv) {
				t.Errorf("finish = %v, want a refusal", err)
			}
		})
	}
	if list, _ := e.pk.List(ctx, ""); len(list) != 0 {
		t.Fatalf("refused registrations stored passkeys: %+v", list)
	}
	// Single use: a ceremony answered once cannot be answered again, even
	// after a failure.
	c, err := e.pk.BeginRegistration(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	resp := a.Create(t, c.Options)
	if _, err := e.pk.FinishRegistration(ctx, alice, c.ID, "", resp); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pk.FinishRegistration(ctx, alice, c.ID, "", resp); err == nil || !strings.Contains(err.Error(), ErrCeremony.Error()) {
		t.Errorf("replayed ceremony = %v", err)
	}
	// The same authenticator cannot be registered twice.
	c, _ = e.pk.BeginRegistration(ctx, alice)
	if _, err := e.pk.FinishRegistration(ctx, alice, c.ID, "", a.Create(t, c.Options)); err == nil {
		t.Error("a second registration of the same credential accepted")
	}
	lc, _ := e.pk.BeginLogin(ctx)
	resp = a.Get(t, lc.Options)
	if _, _, err := e.pk.FinishLogin(ctx, lc.ID, resp); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.pk.FinishLogin(ctx, lc.ID, resp); err == nil {
		t.Error("a sign-in answer replayed")
	}
	// A revoked token can begin nothing.
	if err := e.tokens.Revoke(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pk.BeginRegistration(ctx, bob); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked token began a registration: %v", err)
	}
}

func TestPasskeyCeremonyCap(t *testing.T) {
	e := newPasskeyEnv(t)
	for i := 0; i < maxCeremonies; i++ {
		if _, err := e.pk.BeginLogin(ctx); err != nil {
			t.Fatalf("ceremony %d: %v", i, err)
		}
	}
	if _, err := e.pk.BeginLogin(ctx); !errors.Is(err, ErrBusy) {
		t.Errorf("ceremony over the cap = %v, want ErrBusy", err)
	}
	e.advance(CeremonyTimeout)
	if _, err := e.pk.BeginLogin(ctx); err != nil {
		t.Errorf("expired ceremonies were not purged: %v", err)
	}
}

func TestPasskeyRevoke(t *testing.T) {
	e := newPasskeyEnv(t)
	alice, bob := e.token(t, "alice", RoleAdmin), e.token(t, "bob", RoleViewer)
	pa := e.register(t, alice, newAuthenticator(t, testOrigin, testRPID), "a")
	pb := e.register(t, bob, newAuthenticator(t, testOrigin, testRPID), "b")
	for _, tc := range []struct {
		desc, id, owner string
		want            func(error) bool
	}{
		{"another's passkey", pa.ID, bob.ID, func(err error) bool { return errors.Is(err, ErrNotOwner) }},
		{"unknown", "pk-0000", "", func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"own", pb.ID, bob.ID, func(err error) bool { return err == nil }},
		{"again", pb.ID, bob.ID, func(err error) bool { var inv *InvalidError; return errors.As(err, &inv) }},
		{"admin: any", pa.ID, "", func(err error) bool { return err == nil }},
	} {
		_, err := e.pk.Revoke(audit.WithActor(ctx, "token:"+tc.desc), tc.id, tc.owner)
		if !tc.want(err) {
			t.Errorf("%s: Revoke = %v", tc.desc, err)
		}
	}
	// Revoking a passkey ends its token's passkey sessions, not the token
	// ones.
	ss := NewSessions(e.s, nil, 0, 0)
	pkSess, _, err := ss.Create(ctx, alice, FactorPasskey, "passkey")
	if err != nil {
		t.Fatal(err)
	}
	tokSess, _, _ := ss.Create(ctx, alice, FactorToken, "form")
	pa2 := e.register(t, alice, newAuthenticator(t, testOrigin, testRPID), "a2")
	if _, err := e.pk.Revoke(ctx, pa2.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ss.Authenticate(ctx, pkSess); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("a passkey session outlived the passkey's revocation: %v", err)
	}
	if _, _, err := ss.Authenticate(ctx, tokSess); err != nil {
		t.Errorf("the token session ended with a passkey: %v", err)
	}
	list, _ := e.pk.List(ctx, alice.ID)
	list = append(list, e.mustList(t, bob.ID)...)
	if len(list) != 3 || list[0].Active() || list[1].Active() || list[2].Active() || list[0].RevokedBy != "token:admin: any" || list[2].RevokedBy != "token:own" {
		t.Errorf("after revocations: %+v", list)
	}
	if n := len(auditActions(t, e.s, audit.ActionPasskeyRevoke)); n != 3 {
		t.Errorf("%d revocations audited, want 3", n)
	}
}

func TestRelyingParty(t *testing.T) {
	for _, tc := range []struct {
		origin, id string
		ok         bool
	}{
		{"https://localhost:8443", "localhost", true},
		{"https://roster.example.com", "roster.example.com", true},
		{"https://roster.example.com/", "roster.example.com", true},
		{"https://127.0.0.1:8443", "", false},
		{"https://vm:8443", "", false}, // one label: not a domain for WebAuthn
		{"https://roster.example.com:8443", "roster.example.com", true},
		{"https://[::1]:8443", "", false},
		{"http://localhost:8443", "", false},
		{"https://localhost:8443/ui", "", false},
		{"localhost:8443", "", false},
		{"", "", false},
	} {
		p, err := NewPasskeys(openStore(t), RelyingParty{Origin: tc.origin}, nil)
		if (err == nil) != tc.ok {
			t.Errorf("NewPasskeys(%q) = %v", tc.origin, err)
			continue
		}
		if tc.ok && p.RelyingParty().ID() != tc.id {
			t.Errorf("%q: relying party ID %q, want %q", tc.origin, p.RelyingParty().ID(), tc.id)
		}
	}
}

// FuzzFinishLogin: no answer that is not signed with a registered key
// signs in, and none makes FinishLogin panic.
func FuzzFinishLogin(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AAAA","userHandle":"AAAA"}}`))
	f.Add([]byte(`{"id":"","type":"public-key","response":null}`))
	s, err := store.OpenBolt(f.TempDir()+"/fuzz.db", 0)
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	pk, err := NewPasskeys(s, RelyingParty{Origin: testOrigin}, nil)
	if err != nil {
		f.Fatal(err)
	}
	// A registered passkey, so that answers naming it reach the signature
	// check; its honest answer to another challenge is a seed.
	_, tok, err := New(s, nil).Create(ctx, "fuzz", RoleAdmin)
	if err != nil {
		f.Fatal(err)
	}
	a := newAuthenticator(f, testOrigin, testRPID)
	c, err := pk.BeginRegistration(ctx, tok)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := pk.FinishRegistration(ctx, tok, c.ID, "", a.Create(f, c.Options)); err != nil {
		f.Fatal(err)
	}
	c, _ = pk.BeginLogin(ctx)
	f.Add(a.Get(f, c.Options))
	f.Fuzz(func(t *testing.T, answer []byte) {
		c, err := pk.BeginLogin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tok, _, err := pk.FinishLogin(ctx, c.ID, answer); err == nil {
			t.Fatalf("an unsigned answer signed in as %+v", tok)
		}
	})
}

// TestPasskeyTwoNodes: ceremonies live in the store, so one begun by a
// node (a Passkeys) finishes on another node on the same store, once.
func TestPasskeyTwoNodes(t *testing.T) {
	e := newPasskeyEnv(t)
	other, err := NewPasskeys(e.s, RelyingParty{Origin: testOrigin}, func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now })
	if err != nil {
		t.Fatal(err)
	}
	tok := e.token(t, "ada", RoleAdmin)
	a := newAuthenticator(t, testOrigin, "localhost")
	c, err := e.pk.BeginRegistration(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.FinishRegistration(ctx, tok, c.ID, "laptop", a.Create(t, c.Options)); err != nil {
		t.Fatalf("registration begun on one node, finished on the other: %v", err)
	}
	lc, err := other.BeginLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp := a.Get(t, lc.Options)
	if got, _, err := e.pk.FinishLogin(ctx, lc.ID, resp); err != nil || got.ID != tok.ID {
		t.Fatalf("sign-in begun on one node, finished on the other: %v, %v", got.ID, err)
	}
	if _, _, err := other.FinishLogin(ctx, lc.ID, resp); err == nil || !strings.Contains(err.Error(), ErrCeremony.Error()) {
		t.Errorf("the answer replayed on the node that began the sign-in: %v", err)
	}
}

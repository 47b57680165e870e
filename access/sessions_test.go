package access

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

// clock is a settable test clock.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }

func TestSessions(t *testing.T) {
	st := openStore(t)
	var clk clock
	toks := New(st, clk.now)
	ss := NewSessions(st, clk.now, 10*time.Minute, time.Hour)
	_, tok, err := toks.Create(ctx, "alice", RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	id, sess, err := ss.Create(ctx, tok, FactorToken, "form")
	if err != nil || len(id) != 43 || sess.CSRF == "" || sess.CSRF == id {
		t.Fatalf("Create = %q, %+v, %v", id, sess, err)
	}
	id2, _, err := ss.Create(ctx, tok, FactorPasskey, "test")
	if err != nil || id2 == id {
		t.Fatalf("second session %q %v", id2, err)
	}
	for _, tc := range []struct {
		name string
		id   string
		ok   bool
	}{
		{"its id", id, true},
		{"empty", "", false},
		{"one character off", id[:len(id)-1] + "A", false},
		{"too long", strings.Repeat("a", 65), false},
		{"the CSRF secret", sess.CSRF, false},
	} {
		got, gotTok, err := ss.Authenticate(ctx, tc.id)
		if tc.ok != (err == nil) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !tc.ok && !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: wrong error %v", tc.name, err)
		}
		if tc.ok && (gotTok.Name != "alice" || gotTok.Role != RoleOperator || got.CSRF != sess.CSRF || got.Factor != FactorToken) {
			t.Errorf("%s: %+v %+v", tc.name, got, gotTok)
		}
	}

	// Idle expiry, refreshed by use; then absolute expiry.
	clk.advance(9 * time.Minute)
	if _, _, err := ss.Authenticate(ctx, id); err != nil {
		t.Fatalf("within idle: %v", err)
	}
	clk.advance(9 * time.Minute)
	if _, _, err := ss.Authenticate(ctx, id); err != nil {
		t.Fatalf("within idle after use: %v", err)
	}
	if _, _, err := ss.Authenticate(ctx, id2); !errors.Is(err, ErrSessionExpired) || !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("idle session: %v", err)
	}
	for range 5 {
		clk.advance(9 * time.Minute)
		_, _, err = ss.Authenticate(ctx, id)
	}
	if !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("past the absolute expiry: %v", err)
	}
	if n, _ := ss.Count(ctx, tok.ID); n != 0 {
		t.Errorf("expired sessions kept: %d", n)
	}

	// End, and Revoke removing the token's sessions.
	a, _, _ := ss.Create(ctx, tok, FactorToken, "form")
	if err := ss.End(audit.WithActor(ctx, "token:alice"), a); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ss.Authenticate(ctx, a); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("ended session: %v", err)
	}
	if err := ss.End(ctx, a); err != nil {
		t.Errorf("ending twice: %v", err)
	}
	_, other, _ := toks.Create(ctx, "bob", RoleViewer)
	b, _, _ := ss.Create(ctx, tok, FactorToken, "form")
	c, _, _ := ss.Create(ctx, other, FactorToken, "form")
	if err := toks.Revoke(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if n, _ := ss.Count(ctx, tok.ID); n != 0 {
		t.Errorf("revoked token keeps %d sessions", n)
	}
	if _, _, err := ss.Authenticate(ctx, b); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("session of a revoked token: %v", err)
	}
	if _, _, err := ss.Authenticate(ctx, c); err != nil {
		t.Errorf("another token's session ended too: %v", err)
	}
	if _, _, err := ss.Create(ctx, tok, FactorToken, "form"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("session for a revoked token: %v", err)
	}

	// The store holds neither a session id nor a token's plaintext, and
	// sign-ins and sign-outs are audited.
	raw := dumpStore(t, st)
	for _, secret := range []string{id, id2, a, b, c} {
		if strings.Contains(raw, secret) {
			t.Error("a session id is stored")
		}
	}
	evs, _ := audit.List(ctx, st, audit.Filter{})
	var got []string
	for _, e := range evs {
		got = append(got, e.Action+" "+e.Actor)
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{"ui.signin token:alice", "ui.signout token:alice", "ui.signin token:bob"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit lacks %q:\n%s", want, joined)
		}
	}
}

func TestLoginLinks(t *testing.T) {
	st := openStore(t)
	var clk clock
	toks := New(st, clk.now)
	ss := NewSessions(st, clk.now, 0, 0)
	_, tok, _ := toks.Create(ctx, "alice", RoleViewer)
	code, exp, err := ss.CreateLink(ctx, tok)
	if err != nil || exp.Sub(clk.now()) > LoginLinkLife || exp.Sub(clk.now()) < LoginLinkLife-time.Minute {
		t.Fatalf("CreateLink = %q %v %v", code, exp, err)
	}
	got, err := ss.RedeemLink(ctx, code)
	if err != nil || got.ID != tok.ID {
		t.Fatalf("RedeemLink = %+v %v", got, err)
	}
	if _, err := ss.RedeemLink(ctx, code); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("second use: %v", err)
	}
	code, _, _ = ss.CreateLink(ctx, tok)
	clk.advance(LoginLinkLife)
	if _, err := ss.RedeemLink(ctx, code); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("expired link: %v", err)
	}
	code, _, _ = ss.CreateLink(ctx, tok)
	if err := toks.Revoke(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.RedeemLink(ctx, code); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("link of a revoked token: %v", err)
	}
	for _, bad := range []string{"", strings.Repeat("x", 65), "nope"} {
		if _, err := ss.RedeemLink(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("RedeemLink(%q): %v", bad, err)
		}
	}
	if strings.Contains(dumpStore(t, st), code) {
		t.Error("a link code is stored")
	}
}

// dumpStore is every key and value of the tables the package owns.
func dumpStore(t *testing.T, st store.Store) string {
	t.Helper()
	var sb strings.Builder
	err := st.View(ctx, func(tx store.Tx) error {
		for _, table := range []string{tTokens, tTokenHash, tSessions, tLoginLinks} {
			if err := tx.Scan(table, nil, func(k, v []byte) error {
				sb.Write(k)
				sb.WriteByte(' ')
				sb.Write(v)
				sb.WriteByte('\n')
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

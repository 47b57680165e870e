package access

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/store"
)

var ctx = audit.WithActor(context.Background(), "test")

func openStore(t *testing.T) *store.Bolt {
	t.Helper()
	s, err := store.OpenBolt(filepath.Join(t.TempDir(), "access.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := audit.Verify(ctx, s); err != nil {
			t.Errorf("audit chain: %v", err)
		}
		s.Close()
	})
	return s
}

func TestTokens(t *testing.T) {
	inv := New(openStore(t), nil)
	admin, created, err := inv.EnsureAdmin(ctx)
	if err != nil || !created || !strings.HasPrefix(admin, TokenPrefix) || len(admin) != len(TokenPrefix)+43 {
		t.Fatalf("EnsureAdminToken = %q, %v, %v", admin, created, err)
	}
	if again, created, _ := inv.EnsureAdmin(ctx); created || again != "" {
		t.Error("second EnsureAdminToken created a token")
	}
	viewer, tok, err := inv.Create(ctx, "ci", RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := inv.Create(ctx, "ci", RoleViewer); err == nil {
		t.Error("duplicate name accepted")
	}
	if _, _, err := inv.Create(ctx, "x", "root"); err == nil {
		t.Error("unknown role accepted")
	}
	for _, tc := range []struct {
		plain string
		role  Role
		ok    bool
	}{
		{admin, RoleAdmin, true},
		{viewer, RoleViewer, true},
		{viewer[:len(viewer)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(viewer, "A")], "", false}, // one character changed
		{"rst_", "", false},
		{"", "", false},
		{strings.TrimPrefix(viewer, TokenPrefix), "", false},
	} {
		got, err := inv.Authenticate(ctx, tc.plain)
		if tc.ok != (err == nil) || got.Role != tc.role {
			t.Errorf("Authenticate(token %d chars) = %+v, %v", len(tc.plain), got, err)
		}
		if !tc.ok && !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("wrong error %v", err)
		}
	}
	list, _ := inv.List(ctx)
	raw, _ := json.Marshal(list)
	h := sha256.Sum256([]byte(viewer))
	if len(list) != 2 || bytes.Contains(raw, []byte("hash")) || bytes.Contains(raw, []byte(viewer)) || bytes.Contains(raw, h[:8]) {
		t.Errorf("ListTokens leaks or miscounts: %s", raw)
	}
	if err := inv.Revoke(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Authenticate(ctx, viewer); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked token authenticates: %v", err)
	}
	records, _ := audit.List(ctx, inv.s, audit.Filter{})
	for _, e := range records {
		if strings.Contains(fmt.Sprint(e), strings.TrimPrefix(viewer, "rst_")[:10]) {
			t.Errorf("audit record holds token material: %+v", e)
		}
	}
	if !RoleAdmin.Allows(RoleOperator) || RoleViewer.Allows(RoleOperator) || Role("x").Allows(RoleViewer) {
		t.Error("role ordering wrong")
	}
}

package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
)

func TestWebTokens(t *testing.T) {
	e := newWebEnv(t)
	admin := e.webSignIn("tok-admin", access.RoleAdmin)
	op := e.webSignIn("tok-op", access.RoleOperator)
	viewer := e.webSignIn("tok-viewer", access.RoleViewer)

	// Admins only: the page, the nav link, the actions.
	for _, u := range []*webUser{op, viewer} {
		if code, _ := u.get("/tokens"); code != http.StatusForbidden {
			t.Errorf("GET /tokens as %s: %d", u.name, code)
		}
		if _, page := u.get("/"); strings.Contains(page, `href="/tokens"`) {
			t.Errorf("%s's nav links /tokens", u.name)
		}
		_, page := u.get("/")
		if code, _ := u.postRaw("/tokens", url.Values{"name": {"sneaky"}, "role": {"admin"}, "csrf": {formCSRF(t, page)}}, nil); code != http.StatusForbidden {
			t.Errorf("POST /tokens as %s: %d", u.name, code)
		}
		if code, _ := u.postRaw("/tokens/tok-admin/revoke", url.Values{"csrf": {formCSRF(t, page)}}, nil); code != http.StatusForbidden {
			t.Errorf("revoke as %s: %d", u.name, code)
		}
	}
	if code, _ := admin.postRaw("/tokens", url.Values{"name": {"sneaky"}, "role": {"admin"}}, nil); code != http.StatusForbidden {
		t.Errorf("POST /tokens without csrf: %d", code)
	}
	toks, _ := access.New(e.inv.Store(), nil).List(context.Background())
	for _, tk := range toks {
		if tk.Name == "sneaky" || tk.RevokedAt != nil {
			t.Fatalf("a refused POST changed the tokens: %+v", tk)
		}
	}

	code, page := admin.get("/tokens")
	if code != http.StatusOK || !strings.Contains(page, "<th scope=\"row\">tok-op</th>") || !strings.Contains(page, `action="/tokens/tok-op/revoke"`) {
		t.Fatalf("tokens page: %d\n%s", code, page)
	}
	for _, secret := range []string{admin.token, op.token, viewer.token} {
		if strings.Contains(page, secret) {
			t.Errorf("the tokens page shows a secret")
		}
	}
	csv := csvOf(t, admin, "/tokens", "id,name,role,created_at,created_by,revoked_at")
	if !strings.Contains(csv, ",tok-op,operator,") || strings.Contains(csv, op.token) {
		t.Errorf("csv:\n%s", csv)
	}

	// Create: the secret shown once, with a copy button the page works
	// without.
	code, page = admin.post("/tokens", "/tokens", url.Values{"name": {"ci-bot"}, "role": {"operator"}})
	if code != http.StatusCreated {
		t.Fatalf("create: %d\n%s", code, page)
	}
	m := regexp.MustCompile(`<pre id="new-token">(` + access.TokenPrefix + `[^<]+)</pre>`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `data-copy="new-token" hidden`) || !strings.Contains(page, `<script src="/static/copy.js" defer>`) {
		t.Fatalf("no token shown once with a copy button:\n%s", page)
	}
	if tok, err := access.New(e.inv.Store(), nil).Authenticate(context.Background(), m[1]); err != nil || tok.Name != "ci-bot" || tok.Role != access.RoleOperator {
		t.Errorf("the token shown does not work: %v %+v", err, tok)
	}
	wantAudit(t, e, audit.ActionTokenCreate, "tok-admin")
	if strings.Contains(e.audits(), m[1]) {
		t.Errorf("the secret is in the audit log")
	}
	if _, page = admin.get("/tokens"); strings.Contains(page, m[1]) || strings.Contains(page, `id="new-token"`) {
		t.Errorf("the secret is shown again")
	}
	// A refused name keeps the form.
	if code, page = admin.post("/tokens", "/tokens", url.Values{"name": {"has space"}, "role": {"admin"}}); code != http.StatusBadRequest ||
		!strings.Contains(page, `id="refused"`) || !strings.Contains(page, `value="has space"`) || !strings.Contains(page, `<option value="admin" selected>`) {
		t.Errorf("refused create: %d\n%s", code, page)
	}

	// Revoke ends the token's session.
	if code, _ = admin.post("/tokens", "/tokens/tok-op/revoke", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", code)
	}
	wantAudit(t, e, audit.ActionTokenRevoke, "tok-admin")
	if code, _ = op.get("/"); code != http.StatusSeeOther {
		t.Errorf("the revoked token's session goes on: %d", code)
	}
	if code, _ = admin.post("/tokens", "/tokens/no-such/revoke", url.Values{}); code != http.StatusNotFound {
		t.Errorf("revoke unknown: %d", code)
	}
}

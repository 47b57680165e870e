package server

import (
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/ca/catest"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/notify"
	"github.com/rosterhq/roster/scan"
)

// credential is what a caller presents in the access test.
type credential int

const (
	credNone credential = iota
	credViewer
	credOperator
	credAdmin
	credHostCert     // host identity certificate of web2
	credIdentityCert // account certificate of billing-batch on web1
	credWrongRoot    // a roster-looking certificate from another CA
	credEnrollToken  // a one-time enrollment token (as a bearer token; in the body on POST /v1/enroll)
	numCredentials
)

func (c credential) String() string {
	return [...]string{"none", "viewer", "operator", "admin", "host cert", "identity cert", "wrong-root cert", "enrollment token"}[c]
}

// allowed is the access rule the table checks: which credentials may call
// a route of each caller kind. Everyone else gets want's status.
func allowed(who caller, c credential) (ok bool, want int) {
	switch who {
	case anyone:
		return true, 0
	case enrollToken:
		return c == credEnrollToken, http.StatusUnauthorized
	case identityCert:
		return c == credHostCert || c == credIdentityCert, http.StatusUnauthorized
	case hostCert:
		return c == credHostCert, http.StatusUnauthorized
	case hostIdentityCert:
		if c == credIdentityCert {
			return false, http.StatusForbidden
		}
		return c == credHostCert, http.StatusUnauthorized
	case hostOrOperator:
		if c == credHostCert || c == credOperator || c == credAdmin {
			return true, 0
		}
		if c == credViewer {
			return false, http.StatusForbidden
		}
		return false, http.StatusUnauthorized
	}
	rank := map[credential]int{credViewer: 1, credOperator: 2, credAdmin: 3}
	need := map[caller]int{viewer: 1, operator: 2, admin: 3}[who]
	switch {
	case rank[c] == 0:
		return false, http.StatusUnauthorized
	case rank[c] < need:
		return false, http.StatusForbidden
	}
	return true, 0
}

// accessEnv holds the callers' credentials.
type accessEnv struct {
	*env
	tokens  map[credential]string
	clients map[credential]*http.Client
	seq     int
}

func newAccessEnv(t *testing.T) *accessEnv {
	// A webhook is configured (never posted to: no worker runs), so that
	// POST /v1/notify/test queues.
	withWebhook := func(o *Options) {
		var err error
		if o.Notify, err = notify.New(notify.Config{Store: o.Inventory.Store(), URLs: []string{"http://127.0.0.1:9/"}}); err != nil {
			t.Fatal(err)
		}
	}
	e := &accessEnv{env: newEnvOpts(t, true, nil, withWebhook), tokens: map[credential]string{}, clients: map[credential]*http.Client{}}
	ctx := audit.WithActor(context.Background(), "test")
	for c, role := range map[credential]access.Role{credViewer: access.RoleViewer, credOperator: access.RoleOperator, credAdmin: access.RoleAdmin} {
		plain, _, err := access.New(e.inv.Store(), nil).Create(ctx, "t-"+string(role), role)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[c] = plain
	}
	e.tokens[credEnrollToken] = e.enrollToken("web1", "billing-batch")
	e.Ingest("web2", "w2")
	hk, hc := e.Enroll("web2", "")
	ik, ic := e.Enroll("web1", "billing-batch")
	other := catest.New(t, catest.Options{})
	wk := catest.Key(t, "EC", 0)
	wc, err := other.Sign(ctx, catest.CSR(t, wk, "x"), ca.Identity{URI: mustID(t, "web2", "").URL(), CommonName: "web2"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for c := range numCredentials {
		var key crypto.Signer
		var chain []*x509.Certificate
		switch c {
		case credHostCert:
			key, chain = hk, hc
		case credIdentityCert:
			key, chain = ik, ic
		case credWrongRoot:
			key, chain = wk, wc
		}
		e.clients[c] = e.client(key, chain, true)
	}
	return e
}

// freshIdentity enrolls the host or identity certificate of c again, so
// that its client presents a current certificate.
func (e *accessEnv) freshIdentity(c credential) {
	e.t.Helper()
	switch c {
	case credHostCert:
		k, ch := e.Enroll("web2", "")
		e.clients[c] = e.client(k, ch, true)
	case credIdentityCert:
		k, ch := e.Enroll("web1", "billing-batch")
		e.clients[c] = e.client(k, ch, true)
	}
}

// vendor registers a new vendor and returns its name.
func (e *accessEnv) vendor() string {
	e.t.Helper()
	e.seq++
	name := fmt.Sprintf("vendor%d", e.seq)
	if _, err := e.inv.AddVendor(audit.WithActor(context.Background(), "test"), inventory.Vendor{Name: name, Owner: "team", Contact: "ops@v.example", Route: "api"}); err != nil {
		e.t.Fatal(err)
	}
	return name
}

func (e *accessEnv) enrollToken(host, account string) string {
	e.t.Helper()
	tk, err := e.iss.CreateEnrollToken(context.Background(), host, account, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return tk.Token
}

// fresh ingests a new owned account on two new hosts, for a change that
// may happen once: it returns the account and the hosts.
func (e *accessEnv) fresh() (account, hostA, hostB string) {
	e.t.Helper()
	e.seq++
	account, hostA, hostB = fmt.Sprintf("acct%d", e.seq), fmt.Sprintf("host%da", e.seq), fmt.Sprintf("host%db", e.seq)
	e.Ingest(hostA, account)
	e.Ingest(hostB, account)
	e.Owner(account, "team")
	return account, hostA, hostB
}

// call sends one request as credential c.
func (e *accessEnv) call(c credential, method, path, contentType, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if tok := e.tokens[c]; tok != "" && c != credNone {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := e.clients[c].Do(req)
	if err != nil {
		e.t.Fatalf("%s %s as %s: %v", method, path, c, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustJSONString(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAccessRules calls every route as every kind of caller and checks the
// status: the route's success status for those allowed, 401 or 403 for the
// others. A route added to routes() without a case here fails the test.
func TestAccessRules(t *testing.T) {
	e := newAccessEnv(t)
	ctx := context.Background()
	csr := func() string { return csrPEM(catest.CSR(t, catest.Key(t, "EC", 0), "x")) }
	expires := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	scanOf := func(host string, accounts ...string) string {
		var accts []scan.Account
		for i, a := range accounts {
			accts = append(accts, inventorytest.Account(a, 900+i, inventorytest.Cred(scan.CredPassword, "/etc/shadow:"+a, "pw-"+a)))
		}
		return mustJSONString(t, inventorytest.NewReport(host, "mid-"+host, e.clock.Now().UTC(), accts...))
	}
	type request struct{ path, body string }
	same := func(path, body string) func(credential) request {
		return func(credential) request { return request{path, body} }
	}
	cases := []struct {
		pattern string
		status  int // on success
		req     func(c credential) request
	}{
		{"GET /healthz", 200, same("/healthz", "")},
		{"GET /health", 200, same("/health", "")},
		{"GET /readyz", 200, same("/readyz", "")},
		{"GET /roots.pem", 200, same("/roots.pem", "")},
		{"GET /1.0/roots", 200, same("/1.0/roots", "")},
		{"GET /roots", 200, same("/roots", "")},
		{"GET /crl", 200, same("/crl", "")},
		{"GET /1.0/crl", 200, same("/1.0/crl", "")},
		{"GET /ssh/roots", 200, same("/ssh/roots", "")},
		{"GET /ssh/krl", 200, same("/ssh/krl", "")},
		{"POST /v1/enroll", 201, func(c credential) request {
			tok := "ret_" + strings.Repeat("A", 43) // well formed, unknown
			if c == credEnrollToken {
				tok = e.enrollToken("web1", "billing-batch")
			}
			return request{"/v1/enroll", mustJSONString(t, map[string]string{"token": tok, "csr": csr()})}
		}},
		{"POST /1.0/renew", 201, same("/1.0/renew", "")},
		{"POST /renew", 201, same("/renew", "")},
		{"POST /1.0/rekey", 201, func(credential) request {
			return request{"/1.0/rekey", mustJSONString(t, map[string]string{"csr": csr()})}
		}},
		{"POST /rekey", 201, func(credential) request { return request{"/rekey", mustJSONString(t, map[string]string{"csr": csr()})} }},
		{"POST /v1/renew-batch", 200, same("/v1/renew-batch", `{"renewals":[]}`)},
		{"POST /v1/scans", 200, func(c credential) request {
			// A host certificate reports for its own host; web2 keeps its
			// account, so nothing else changes.
			return request{"/v1/scans", scanOf("web2", "w2")}
		}},
		{"GET /v1/scan-config", 200, same("/v1/scan-config", "")},
		{"GET /v1/whoami", 200, same("/v1/whoami", "")},
		{"GET /metrics", 200, same("/metrics", "")},
		{"GET /v1/hosts", 200, same("/v1/hosts?format=json", "")},
		{"GET /v1/hosts/{host}", 200, same("/v1/hosts/web1", "")},
		{"POST /v1/hosts/{host}/tags", 200, same("/v1/hosts/web1/tags", `{"add":["rack-1"]}`)},
		{"GET /v1/accounts", 200, same("/v1/accounts?format=csv", "")},
		{"GET /v1/accounts/{name}", 200, same("/v1/accounts/billing-batch", "")},
		{"GET /v1/accounts/{name}/history", 200, same("/v1/accounts/billing-batch/history?format=json", "")},
		{"POST /v1/accounts/{name}/tags", 200, same("/v1/accounts/billing-batch/tags", `{"add":["critical"]}`)},
		{"PUT /v1/accounts/{name}/tier", 200, same("/v1/accounts/legacy/tier", `{"tier":2,"reason":"faces a vendor"}`)},
		{"PUT /v1/accounts/{name}/kind", 200, same("/v1/accounts/legacy/kind", `{"kind":"service"}`)},
		{"POST /v1/accounts/{name}/retire", 200, func(credential) request {
			a, _, _ := e.fresh()
			return request{"/v1/accounts/" + a + "/retire", `{"reason":"gone"}`}
		}},
		{"POST /v1/accounts/{name}/unretire", 200, func(credential) request {
			a, _, _ := e.fresh()
			if err := e.inv.RetireAccount(context.Background(), a, true, "gone"); err != nil {
				t.Fatal(err)
			}
			return request{"/v1/accounts/" + a + "/unretire", `{"reason":"back"}`}
		}},
		{"POST /v1/accounts/{name}/split", 200, func(credential) request {
			a, h, _ := e.fresh()
			return request{"/v1/accounts/" + a + "/split", `{"host":"` + h + `"}`}
		}},
		{"POST /v1/accounts/{name}/merge", 200, func(credential) request {
			a, h, _ := e.fresh()
			if err := e.inv.Split(ctx, a, h, h); err != nil {
				t.Fatal(err)
			}
			return request{"/v1/accounts/" + url.PathEscape(a+"@default") + "/merge", `{"from":"` + a + "@" + h + `"}`}
		}},
		{"PUT /v1/accounts/{name}/owner", 200, same("/v1/accounts/billing-batch/owner", `{"name":"payments-team"}`)},
		{"DELETE /v1/accounts/{name}/owner", 200, func(credential) request {
			a, _, _ := e.fresh()
			return request{"/v1/accounts/" + a + "/owner", ""}
		}},
		{"POST /v1/owners/import", 200, same("/v1/owners/import?format=json", "account,owner\nbilling-batch,payments-team\n")},
		{"POST /v1/exceptions", 201, func(credential) request {
			a, _, _ := e.fresh()
			return request{"/v1/exceptions", `{"account":"` + a + `","reason":"vendor","owner":"team","expires":"` + expires + `"}`}
		}},
		{"GET /v1/exceptions", 200, same("/v1/exceptions", "")},
		{"DELETE /v1/exceptions/{id}", 200, func(credential) request {
			a, _, _ := e.fresh()
			ex, err := e.inv.AddException(ctx, inventory.Exception{Account: a, Reason: "vendor", Owner: "team", Expires: time.Now().AddDate(0, 0, 10)})
			if err != nil {
				t.Fatal(err)
			}
			return request{"/v1/exceptions/" + ex.ID + "?reason=done", ""}
		}},
		{"GET /v1/report", 200, same("/v1/report?format=markdown", "")},
		{"GET /v1/credentials/shared", 200, same("/v1/credentials/shared", "")},
		{"POST /v1/tokens", 201, func(credential) request {
			e.seq++
			return request{"/v1/tokens", fmt.Sprintf(`{"name":"new%d","role":"viewer"}`, e.seq)}
		}},
		{"GET /v1/tokens", 200, same("/v1/tokens", "")},
		{"POST /v1/ui/login-links", 201, same("/v1/ui/login-links", "")},
		{"DELETE /v1/tokens/{name}", 200, func(credential) request {
			e.seq++
			name := fmt.Sprintf("old%d", e.seq)
			if _, _, err := access.New(e.inv.Store(), nil).Create(ctx, name, access.RoleViewer); err != nil {
				t.Fatal(err)
			}
			return request{"/v1/tokens/" + name, ""}
		}},
		{"GET /v1/passkeys", 200, same("/v1/passkeys", "")},
		{"DELETE /v1/passkeys/{id}", 200, func(c credential) request {
			// The caller's own passkey (an admin's token for callers
			// without one).
			tok, err := access.New(e.inv.Store(), nil).Authenticate(ctx, cmp.Or(e.tokens[c], e.tokens[credAdmin]))
			if c == credEnrollToken || err != nil {
				tok, err = access.New(e.inv.Store(), nil).Authenticate(ctx, e.tokens[credAdmin])
			}
			if err != nil {
				t.Fatal(err)
			}
			return request{"/v1/passkeys/" + registerPasskey(t, e.inv.Store(), tok).ID, ""}
		}},
		{"POST /v1/enrollments", 201, same("/v1/enrollments", `{"host":"web1","account":"billing-batch"}`)},
		{"POST /v1/revocations", 200, func(credential) request {
			a, h, _ := e.fresh()
			e.Enroll(h, a)
			return request{"/v1/revocations", mustJSONString(t, map[string]string{"host": h, "account": a, "reason": "test"})}
		}},
		{"GET /v1/audit", 200, same("/v1/audit?format=jsonl", "")},
		{"GET /v1/audit/verify", 200, same("/v1/audit/verify", "")},
		{"GET /v1/plan/history", 200, same("/v1/plan/history?format=csv", "")},
		{"GET /v1/plan/chart", 200, same("/v1/plan/chart", "")},
		{"POST /v1/accounts", 201, func(credential) request {
			e.seq++
			return request{"/v1/accounts", fmt.Sprintf(`{"name":"reg%d","system":"ledger","kind":"legacy","credential":"static_password"}`, e.seq)}
		}},
		{"POST /v1/accounts/import", 200, same("/v1/accounts/import?format=json", "name,system,kind,credential\nora-reader,ledger,database,static_password\n")},
		{"POST /v1/accounts/{name}/remove", 200, func(credential) request {
			e.seq++
			name := fmt.Sprintf("gone%d", e.seq)
			if _, err := e.inv.AddRegistered(ctx, inventory.NewAccount{Name: name, System: "ledger", Kind: "legacy", Credential: "static_password"}); err != nil {
				t.Fatal(err)
			}
			return request{"/v1/accounts/" + name + "/remove", `{"reason":"decommissioned"}`}
		}},
		{"PUT /v1/accounts/{name}/purpose", 200, same("/v1/accounts/billing-batch/purpose", `{"purpose":"bills customers"}`)},
		{"POST /v1/vendors", 201, func(credential) request {
			e.seq++
			return request{"/v1/vendors", fmt.Sprintf(`{"name":"v%d","owner":"team","contact":"ops@v.example","route":"vpn"}`, e.seq)}
		}},
		{"GET /v1/vendors", 200, same("/v1/vendors?format=csv", "")},
		{"GET /v1/vendors/{name}", 200, func(credential) request { return request{"/v1/vendors/" + e.vendor(), ""} }},
		{"PATCH /v1/vendors/{name}", 200, func(credential) request { return request{"/v1/vendors/" + e.vendor(), `{"on_lapse":"revoke"}`} }},
		{"DELETE /v1/vendors/{name}", 200, func(credential) request { return request{"/v1/vendors/" + e.vendor(), ""} }},
		{"POST /v1/vendors/import", 200, same("/v1/vendors/import?format=json", "name,owner,contact,route\nacme,team,ops@acme.example,ssh\n")},
		{"POST /v1/notify/test", 201, same("/v1/notify/test", "")},
		{"GET /v1/notify/outbox", 200, same("/v1/notify/outbox", "")},
		{"PUT /v1/plan/{tier}", 200, same("/v1/plan/1", `{"target":"short_lived_cert","owner":"sec-team","start":"2026-01-01","end":"2030-01-01"}`)},
		{"DELETE /v1/plan/{tier}", 200, func(credential) request {
			for tier := inventory.TierPrivileged; tier <= inventory.TierRest; tier++ {
				p := inventory.Phase{Tier: tier, Target: inventory.StrengthShortLivedCert, Owner: "sec-team", Start: time.Now(), End: time.Now().AddDate(1, 0, 0)}
				if tier == inventory.TierRest {
					p.End = time.Time{}
				}
				if _, err := e.inv.SetPhase(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			return request{"/v1/plan/4", ""}
		}},
		{"GET /v1/plan", 200, same("/v1/plan?format=csv", "")},
		{"POST /v1/exceptions/{id}/extend", 200, func(credential) request {
			a, _, _ := e.fresh()
			ex, err := e.inv.AddException(ctx, inventory.Exception{Account: a, Reason: "vendor", Owner: "team", Expires: time.Now().AddDate(0, 0, 10)})
			if err != nil {
				t.Fatal(err)
			}
			return request{"/v1/exceptions/" + ex.ID + "/extend", `{"expires":"` + time.Now().AddDate(0, 0, 20).Format("2006-01-02") + `","reason":"late"}`}
		}},
		{"POST /v1/ssh/sign", 200, func(c credential) request {
			typ := "user"
			if c == credHostCert {
				typ = "host"
			}
			return request{"/v1/ssh/sign", mustJSONString(t, map[string]string{"public_key": sshTestKey(t), "type": typ})}
		}},
		{"GET /v1/ssh/host-config", 200, same("/v1/ssh/host-config", "")},
		{"POST /v1/ssh/grants", 200, same("/v1/ssh/grants", `{"identity":"billing-batch","as":"deploy","host":"web1"}`)},
		{"POST /v1/ssh/grants/remove", 200, func(credential) request {
			a, h, _ := e.fresh()
			if _, err := e.inv.AllowSSH(ctx, inventory.SSHGrantSpec{Identity: a, As: "deploy", Host: h}); err != nil {
				t.Fatal(err)
			}
			return request{"/v1/ssh/grants/remove", mustJSONString(t, map[string]string{"identity": a, "as": "deploy", "host": h})}
		}},
		{"GET /v1/ssh/grants", 200, same("/v1/ssh/grants?host=web1", "")},
		{"GET /v1/ssh/migration", 200, same("/v1/ssh/migration?account=billing-batch&host=web1", "")},
		{"PUT /v1/accounts/{name}/ssh-policy", 200, same("/v1/accounts/billing-batch/ssh-policy", `{"permit":["pty"]}`)},
	}

	s, err := New(Options{Inventory: e.inv, Issuer: e.iss, CA: e.ca})
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]caller{}
	for _, rt := range s.routes() {
		routes[rt.pattern] = rt.who
	}
	for _, tc := range cases {
		who, ok := routes[tc.pattern]
		if !ok {
			t.Errorf("%s: no such route", tc.pattern)
			continue
		}
		delete(routes, tc.pattern)
		method, _, _ := strings.Cut(tc.pattern, " ")
		for c := range numCredentials {
			if strings.Contains(tc.pattern, "renew") || strings.Contains(tc.pattern, "rekey") {
				// One certificate gets one successor: each renewal or rekey
				// presents an identity's current certificate.
				e.freshIdentity(c)
			}
			rq := tc.req(c)
			ct := "application/json"
			if strings.HasPrefix(rq.path, "/v1/owners/import") || strings.HasPrefix(rq.path, "/v1/accounts/import") || strings.HasPrefix(rq.path, "/v1/vendors/import") {
				ct = "text/csv"
			}
			code, body := e.call(c, method, rq.path, ct, rq.body)
			okFor, want := allowed(who, c)
			if okFor {
				want = tc.status
			}
			if code != want {
				t.Errorf("%s as %s (%s): %d %.200s, want %d", tc.pattern, c, who, code, body, want)
			}
		}
	}
	for p := range routes {
		t.Errorf("route %s has no access case", p)
	}
}

// TestBearerSchemeCaseInsensitive: "bearer", "BEARER" and "Bearer" work
// (RFC 9110, 11.1); another scheme or a bare token does not.
func TestBearerSchemeCaseInsensitive(t *testing.T) {
	e := newAccessEnv(t)
	tok := e.tokens[credViewer]
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"Bearer " + tok, 200},
		{"bearer " + tok, 200},
		{"BEARER " + tok, 200},
		{"bEaReR  " + tok, 200},
		{"Basic " + tok, 401},
		{tok, 401},
		{"Bearer", 401},
		{"Bearer ", 401},
	} {
		req, _ := http.NewRequest("GET", e.url+"/v1/whoami", nil)
		req.Header.Set("Authorization", tc.header)
		resp, err := e.clients[credNone].Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Authorization %q: %d %s, want %d", strings.Replace(tc.header, tok, "TOKEN", 1), resp.StatusCode, b, tc.want)
		}
	}
}

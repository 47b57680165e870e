package server

import (
	"net/http"
	"time"
)

// handlerFunc is a handler that returns its error instead of writing it;
// [Server.writeError] writes it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one entry of the route table.
type route struct {
	// pattern is the http.ServeMux pattern: METHOD PATH.
	pattern string
	// who may call it.
	who caller
	// body is the most the route reads of a request body, in bytes; 0 for
	// none.
	body int64
	// large gives the body [Limits.LargeBodyReadTimeout] to arrive instead
	// of [Limits.BodyReadTimeout]: scan reports and owner imports.
	large bool
	// step marks the step-compatible endpoints: compact JSON, and errors
	// with status and message (package api, "Two dialects").
	step bool
	h    handlerFunc
}

// routes is every route the server serves, in one place. The package
// documentation's route table and the access test (access_test.go) follow
// it.
func (s *Server) routes() []route {
	return []route{
		// Health and the CA's public endpoints (ca.go).
		{pattern: "GET /healthz", who: anyone, h: s.healthz},
		{pattern: "GET /health", who: anyone, step: true, h: s.healthz},
		// Ready: the database reachable and the CA's keys loaded (health.go).
		{pattern: "GET /readyz", who: anyone, h: s.readyz},
		{pattern: "GET /roots.pem", who: anyone, step: true, h: s.rootsPEM},
		{pattern: "GET /1.0/roots", who: anyone, step: true, h: s.roots},
		{pattern: "GET /roots", who: anyone, step: true, h: s.roots},
		{pattern: "GET /crl", who: anyone, step: true, h: s.crl},
		{pattern: "GET /1.0/crl", who: anyone, step: true, h: s.crl},
		{pattern: "GET /ssh/roots", who: anyone, h: s.sshRoots},
		{pattern: "GET /ssh/krl", who: anyone, h: s.sshKRL},

		// Agents: enrollment with a one-time token (enroll.go), renewal and
		// rekey with the current certificate (renew.go).
		{pattern: "POST /v1/enroll", who: enrollToken, body: agentBody, step: true, h: s.enroll},
		{pattern: "POST /1.0/renew", who: identityCert, step: true, h: s.renew},
		{pattern: "POST /renew", who: identityCert, step: true, h: s.renew},
		{pattern: "POST /1.0/rekey", who: identityCert, body: agentBody, step: true, h: s.rekey},
		{pattern: "POST /rekey", who: identityCert, body: agentBody, step: true, h: s.rekey},
		{pattern: "POST /v1/renew-batch", who: hostCert, body: renewBatchBody, h: s.renewBatch},

		// Scans: a host certificate for its own host, or an operator
		// (scans.go).
		{pattern: "POST /v1/scans", who: hostOrOperator, body: s.lim.MaxScanBytes + 1, large: true, h: s.submitScan},
		{pattern: "GET /v1/scan-config", who: hostOrOperator, h: s.scanConfig},

		// The operator API.
		{pattern: "GET /v1/whoami", who: viewer, h: s.whoami},
		// Prometheus metrics (metrics.go); also on --metrics-listen.
		{pattern: "GET /metrics", who: viewer, h: s.serveMetrics},
		{pattern: "GET /v1/hosts", who: viewer, h: s.listHosts},
		{pattern: "GET /v1/hosts/{host}", who: viewer, h: s.getHost},
		{pattern: "POST /v1/hosts/{host}/tags", who: operator, body: jsonBody, h: s.tagHost},
		{pattern: "GET /v1/accounts", who: viewer, h: s.listAccounts},
		{pattern: "GET /v1/accounts/{name}", who: viewer, h: s.getAccount},
		{pattern: "GET /v1/accounts/{name}/history", who: viewer, h: s.accountHistory},
		{pattern: "POST /v1/accounts/{name}/tags", who: operator, body: jsonBody, h: s.tagAccount},
		{pattern: "PUT /v1/accounts/{name}/tier", who: operator, body: jsonBody, h: s.setTier},
		{pattern: "PUT /v1/accounts/{name}/kind", who: operator, body: jsonBody, h: s.setKind},
		{pattern: "POST /v1/accounts/{name}/retire", who: operator, body: jsonBody, h: s.retireAccount},
		{pattern: "POST /v1/accounts/{name}/unretire", who: operator, body: jsonBody, h: s.unretireAccount},
		{pattern: "POST /v1/accounts/{name}/split", who: operator, body: jsonBody, h: s.splitAccount},
		{pattern: "POST /v1/accounts/{name}/merge", who: operator, body: jsonBody, h: s.mergeAccount},
		{pattern: "PUT /v1/accounts/{name}/owner", who: operator, body: jsonBody, h: s.setOwner},
		{pattern: "DELETE /v1/accounts/{name}/owner", who: operator, h: s.unsetOwner},
		{pattern: "POST /v1/owners/import", who: operator, body: csvBody, large: true, h: s.importOwners},
		{pattern: "POST /v1/exceptions", who: operator, body: jsonBody, h: s.addException},
		{pattern: "GET /v1/exceptions", who: viewer, h: s.listExceptions},
		{pattern: "DELETE /v1/exceptions/{id}", who: operator, h: s.closeException},
		{pattern: "GET /v1/report", who: viewer, h: s.report},
		{pattern: "GET /v1/credentials/shared", who: viewer, h: s.sharedCredentials},
		{pattern: "POST /v1/tokens", who: admin, body: jsonBody, h: s.createToken},
		{pattern: "GET /v1/tokens", who: admin, h: s.listTokens},
		{pattern: "DELETE /v1/tokens/{name}", who: admin, h: s.revokeToken},
		// Passkeys: an operator's own; with role admin anyone's (passkeys.go).
		{pattern: "GET /v1/passkeys", who: viewer, h: s.listPasskeys},
		{pattern: "DELETE /v1/passkeys/{id}", who: viewer, h: s.revokePasskey},
		{pattern: "POST /v1/enrollments", who: operator, body: jsonBody, h: s.createEnrollment},
		{pattern: "POST /v1/revocations", who: operator, body: jsonBody, h: s.revoke},
		{pattern: "GET /v1/audit", who: viewer, h: s.listAudit},
		{pattern: "GET /v1/audit/verify", who: viewer, h: s.verifyAudit},
		{pattern: "GET /v1/plan/history", who: viewer, h: s.planHistory},
		{pattern: "GET /v1/plan/chart", who: viewer, h: s.planChart},

		// Registered accounts and purposes (registered.go).
		{pattern: "POST /v1/accounts", who: operator, body: jsonBody, h: s.addAccount},
		{pattern: "POST /v1/accounts/import", who: operator, body: csvBody, large: true, h: s.importAccounts},
		{pattern: "POST /v1/accounts/{name}/remove", who: operator, body: jsonBody, h: s.removeAccount},
		{pattern: "PUT /v1/accounts/{name}/purpose", who: operator, body: jsonBody, h: s.setPurpose},
		{pattern: "POST /v1/vendors", who: operator, body: jsonBody, h: s.addVendor},
		{pattern: "GET /v1/vendors", who: viewer, h: s.listVendors},
		{pattern: "GET /v1/vendors/{name}", who: viewer, h: s.getVendor},
		{pattern: "PATCH /v1/vendors/{name}", who: operator, body: jsonBody, h: s.setVendor},
		{pattern: "DELETE /v1/vendors/{name}", who: operator, h: s.removeVendor},
		{pattern: "POST /v1/vendors/import", who: operator, body: csvBody, large: true, h: s.importVendors},
		{pattern: "POST /v1/notify/test", who: operator, h: s.notifyTest},
		{pattern: "GET /v1/notify/outbox", who: viewer, h: s.notifyOutbox},
		{pattern: "PUT /v1/plan/{tier}", who: operator, body: jsonBody, h: s.setPhase},
		{pattern: "DELETE /v1/plan/{tier}", who: operator, h: s.removePhase},
		{pattern: "GET /v1/plan", who: viewer, h: s.plan},
		{pattern: "POST /v1/exceptions/{id}/extend", who: operator, body: jsonBody, h: s.extendException},

		// SSH certificates (sshsign.go): signing and the host's sshd
		// configuration for identities over mTLS, grants and policy for
		// operators.
		{pattern: "POST /v1/ssh/sign", who: identityCert, body: agentBody, h: s.sshSign},
		{pattern: "GET /v1/ssh/host-config", who: hostIdentityCert, h: s.sshHostConfig},
		{pattern: "POST /v1/ssh/grants", who: operator, body: jsonBody, h: s.sshAllow},
		{pattern: "POST /v1/ssh/grants/remove", who: operator, body: jsonBody, h: s.sshDeny},
		{pattern: "GET /v1/ssh/grants", who: viewer, h: s.sshGrants},
		{pattern: "GET /v1/ssh/migration", who: viewer, h: s.sshMigration},
		{pattern: "PUT /v1/accounts/{name}/ssh-policy", who: operator, body: jsonBody, h: s.setSSHPolicy},

		// The web page's sign-in links, for roster ui login (weblogin.go).
		{pattern: "POST /v1/ui/login-links", who: viewer, h: s.createLoginLink},
	}
}

// webRoutes is every page of the web page (web.go): the sign-in pages for
// anyone, the others for a session whose token has the role named. POSTs
// are forms: same origin and a CSRF token, checked by wrapWeb. The web
// access test (web_test.go) follows it.
func (s *Server) webRoutes() []webRoute {
	return []webRoute{
		// Signing in and out (weblogin.go).
		{pattern: "GET /login", who: anyone, h: s.loginPage},
		{pattern: "POST /login", who: anyone, h: s.login},
		{pattern: "GET /login/link/{code}", who: anyone, h: s.loginLinkPage},
		{pattern: "POST /login/link/{code}", who: anyone, h: s.loginLink},
		{pattern: "POST /logout", who: viewer, h: s.logout},
		{pattern: "POST /login/passkey/begin", who: anyone, h: s.beginPasskeyLogin},
		{pattern: "POST /login/passkey", who: anyone, h: s.passkeyLogin},

		// The operator's own passkeys (webpasskey.go).
		{pattern: "GET /passkeys", who: viewer, h: s.passkeysPage},
		{pattern: "POST /passkeys/register/begin", who: viewer, h: s.beginPasskeyRegistration},
		{pattern: "POST /passkeys/register", who: viewer, h: s.finishPasskeyRegistration},
		{pattern: "POST /passkeys/{id}/revoke", who: viewer, h: s.webRevokePasskey},
		{pattern: "GET /passkeys/all", who: admin, h: s.allPasskeysPage},
		{pattern: "POST /passkeys/all/{id}/revoke", who: admin, h: s.webRevokeAnyPasskey},

		// The dashboard (webdashboard.go).
		{pattern: "GET /{$}", who: viewer, h: s.dashboardPage},

		// The rollout plan (webplan.go).
		{pattern: "GET /plan", who: viewer, h: s.planPage},
		{pattern: "POST /plan/{tier}", who: operator, h: s.webSetPhase},
		{pattern: "POST /plan/{tier}/remove", who: operator, h: s.webRemovePhase},

		// Exceptions (webexceptions.go); one is added on its account's page.
		{pattern: "GET /exceptions", who: viewer, h: s.exceptionsPage},
		{pattern: "POST /exceptions/{id}/close", who: operator, h: s.webCloseListedException},

		// Hosts (webhosts.go).
		{pattern: "GET /hosts", who: viewer, h: s.hostsPage},
		{pattern: "GET /hosts/{host}", who: viewer, h: s.hostPage},
		{pattern: "POST /hosts/{host}/tags", who: operator, h: s.webTagHost},

		// Vendors (webvendors.go).
		{pattern: "GET /vendors", who: viewer, h: s.vendorsPage},
		{pattern: "POST /vendors", who: operator, h: s.webAddVendor},
		{pattern: "GET /vendors/{name}", who: viewer, h: s.vendorPage},
		{pattern: "POST /vendors/{name}", who: operator, h: s.webSetVendor},
		{pattern: "POST /vendors/{name}/remove", who: operator, h: s.webRemoveVendor},

		// Operator tokens, for admins (webtokens.go).
		{pattern: "GET /tokens", who: admin, h: s.tokensPage},
		{pattern: "POST /tokens", who: admin, h: s.webCreateToken},
		{pattern: "POST /tokens/{name}/revoke", who: admin, h: s.webRevokeToken},

		// The audit log with its chain's verification (webaudit.go).
		{pattern: "GET /audit", who: viewer, h: s.auditPage},

		// CSV import of owners, accounts and vendors: a dry run, then
		// Apply (webimport.go).
		{pattern: "GET /import", who: operator, h: s.importPage},
		{pattern: "POST /import", who: operator, body: webImportBody, h: s.webImport},
		{pattern: "POST /import/apply", who: operator, body: webImportBody, h: s.webImportApply},

		// The accounts list (webaccounts.go), an account and its actions
		// (webaccount.go).
		{pattern: "GET /accounts", who: viewer, h: s.accountsPage},
		{pattern: "GET /accounts/{name}", who: viewer, h: s.accountPage},
		{pattern: "POST /accounts/{name}/owner", who: operator, h: s.webSetOwner},
		{pattern: "POST /accounts/{name}/purpose", who: operator, h: s.webSetPurpose},
		{pattern: "POST /accounts/{name}/exceptions", who: operator, h: s.webAddException},
		{pattern: "POST /accounts/{name}/exceptions/{id}/close", who: operator, h: s.webCloseException},
		{pattern: "POST /accounts/{name}/tags", who: operator, h: s.webTagAccount},
		{pattern: "POST /accounts/{name}/tier", who: operator, h: s.webSetTier},
		{pattern: "POST /accounts/{name}/retire", who: operator, h: s.webRetire},
		{pattern: "POST /accounts/{name}/unretire", who: operator, h: s.webUnretire},
		{pattern: "POST /accounts/{name}/enroll", who: operator, h: s.webEnroll},
	}
}

// Handler is the whole HTTP API and the web page: every route of
// [Server.routes] and [Server.webRoutes] behind its wrappers, the static
// files, and the request-body deadlines for every request, routed or
// not.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, s.wrap(rt))
	}
	for _, rt := range s.webRoutes() {
		mux.Handle(rt.pattern, s.wrapWeb(rt))
	}
	mux.Handle("GET /static/", s.webStatic())
	return s.timeBodies(mux)
}

// wrap builds a route's handler: the dialect, the body limit and its read
// time, then who may call it, then the handler, whose error goes to the one
// error writer.
func (s *Server) wrap(rt route) http.Handler {
	h := s.authenticate(rt.who, rt.h)
	total := s.lim.BodyReadTimeout
	if rt.large {
		total = s.lim.LargeBodyReadTimeout
	}
	d := dialectOperator
	if rt.step {
		d = dialectStep
	}
	return s.metrics.timed(rt.pattern, func(w, inner http.ResponseWriter, r *http.Request) {
		r = r.WithContext(withDialect(r.Context(), d))
		if tb, ok := r.Body.(*timedBody); ok && tb.total != total {
			tb.total = total
			tb.arm()
		}
		r.Body = http.MaxBytesReader(inner, r.Body, rt.body)
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// timeBodies gives every request that has a body [Limits.BodyStallTimeout]
// for each read of it and [Limits.BodyReadTimeout] for all of it (a route
// may allow more: route.large). A request without a body gets no read
// deadline: the server's own timeouts apply.
func (s *Server) timeBodies(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			tb := &timedBody{rc: r.Body, ctl: http.NewResponseController(w), start: time.Now(),
				stall: s.lim.BodyStallTimeout, total: s.lim.BodyReadTimeout}
			tb.arm()
			r.Body = tb
		}
		h.ServeHTTP(w, r)
	})
}

package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/render"
	"github.com/rosterhq/roster/scan"
)

// api serves the operator API under /v1/ and mounts the issuer's and the
// CA's own handlers.
type api struct {
	inv          *inventory.Inventory
	tokens       *access.Tokens
	iss          *issuer.Issuer
	ca           *ca.CA
	log          *slog.Logger
	maxScanBytes int64
}

func (a *api) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})

	// Public CA endpoints and the issuer's token- and mTLS-authenticated ones.
	caH := a.ca.Handler()
	for _, p := range ca.HandlerPatterns() {
		mux.Handle(p, caH)
	}
	issH := a.iss.Handler()
	for _, p := range issuer.HandlerPatterns() {
		mux.Handle(p, issH)
	}

	// Scans: an operator token, or a host certificate for its own host.
	mux.Handle("POST /v1/scans", a.handle(a.submitScan))
	mux.Handle("GET /v1/scan-config", a.handle(a.scanConfig))

	v, o, ad := access.RoleViewer, access.RoleOperator, access.RoleAdmin
	a.route(mux, "GET /v1/whoami", v, a.whoami)
	a.route(mux, "GET /v1/hosts", v, a.listHosts)
	a.route(mux, "GET /v1/hosts/{host}", v, a.getHost)
	a.route(mux, "POST /v1/hosts/{host}/tags", o, a.tagHost())
	a.route(mux, "GET /v1/accounts", v, a.listAccounts)
	a.route(mux, "GET /v1/accounts/{name}", v, a.getAccount)
	a.route(mux, "GET /v1/accounts/{name}/history", v, a.accountHistory)
	a.route(mux, "POST /v1/accounts/{name}/tags", o, a.tagAccount())
	a.route(mux, "PUT /v1/accounts/{name}/tier", o, a.setTier())
	a.route(mux, "POST /v1/accounts/{name}/retire", o, a.retireAccount())
	a.route(mux, "POST /v1/accounts/{name}/unretire", o, a.unretireAccount())
	a.route(mux, "POST /v1/accounts/{name}/split", o, a.splitAccount)
	a.route(mux, "POST /v1/accounts/{name}/merge", o, a.mergeAccount())
	a.route(mux, "PUT /v1/accounts/{name}/owner", o, a.setOwner())
	a.route(mux, "DELETE /v1/accounts/{name}/owner", o, a.unsetOwner)
	a.route(mux, "POST /v1/owners/import", o, a.importOwners)
	a.route(mux, "POST /v1/exceptions", o, a.addException)
	a.route(mux, "GET /v1/exceptions", v, a.listExceptions)
	a.route(mux, "DELETE /v1/exceptions/{id}", o, a.closeException)
	a.route(mux, "GET /v1/report", v, a.report)
	a.route(mux, "GET /v1/credentials/shared", v, a.sharedCredentials)
	a.route(mux, "POST /v1/tokens", ad, a.createToken)
	a.route(mux, "GET /v1/tokens", ad, a.listTokens)
	a.route(mux, "DELETE /v1/tokens/{name}", ad, a.revokeToken)
	a.route(mux, "POST /v1/enrollments", o, a.createEnrollment)
	a.route(mux, "POST /v1/revocations", o, a.revoke)
	a.route(mux, "GET /v1/audit", v, a.listAudit)
	a.route(mux, "GET /v1/audit/verify", v, a.verifyAudit)
	return mux
}

type principalKey struct{}

// principal is who made a request: an operator token or a host certificate.
type principal struct {
	token *access.Token
	host  string
}

func (p principal) actor() string {
	if p.token != nil {
		return "token:" + p.token.Name
	}
	return "host:" + p.host
}

// route registers an operator API handler that needs at least role.
func (a *api) route(mux *http.ServeMux, pattern string, role access.Role, h handlerFunc) {
	mux.Handle(pattern, a.handle(func(w http.ResponseWriter, r *http.Request) error {
		tok, err := a.authorize(r, role, r.Pattern,
			fmt.Sprintf("ask an admin for a token with role %s: roster token create --role %s --name NAME", role, role))
		if err != nil {
			return err
		}
		return h(w, r.WithContext(withPrincipal(r.Context(), principal{token: &tok})))
	}))
}

func withPrincipal(ctx context.Context, p principal) context.Context {
	ctx = context.WithValue(ctx, principalKey{}, p)
	return audit.WithActor(ctx, p.actor())
}

func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// authorize authenticates r's operator token and checks that its role
// allows role; what names the action in the 403 message, and hint, when not
// empty, is added to it.
func (a *api) authorize(r *http.Request, role access.Role, what, hint string) (access.Token, error) {
	tok, err := a.authenticateToken(r)
	if err != nil {
		return access.Token{}, err
	}
	if !tok.Role.Allows(role) {
		return access.Token{}, errorf(http.StatusForbidden, "token %q has role %s; %s needs role %s", tok.Name, tok.Role, what, role).
			withHint(hint)
	}
	return tok, nil
}

func (a *api) authenticateToken(r *http.Request) (access.Token, error) {
	h := r.Header.Get("Authorization")
	plain, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || plain == "" {
		return access.Token{}, errorf(http.StatusUnauthorized, "missing bearer token").
			withHint("set ROSTER_TOKEN to an operator token")
	}
	tok, err := a.tokens.Authenticate(r.Context(), strings.TrimSpace(plain))
	if err != nil {
		return access.Token{}, errorf(http.StatusUnauthorized, "invalid or revoked token").
			withHint("ask an admin for a token: roster token create --role viewer --name NAME")
	}
	return tok, nil
}

// handle turns a handlerFunc's error into a JSON error response.
func (a *api) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.writeError(w, r, err)
		}
	})
}

func (a *api) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, hint := http.StatusInternalServerError, "internal error", ""
	var ae *apiError
	var hinter interface{ Hint() string }
	switch {
	case errors.As(err, &ae):
		status, msg, hint = ae.status, ae.msg, ae.hint
	default:
		if s, ok := errorStatus(err); ok {
			status, msg = s, err.Error()
			if errors.As(err, &hinter) {
				hint = hinter.Hint()
			}
		}
	}
	if status >= 500 {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	body := map[string]string{"error": msg}
	if hint != "" {
		body["hint"] = hint
	}
	writeJSON(w, status, body)
}

// errorStatus maps the inventory's and the issuer's typed errors to
// HTTP statuses; their messages are written for operators and hold no
// secrets.
func errorStatus(err error) (int, bool) {
	var (
		ve *scan.ValidationError
		ie *inventory.InvalidError
		ae *access.InvalidError
		fe *render.FormatError
	)
	switch {
	case errors.Is(err, scan.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, true
	case errors.As(err, &ve), errors.As(err, &ie), errors.As(err, &ae), errors.As(err, &fe):
		return http.StatusBadRequest, true
	case issuer.Status(err) != 0:
		return issuer.Status(err), true
	case errors.Is(err, inventory.ErrNotFound), errors.Is(err, access.ErrNotFound), errors.Is(err, issuer.ErrNothingToRevoke):
		return http.StatusNotFound, true
	case errors.Is(err, inventory.ErrAmbiguous):
		return http.StatusConflict, true
	}
	return 0, false
}

// scanPrincipal authenticates a scan submission: a host certificate over
// mTLS, else an operator token with role operator or admin.
func (a *api) scanPrincipal(r *http.Request) (principal, error) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		host, err := a.iss.AuthenticateHost(r)
		if err != nil {
			return principal{}, errorf(http.StatusUnauthorized, "client certificate refused: %v", err)
		}
		return principal{host: host}, nil
	}
	tok, err := a.authorize(r, access.RoleOperator, "submitting scans", "")
	if err != nil {
		return principal{}, err
	}
	return principal{token: &tok}, nil
}

func (a *api) submitScan(w http.ResponseWriter, r *http.Request) error {
	p, err := a.scanPrincipal(r)
	if err != nil {
		return err
	}
	max := a.maxScanBytes
	if max <= 0 {
		max = scan.DefaultMaxBytes
	}
	rep, err := scan.Decode(http.MaxBytesReader(w, r.Body, max+1), max)
	if err != nil {
		return err
	}
	// A host certificate reports for its own host only.
	if p.host != "" && !strings.EqualFold(rep.Host.Hostname, p.host) {
		return errorf(http.StatusForbidden, "host certificate for %q cannot submit a scan of host %q", p.host, rep.Host.Hostname)
	}
	res, err := a.inv.Ingest(withPrincipal(r.Context(), p), rep)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (a *api) scanConfig(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.scanPrincipal(r); err != nil {
		return err
	}
	key, err := a.inv.FingerprintKey(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"fingerprint_key": base64.StdEncoding.EncodeToString(key)})
	return nil
}

func (a *api) whoami(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"name": p.token.Name, "role": string(p.token.Role)})
	return nil
}

// queryBool reads a boolean query parameter, naming it when malformed.
func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errorf(http.StatusBadRequest, "query parameter %s: %q is not a boolean", name, v)
	}
	return b, nil
}

// queryDuration reads a duration such as "30d" or "12h".
func queryDuration(r *http.Request, name string) (time.Duration, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	d, err := parseDays(v)
	if err != nil {
		return 0, errorf(http.StatusBadRequest, "query parameter %s: %v", name, err)
	}
	return d, nil
}

// parseDays parses a duration that may use a "d" suffix for days ("30d"),
// as operators write expiry windows, besides Go's own units.
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, errors.New("expected a duration such as 30d or 12h, got " + strconv.Quote(s))
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("expected a duration such as 30d or 12h, got " + strconv.Quote(s))
	}
	return d, nil
}

package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/scan"
)

// The operator API, one method per route. Reads take the ?format= the
// server renders (api.Format*) and copy its output to w.

// Report writes GET /v1/report.
func (c *Client) Report(ctx context.Context, format string, w io.Writer) error {
	return c.get(ctx, "/v1/report", nil, format, w)
}

// ListAccounts writes GET /v1/accounts.
func (c *Client) ListAccounts(ctx context.Context, q api.AccountQuery, format string, w io.Writer) error {
	return c.get(ctx, "/v1/accounts", q.Values(), format, w)
}

// ShowAccount writes GET /v1/accounts/{name}.
func (c *Client) ShowAccount(ctx context.Context, name, format string, w io.Writer) error {
	return c.get(ctx, accountPath(name), nil, format, w)
}

// AccountHistory writes GET /v1/accounts/{name}/history.
func (c *Client) AccountHistory(ctx context.Context, name, format string, w io.Writer) error {
	return c.get(ctx, accountPath(name, "/history"), nil, format, w)
}

// TagAccount adds and removes an account's tags.
func (c *Client) TagAccount(ctx context.Context, name string, req api.TagsRequest) error {
	return c.do(ctx, http.MethodPost, accountPath(name, "/tags"), nil, req, "", nil)
}

// SetTier overrides an account's impact tier (tier 0 clears it).
// SetKind overrides the kind of an account (service, human, system; auto
// clears the override).
func (c *Client) SetKind(ctx context.Context, name string, req api.KindRequest) error {
	return c.do(ctx, http.MethodPut, accountPath(name, "/kind"), nil, req, "", nil)
}

func (c *Client) SetTier(ctx context.Context, name string, req api.TierRequest) error {
	return c.do(ctx, http.MethodPut, accountPath(name, "/tier"), nil, req, "", nil)
}

// RetireAccount marks an account retired.
func (c *Client) RetireAccount(ctx context.Context, name string, req api.RetireRequest) error {
	return c.do(ctx, http.MethodPost, accountPath(name, "/retire"), nil, req, "", nil)
}

// UnretireAccount undoes a retirement.
func (c *Client) UnretireAccount(ctx context.Context, name string, req api.UnretireRequest) error {
	return c.do(ctx, http.MethodPost, accountPath(name, "/unretire"), nil, req, "", nil)
}

// SplitAccount moves an account's instance on req.Host into its own
// service account, or with req.Separate confirms the account as an
// identity of its own; it returns the account's name.
func (c *Client) SplitAccount(ctx context.Context, name string, req api.SplitRequest) (api.SplitResponse, error) {
	var out api.SplitResponse
	err := c.do(ctx, http.MethodPost, accountPath(name, "/split"), nil, req, "", &out)
	return out, err
}

// MergeAccount merges service account req.From into into.
func (c *Client) MergeAccount(ctx context.Context, into string, req api.MergeRequest) error {
	return c.do(ctx, http.MethodPost, accountPath(into, "/merge"), nil, req, "", nil)
}

// SetOwner sets an account's owner.
func (c *Client) SetOwner(ctx context.Context, name string, owner api.Owner) error {
	return c.do(ctx, http.MethodPut, accountPath(name, "/owner"), nil, owner, "", nil)
}

// UnsetOwner removes an account's owner.
func (c *Client) UnsetOwner(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, accountPath(name, "/owner"), nil, nil, "", nil)
}

// ImportOwners sends an owner CSV (a dry run unless apply) and writes the
// server's answer in format.
func (c *Client) ImportOwners(ctx context.Context, csv io.Reader, apply bool, format string, w io.Writer) error {
	q := url.Values{"apply": {strconv.FormatBool(apply)}, "format": {format}}
	return c.do(ctx, http.MethodPost, "/v1/owners/import", q, csv, "text/csv", w)
}

// ListHosts writes GET /v1/hosts.
func (c *Client) ListHosts(ctx context.Context, format string, w io.Writer) error {
	return c.get(ctx, "/v1/hosts", nil, format, w)
}

// TagHost adds and removes a host's tags.
func (c *Client) TagHost(ctx context.Context, host string, req api.TagsRequest) (api.TagHostResponse, error) {
	var out api.TagHostResponse
	err := c.do(ctx, http.MethodPost, "/v1/hosts/"+url.PathEscape(host)+"/tags", nil, req, "", &out)
	return out, err
}

// AddException adds an exception and returns it.
func (c *Client) AddException(ctx context.Context, req api.ExceptionRequest) (api.Exception, error) {
	var out api.Exception
	err := c.do(ctx, http.MethodPost, "/v1/exceptions", nil, req, "", &out)
	return out, err
}

// ListExceptions writes GET /v1/exceptions.
func (c *Client) ListExceptions(ctx context.Context, q api.ExceptionQuery, format string, w io.Writer) error {
	return c.get(ctx, "/v1/exceptions", q.Values(), format, w)
}

// CloseException closes an exception; reason may be empty.
func (c *Client) CloseException(ctx context.Context, id, reason string) error {
	var q url.Values
	if reason != "" {
		q = url.Values{"reason": {reason}}
	}
	return c.do(ctx, http.MethodDelete, "/v1/exceptions/"+url.PathEscape(id), q, nil, "", nil)
}

// CreateToken creates an operator token; the secret is in the answer
// only.
func (c *Client) CreateToken(ctx context.Context, req api.TokenRequest) (api.TokenCreated, error) {
	var out api.TokenCreated
	err := c.do(ctx, http.MethodPost, "/v1/tokens", nil, req, "", &out)
	return out, err
}

// ListTokens writes GET /v1/tokens.
func (c *Client) ListTokens(ctx context.Context, format string, w io.Writer) error {
	return c.get(ctx, "/v1/tokens", nil, format, w)
}

// RevokeToken revokes an operator token by name.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(name), nil, nil, "", nil)
}

// ListPasskeys writes GET /v1/passkeys: the caller's passkeys, or with
// token set (role admin for another's) that token's.
func (c *Client) ListPasskeys(ctx context.Context, token, format string, w io.Writer) error {
	var q url.Values
	if token != "" {
		q = url.Values{"token": {token}}
	}
	return c.get(ctx, "/v1/passkeys", q, format, w)
}

// RevokePasskey revokes a passkey by ID.
func (c *Client) RevokePasskey(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/passkeys/"+url.PathEscape(id), nil, nil, "", nil)
}

// CreateEnrollment creates a one-time enrollment token for an identity.
func (c *Client) CreateEnrollment(ctx context.Context, req api.EnrollmentRequest) (api.Enrollment, error) {
	var out api.Enrollment
	err := c.do(ctx, http.MethodPost, "/v1/enrollments", nil, req, "", &out)
	return out, err
}

// Revoke revokes an identity's certificates, or one by serial.
func (c *Client) Revoke(ctx context.Context, req api.RevokeRequest) (api.RevokeResponse, error) {
	var out api.RevokeResponse
	err := c.do(ctx, http.MethodPost, "/v1/revocations", nil, req, "", &out)
	return out, err
}

// ListAudit writes GET /v1/audit.
func (c *Client) ListAudit(ctx context.Context, q api.AuditQuery, format string, w io.Writer) error {
	return c.get(ctx, "/v1/audit", q.Values(), format, w)
}

// VerifyAudit checks the audit log's hash chain on the server.
func (c *Client) VerifyAudit(ctx context.Context) (api.AuditVerification, error) {
	var out api.AuditVerification
	err := c.do(ctx, http.MethodGet, "/v1/audit/verify", nil, nil, "", &out)
	return out, err
}

// ScanConfig fetches the key scans fingerprint secrets with.
func (c *Client) ScanConfig(ctx context.Context) (api.ScanConfig, error) {
	var out api.ScanConfig
	err := c.do(ctx, http.MethodGet, "/v1/scan-config", nil, nil, "", &out)
	return out, err
}

// SubmitScan sends a scan report and returns what the server made of it.
func (c *Client) SubmitScan(ctx context.Context, rep *scan.Report) (api.ScanResult, error) {
	var out api.ScanResult
	err := c.do(ctx, http.MethodPost, "/v1/scans", nil, rep, "", &out)
	return out, err
}

// PlanHistory writes GET /v1/plan/history: the plan's daily snapshots.
func (c *Client) PlanHistory(ctx context.Context, q api.PlanHistoryQuery, format string, w io.Writer) error {
	return c.get(ctx, "/v1/plan/history", q.Values(), format, w)
}

// PlanChart writes GET /v1/plan/chart, the burndown chart (SVG), to w.
func (c *Client) PlanChart(ctx context.Context, q api.PlanHistoryQuery, w io.Writer) error {
	return c.do(ctx, http.MethodGet, "/v1/plan/chart", q.Values(), nil, "", w)
}

// AddAccount registers an account no scan finds.
func (c *Client) AddAccount(ctx context.Context, req api.AccountAddRequest) (api.AccountSummary, error) {
	var out api.AccountSummary
	err := c.do(ctx, http.MethodPost, "/v1/accounts", nil, req, "", &out)
	return out, err
}

// RemoveAccount retires a registered account.
func (c *Client) RemoveAccount(ctx context.Context, name string, req api.AccountRemoveRequest) error {
	return c.do(ctx, http.MethodPost, accountPath(name, "/remove"), nil, req, "", nil)
}

// SetPurpose sets (or with an empty purpose clears) what an account is for.
func (c *Client) SetPurpose(ctx context.Context, name string, req api.PurposeRequest) error {
	return c.do(ctx, http.MethodPut, accountPath(name, "/purpose"), nil, req, "", nil)
}

// ImportAccounts sends a registered-account CSV (a dry run unless apply)
// and writes the server's answer in format.
func (c *Client) ImportAccounts(ctx context.Context, csv io.Reader, apply bool, format string, w io.Writer) error {
	q := url.Values{"apply": {strconv.FormatBool(apply)}, "format": {format}}
	return c.do(ctx, http.MethodPost, "/v1/accounts/import", q, csv, "text/csv", w)
}

// NotifyTest queues a test notice for every webhook (POST /v1/notify/test).
func (c *Client) NotifyTest(ctx context.Context) (api.NotifyTestResponse, error) {
	var out api.NotifyTestResponse
	err := c.do(ctx, http.MethodPost, "/v1/notify/test", nil, nil, "", &out)
	return out, err
}

// NotifyOutbox writes GET /v1/notify/outbox.
func (c *Client) NotifyOutbox(ctx context.Context, format string, w io.Writer) error {
	return c.get(ctx, "/v1/notify/outbox", nil, format, w)
}

// SetPhase sets or replaces tier's phase and returns it.
func (c *Client) SetPhase(ctx context.Context, tier int, req api.PhaseRequest) (api.Phase, error) {
	var out api.Phase
	err := c.do(ctx, http.MethodPut, "/v1/plan/"+strconv.Itoa(tier), nil, req, "", &out)
	return out, err
}

// RemovePhase removes tier's phase.
func (c *Client) RemovePhase(ctx context.Context, tier int) error {
	return c.do(ctx, http.MethodDelete, "/v1/plan/"+strconv.Itoa(tier), nil, nil, "", nil)
}

// Plan writes GET /v1/plan.
func (c *Client) Plan(ctx context.Context, format string, w io.Writer) error {
	return c.get(ctx, "/v1/plan", nil, format, w)
}

// ExtendException extends an exception and returns it.
func (c *Client) ExtendException(ctx context.Context, id string, req api.ExtendRequest) (api.Exception, error) {
	var out api.Exception
	err := c.do(ctx, http.MethodPost, "/v1/exceptions/"+url.PathEscape(id)+"/extend", nil, req, "", &out)
	return out, err
}

// CreateLoginLink makes a one-time sign-in link to the web page for the
// client's own token; URL is the server's URL and the link's path.
func (c *Client) CreateLoginLink(ctx context.Context) (api.LoginLink, string, error) {
	var out api.LoginLink
	if err := c.do(ctx, http.MethodPost, "/v1/ui/login-links", nil, nil, "", &out); err != nil {
		return api.LoginLink{}, "", err
	}
	return out, c.base() + out.Path, nil
}

package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/rosterhq/roster/api"
)

// AllowSSH is POST /v1/ssh/grants (roster ssh allow).
func (c *Client) AllowSSH(ctx context.Context, req api.SSHGrantRequest) (api.SSHGrant, error) {
	var out api.SSHGrant
	err := c.do(ctx, http.MethodPost, "/v1/ssh/grants", nil, req, "", &out)
	return out, err
}

// DenySSH is POST /v1/ssh/grants/remove (roster ssh deny).
func (c *Client) DenySSH(ctx context.Context, req api.SSHGrantRequest) (api.SSHGrant, error) {
	var out api.SSHGrant
	err := c.do(ctx, http.MethodPost, "/v1/ssh/grants/remove", nil, req, "", &out)
	return out, err
}

// SSHGrants writes GET /v1/ssh/grants (host "" for all) in format.
func (c *Client) SSHGrants(ctx context.Context, host, format string, w io.Writer) error {
	q := url.Values{}
	if host != "" {
		q.Set("host", host)
	}
	return c.get(ctx, "/v1/ssh/grants", q, format, w)
}

// SetSSHPolicy is PUT /v1/accounts/{name}/ssh-policy (roster ssh policy).
func (c *Client) SetSSHPolicy(ctx context.Context, name string, req api.SSHPolicyRequest) (api.SSHPolicy, error) {
	var out api.SSHPolicy
	err := c.do(ctx, http.MethodPut, accountPath(name, "/ssh-policy"), nil, req, "", &out)
	return out, err
}

// SSHMigration writes GET /v1/ssh/migration (roster ssh migrate) in
// format.
func (c *Client) SSHMigration(ctx context.Context, account, host, format string, w io.Writer) error {
	return c.get(ctx, "/v1/ssh/migration", url.Values{"account": {account}, "host": {host}}, format, w)
}

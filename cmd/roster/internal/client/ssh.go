package client

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/rosterhq/roster/api"
)

// SSHRoots returns GET /ssh/roots: the SSH user and host CA keys. The
// route is public: no token is needed.
func (c *Client) SSHRoots(ctx context.Context) (api.SSHRoots, error) {
	var out api.SSHRoots
	if err := c.do(ctx, http.MethodGet, "/ssh/roots", nil, nil, "", &out); err != nil {
		return out, err
	}
	if len(out.User) == 0 || len(out.Host) == 0 {
		return out, fmt.Errorf("GET /ssh/roots: the server sent %d user and %d host CA keys", len(out.User), len(out.Host))
	}
	return out, nil
}

// SSHKRL copies GET /ssh/krl (the OpenSSH key revocation list) to w. The
// route is public.
func (c *Client) SSHKRL(ctx context.Context, w io.Writer) error {
	return c.do(ctx, http.MethodGet, "/ssh/krl", nil, nil, "", w)
}

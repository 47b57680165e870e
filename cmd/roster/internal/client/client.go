// Package client is the roster operator API client used by the CLI.
//
// [Load] finds the server, the pinned root certificate and the operator
// token; [New] returns a [Client] whose methods are the API's operations,
// one per route, taking and returning package api's types. Reads that the
// server renders (?format=table, csv, markdown, json, jsonl) copy the
// server's output to a writer. An error response becomes an [*APIError]
// whose Hint the CLI prints.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Environment variables read by Load.
const (
	EnvServer = "ROSTER_SERVER"
	EnvToken  = "ROSTER_TOKEN"
	EnvCARoot = "ROSTER_CA_ROOT"
)

// Defaults used when neither the environment nor the config file says
// otherwise: a server started with `roster server` in the current directory.
const (
	DefaultServer  = "https://127.0.0.1:8443"
	DefaultDataDir = "roster-data"
)

// Config says where the server is and how to trust and authenticate to it.
type Config struct {
	Server string `json:"server"`
	// CARoot is the path of the PEM root certificate the server chains to.
	CARoot string `json:"ca_root"`
	// Token is the operator bearer token. It is never printed.
	Token string `json:"token,omitempty"`
	// TokenFile is read when Token is empty.
	TokenFile string `json:"token_file,omitempty"`
}

// ConfigPath is the per-user config file: ~/.config/roster/config.json.
func ConfigPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("locating user config dir: %w", err)
	}
	return filepath.Join(dir, "roster", "config.json"), nil
}

// Load builds a Config from, in order of precedence, the environment
// (ROSTER_SERVER, ROSTER_TOKEN, ROSTER_CA_ROOT), the user's config file, and
// the defaults for a local server whose data directory is ./roster-data.
func Load() (Config, error) {
	var c Config
	if p, err := ConfigPath(); err == nil {
		data, err := os.ReadFile(p)
		switch {
		case err == nil:
			if err := json.Unmarshal(data, &c); err != nil {
				return Config{}, fmt.Errorf("config file %s: %w", p, err)
			}
		case !errors.Is(err, os.ErrNotExist):
			return Config{}, fmt.Errorf("reading config file: %w", err)
		}
	}
	if v := os.Getenv(EnvServer); v != "" {
		c.Server = v
	}
	if v := os.Getenv(EnvCARoot); v != "" {
		c.CARoot = v
	}
	if v := os.Getenv(EnvToken); v != "" {
		c.Token = v
	}
	if c.Server == "" {
		c.Server = DefaultServer
	}
	if c.CARoot == "" {
		c.CARoot = filepath.Join(DefaultDataDir, "root.crt")
	}
	if c.Token == "" && c.TokenFile == "" {
		c.TokenFile = filepath.Join(DefaultDataDir, "admin.token")
	}
	return c, nil
}

// Client talks to one roster server. It reads the root certificate and the
// token file on its first request, so that a command's own argument errors
// come before any complaint about the configuration.
type Client struct {
	cfg  Config
	once sync.Once
	err  error
	// set by connect:
	token string
	hc    *http.Client
}

// New returns a Client that trusts only the root in cfg.CARoot.
func New(cfg Config) *Client { return &Client{cfg: cfg} }

func (c *Client) connect() error {
	c.once.Do(func() {
		if err := checkServerURL(c.cfg.Server); err != nil {
			c.err = err
			return
		}
		pem, err := os.ReadFile(c.cfg.CARoot)
		if err != nil {
			c.err = &HintError{
				Err:  fmt.Errorf("reading the server's root certificate: %w", err),
				hint: "set " + EnvCARoot + " to the server's root.crt (printed by `roster server` at start)",
			}
			return
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			c.err = fmt.Errorf("root certificate %s: no PEM certificate found", c.cfg.CARoot)
			return
		}
		c.token = c.cfg.Token
		if c.token == "" && c.cfg.TokenFile != "" {
			if data, err := os.ReadFile(c.cfg.TokenFile); err == nil {
				c.token = strings.TrimSpace(string(data))
			}
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		c.hc = &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	})
	return c.err
}

func (c *Client) base() string { return strings.TrimRight(c.cfg.Server, "/") }

// APIError is an error response from the server.
type APIError struct {
	Status  int
	Message string
	hint    string
}

func (e *APIError) Error() string { return e.Message }

// Hint says what to do next, when the server said.
func (e *APIError) Hint() string { return e.hint }

// HintError wraps an error with a hint for the operator.
type HintError struct {
	Err  error
	hint string
}

// NewHintError returns err with a hint the CLI prints after it.
func NewHintError(err error, hint string) *HintError { return &HintError{Err: err, hint: hint} }

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// Hint says what to do next.
func (e *HintError) Hint() string { return e.hint }

// do sends one request: in is nil, an io.Reader sent as is with
// contentType, or a value encoded as JSON. The response is decoded into out
// when out is a pointer, copied to it when it is an io.Writer, discarded
// when it is nil.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in any, contentType string, out any) error {
	if err := c.connect(); err != nil {
		return err
	}
	var body io.Reader
	switch v := in.(type) {
	case nil:
	case io.Reader:
		body = v
	default:
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		body = bytes.NewReader(data)
		contentType = "application/json"
	}
	u := c.base() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	if body != nil && contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return &HintError{Err: fmt.Errorf("%s %s: %w", method, path, err), hint: c.connectHint(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decodeError(resp)
	}
	switch o := out.(type) {
	case nil:
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	case io.Writer:
		_, err := io.Copy(o, resp.Body)
		return err
	default:
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("decoding response to %s %s: %w", method, path, err)
		}
		return nil
	}
}

// get copies the server's rendering of a read in format to w.
func (c *Client) get(ctx context.Context, path string, q url.Values, format string, w io.Writer) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("format", format)
	return c.do(ctx, http.MethodGet, path, q, nil, "", w)
}

// accountPath is /v1/accounts/NAME, then the rest.
func accountPath(name string, rest ...string) string {
	return "/v1/accounts/" + url.PathEscape(name) + strings.Join(rest, "")
}

func decodeError(resp *http.Response) error {
	var e struct {
		Error string `json:"error"`
		Hint  string `json:"hint"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(data))
		if e.Error == "" {
			e.Error = resp.Status
		}
	}
	ae := &APIError{Status: resp.StatusCode, Message: e.Error, hint: e.Hint}
	if ae.hint == "" && resp.StatusCode == http.StatusUnauthorized {
		ae.hint = "set " + EnvToken + " to an operator token (the first one is in DATA/admin.token)"
	}
	return ae
}

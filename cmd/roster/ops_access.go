package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/urfave/cli/v2"
)

func errFewArgs(c *cli.Context) error {
	return fmt.Errorf("%s: missing arguments", commandName(c))
}

func tokenCommand() *cli.Command {
	return &cli.Command{
		Name:  "token",
		Usage: "manage operator API tokens (admin)",
		Subcommands: []*cli.Command{
			{
				Name:  "create",
				Usage: "create a token; it is shown once and stored only as a hash",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "role", Required: true, Usage: "admin, operator (writes inventory) or viewer (reads)"},
					&cli.StringFlag{Name: "name", Required: true, Usage: "a name to recognise and revoke it by"},
					formatFlag("text", "json"),
				},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					format, err := checkFormat(c, "text", "json")
					if err != nil {
						return err
					}
					var out struct {
						Token string `json:"token"`
						Name  string `json:"name"`
						Role  string `json:"role"`
					}
					body := map[string]string{"name": c.String("name"), "role": c.String("role")}
					if err := api.Do(c.Context, http.MethodPost, "/v1/tokens", body, &out); err != nil {
						return err
					}
					if format == "json" {
						return printJSON(c, out)
					}
					fmt.Fprintf(c.App.Writer, "%s\n", out.Token)
					fmt.Fprintf(c.App.ErrWriter, "roster: token %q with role %s created; it is not shown again\n", out.Name, out.Role)
					return nil
				}),
			},
			{
				Name:  "list",
				Usage: "list tokens (names and roles, never the tokens)",
				Flags: []cli.Flag{formatFlag("table", "json")},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					return getRendered(c, api, "/v1/tokens", nil, "table", "json")
				}),
			},
			{
				Name:      "revoke",
				Usage:     "revoke a token by name",
				ArgsUsage: "NAME",
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					a, err := args(c, "NAME")
					if err != nil {
						return err
					}
					if err := api.Do(c.Context, http.MethodDelete, "/v1/tokens/"+url.PathEscape(a[0]), nil, nil); err != nil {
						return err
					}
					return done(c, "token %s revoked", a[0])
				}),
			},
		},
	}
}

func enrollCommand() *cli.Command {
	return &cli.Command{
		Name:      "enroll",
		Usage:     "create a one-time enrollment token for an account on a host (or, without ACCOUNT, for the host)",
		ArgsUsage: "[ACCOUNT]",
		Description: "ACCOUNT is the account's name on the host, or NAME@ENV as the inventory lists it: then the\n" +
			"host's instance of NAME must belong to the service account NAME@ENV.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Required: true, Usage: "the host the identity lives on"},
			&cli.DurationFlag{Name: "valid", Usage: "how long the token may be used (default 15m)"},
			formatFlag("text", "json"),
		},
		Action: apiAction(func(c *cli.Context, api *client.Client) error {
			format, err := checkFormat(c, "text", "json")
			if err != nil {
				return err
			}
			if c.NArg() > 1 {
				return errors.New("enroll takes at most one ACCOUNT")
			}
			body := map[string]any{"host": c.String("host"), "account": c.Args().First()}
			if v := c.Duration("valid"); v != 0 {
				body["valid"] = v.String()
			}
			var out struct {
				Token           string `json:"token"`
				RootFingerprint string `json:"root_fingerprint"`
				ExpiresAt       string `json:"expires_at"`
				Identity        string `json:"identity"`
				Command         string `json:"command,omitempty"`
			}
			if err := api.Do(c.Context, http.MethodPost, "/v1/enrollments", body, &out); err != nil {
				return err
			}
			if format == "json" {
				return printJSON(c, out)
			}
			fmt.Fprintf(c.App.Writer, "identity:         %s\n", out.Identity)
			fmt.Fprintf(c.App.Writer, "token:            %s\n", out.Token)
			fmt.Fprintf(c.App.Writer, "expires:          %s (usable once)\n", out.ExpiresAt)
			fmt.Fprintf(c.App.Writer, "root fingerprint: %s\n", out.RootFingerprint)
			fmt.Fprintf(c.App.Writer, "on the host, run:\n  %s\n", out.Command)
			return nil
		}),
	}
}

func revokeCommand() *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "revoke an identity's certificates (or one by --serial); renewal is refused from then on",
		ArgsUsage: "[ACCOUNT]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Usage: "the host of the identity (with ACCOUNT: only that host; alone: the host identity)"},
			&cli.StringFlag{Name: "serial", Usage: "revoke one certificate by serial number"},
			&cli.StringFlag{Name: "reason", Usage: "why (recorded in the audit log and the CRL)"},
		},
		Action: apiAction(func(c *cli.Context, api *client.Client) error {
			if c.NArg() > 1 {
				return errors.New("revoke takes at most one ACCOUNT")
			}
			body := map[string]string{"account": c.Args().First(), "host": c.String("host"), "serial": c.String("serial"), "reason": c.String("reason")}
			if body["serial"] == "" && body["host"] == "" && body["account"] == "" {
				return client.NewHintError(errors.New("revoke needs ACCOUNT (on every host, or one with --host HOST), --host HOST alone for a host identity, or --serial S"), "roster revoke --help")
			}
			var out struct {
				Serials []string `json:"serials"`
			}
			if err := api.Do(c.Context, http.MethodPost, "/v1/revocations", body, &out); err != nil {
				return err
			}
			return done(c, "revoked %d certificate(s): %v", len(out.Serials), out.Serials)
		}),
	}
}

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "read and verify the hash-chained audit log",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list audit events",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "account", Usage: "only events about this account"},
					&cli.StringFlag{Name: "since", Usage: "only events after this time (RFC 3339, or a duration such as 24h or 7d)"},
					formatFlag("table", "json", "jsonl"),
				},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					q := url.Values{}
					if a := c.String("account"); a != "" {
						q.Set("account", a)
					}
					if s := c.String("since"); s != "" {
						q.Set("since", s)
					}
					return getRendered(c, api, "/v1/audit", q, "table", "json", "jsonl")
				}),
			},
			{
				Name:  "export",
				Usage: "export the whole log as JSON lines, for a SIEM",
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					return api.Do(c.Context, http.MethodGet, "/v1/audit?format=jsonl", nil, c.App.Writer)
				}),
			},
			{
				Name:  "verify",
				Usage: "check the hash chain: any edited or deleted record is reported",
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					var out struct {
						OK      bool   `json:"ok"`
						Records int    `json:"records"`
						Error   string `json:"error"`
					}
					if err := api.Do(c.Context, http.MethodGet, "/v1/audit/verify", nil, &out); err != nil {
						return err
					}
					if !out.OK {
						return fmt.Errorf("audit log verification failed: %s", out.Error)
					}
					return done(c, "audit log intact: %d records, hash chain verified", out.Records)
				}),
			},
		},
	}
}

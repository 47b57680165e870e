package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/urfave/cli/v2"
)

func errFewArgs(c *cli.Context) error {
	return fmt.Errorf("%s: missing arguments", commandName(c))
}

func tokenCommand() *cli.Command {
	return &cli.Command{
		Name:  "token",
		Usage: "manage operator API tokens (admin) and passkeys",
		Subcommands: []*cli.Command{
			{
				Name:  "create",
				Usage: "create a token; it is shown once and stored only as a hash",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "role", Required: true, Usage: "admin, operator (writes inventory) or viewer (reads)"},
					&cli.StringFlag{Name: "name", Required: true, Usage: "a name to recognise and revoke it by"},
					formatFlag("text", "json"),
				},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					format, err := checkFormat(c, "text", "json")
					if err != nil {
						return err
					}
					out, err := cl.CreateToken(c.Context, api.TokenRequest{Name: c.String("name"), Role: c.String("role")})
					if err != nil {
						return err
					}
					if format == "json" {
						// As before: the token and what it is, not its ID.
						return printJSON(c, struct {
							Token string `json:"token"`
							Name  string `json:"name"`
							Role  string `json:"role"`
						}{out.Token, out.Name, out.Role})
					}
					fmt.Fprintf(c.App.Writer, "%s\n", out.Token)
					fmt.Fprintf(c.App.ErrWriter, "roster: token %q with role %s created; it is not shown again\n", out.Name, out.Role)
					return nil
				}),
			},
			{
				Name:  "list",
				Usage: "list tokens (names and roles, never the tokens)",
				Flags: []cli.Flag{formatFlag("table", "json", "csv")},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					return rendered(c, func(format string, w io.Writer) error {
						return cl.ListTokens(c.Context, format, w)
					}, "table", "json", "csv")
				}),
			},
			{
				Name:      "revoke",
				Usage:     "revoke a token by name",
				ArgsUsage: "NAME",
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "NAME")
					if err != nil {
						return err
					}
					if err := cl.RevokeToken(c.Context, a[0]); err != nil {
						return err
					}
					return done(c, "token %s revoked", a[0])
				}),
			},
			{
				Name:      "passkeys",
				Usage:     "list passkeys: your own, or (admin) every operator's or TOKEN's",
				ArgsUsage: "[TOKEN]",
				Flags:     []cli.Flag{formatFlag("table", "json")},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					if c.NArg() > 1 {
						return errors.New("passkeys takes at most one TOKEN")
					}
					return rendered(c, func(format string, w io.Writer) error {
						return cl.ListPasskeys(c.Context, c.Args().First(), format, w)
					}, "table", "json")
				}),
			},
			{
				Name:      "passkey-revoke",
				Usage:     "revoke a passkey by ID: your own, or (admin) anyone's; it signs in no more",
				ArgsUsage: "ID",
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "ID")
					if err != nil {
						return err
					}
					if err := cl.RevokePasskey(c.Context, a[0]); err != nil {
						return err
					}
					return done(c, "passkey %s revoked", a[0])
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
			&cli.DurationFlag{Name: "valid", Usage: "how long the token may be used", DefaultText: "15m"},
			formatFlag("text", "json"),
		},
		Action: apiAction(func(c *cli.Context, cl *client.Client) error {
			format, err := checkFormat(c, "text", "json")
			if err != nil {
				return err
			}
			if c.NArg() > 1 {
				return errors.New("enroll takes at most one ACCOUNT")
			}
			req := api.EnrollmentRequest{Host: c.String("host"), Account: c.Args().First()}
			if v := c.Duration("valid"); v != 0 {
				req.Valid = v.String()
			}
			out, err := cl.CreateEnrollment(c.Context, req)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(c, out)
			}
			fmt.Fprintf(c.App.Writer, "identity:         %s\n", out.Identity)
			fmt.Fprintf(c.App.Writer, "token:            %s\n", out.Token)
			fmt.Fprintf(c.App.Writer, "expires:          %s (usable once)\n", out.ExpiresAt.Format(time.RFC3339))
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
		Action: apiAction(func(c *cli.Context, cl *client.Client) error {
			if c.NArg() > 1 {
				return errors.New("revoke takes at most one ACCOUNT")
			}
			req := api.RevokeRequest{Account: c.Args().First(), Host: c.String("host"), Serial: c.String("serial"), Reason: c.String("reason")}
			if req.Serial == "" && req.Host == "" && req.Account == "" {
				return client.NewHintError(errors.New("revoke needs ACCOUNT (on every host, or one with --host HOST), --host HOST alone for a host identity, or --serial S"), "roster revoke --help")
			}
			out, err := cl.Revoke(c.Context, req)
			if err != nil {
				return err
			}
			if len(out.SSHSerials) > 0 {
				return done(c, "revoked %d certificate(s): %v; %d SSH certificate(s): %v", len(out.Serials), out.Serials, len(out.SSHSerials), out.SSHSerials)
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
					formatFlag("table", "json", "jsonl", "csv"),
				},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					q := api.AuditQuery{Account: c.String("account"), Since: c.String("since")}
					return rendered(c, func(format string, w io.Writer) error {
						return cl.ListAudit(c.Context, q, format, w)
					}, "table", "json", "jsonl", "csv")
				}),
			},
			{
				Name:  "export",
				Usage: "export the whole log as JSON lines, for a SIEM",
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					return cl.ListAudit(c.Context, api.AuditQuery{}, api.FormatJSONL, c.App.Writer)
				}),
			},
			{
				Name:  "verify",
				Usage: "check the hash chain: any edited or deleted record is reported",
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					out, err := cl.VerifyAudit(c.Context)
					if err != nil {
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

package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/urfave/cli/v2"
)

// The operator commands below are thin: each turns flags into one API call
// and prints what the server rendered. Rendering (table, JSON, CSV,
// markdown) lives in the inventory package, server side, in one place.

// apiAction wraps an Action that needs an API client.
func apiAction(f func(c *cli.Context, cl *client.Client) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		cfg, err := client.Load()
		if err != nil {
			return err
		}
		return f(c, client.New(cfg))
	}
}

// args checks the number of positional arguments.
func args(c *cli.Context, names ...string) ([]string, error) {
	if c.NArg() != len(names) {
		return nil, client.NewHintError(
			fmt.Errorf("%s takes %d argument(s): %s, got %d", commandName(c), len(names), strings.Join(names, " "), c.NArg()),
			c.Command.HelpName+" --help")
	}
	return c.Args().Slice(), nil
}

// commandName is the command's path without the program name ("owner set").
func commandName(c *cli.Context) string {
	return strings.TrimPrefix(c.Command.HelpName, c.App.Name+" ")
}

func formatFlag(formats ...string) *cli.StringFlag {
	return &cli.StringFlag{Name: "format", Value: formats[0], Usage: "output format: " + strings.Join(formats, ", ")}
}

// checkFormat refuses a format the command does not offer.
func checkFormat(c *cli.Context, formats ...string) (string, error) {
	f := c.String("format")
	for _, ok := range formats {
		if f == ok {
			return f, nil
		}
	}
	return "", fmt.Errorf("--format %q: expected one of %s", f, strings.Join(formats, ", "))
}

// rendered checks --format against the formats a read offers, then runs
// the read, which copies the server's rendering to stdout.
func rendered(c *cli.Context, read func(format string, w io.Writer) error, formats ...string) error {
	f, err := checkFormat(c, formats...)
	if err != nil {
		return err
	}
	return read(f, c.App.Writer)
}

// done prints a one-line confirmation of a change.
func done(c *cli.Context, msg string, a ...any) error {
	fmt.Fprintf(c.App.Writer, msg+"\n", a...)
	return nil
}

func ownerCommand() *cli.Command {
	return &cli.Command{
		Name:  "owner",
		Usage: "give service accounts an owner",
		Subcommands: []*cli.Command{
			{
				Name:      "set",
				Usage:     "set the owner of an account",
				ArgsUsage: "ACCOUNT OWNER",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "contact", Usage: "how to reach the owner (mail, chat channel)"}},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "ACCOUNT", "OWNER")
					if err != nil {
						return err
					}
					if err := cl.SetOwner(c.Context, a[0], api.Owner{Name: a[1], Contact: c.String("contact")}); err != nil {
						return err
					}
					return done(c, "owner of %s set to %s", a[0], a[1])
				}),
			},
			{
				Name:      "unset",
				Usage:     "remove the owner of an account",
				ArgsUsage: "ACCOUNT",
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "ACCOUNT")
					if err != nil {
						return err
					}
					if err := cl.UnsetOwner(c.Context, a[0]); err != nil {
						return err
					}
					return done(c, "owner of %s removed", a[0])
				}),
			},
			importCommand("owner import", "set owners from a CSV file with columns account,owner,contact (dry run unless --apply)", "the owners", (*client.Client).ImportOwners),
		},
	}
}

func exceptionCommand() *cli.Command {
	return &cli.Command{
		Name:  "exception",
		Usage: "accept a static credential for a limited time, with an owner",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "add an exception (owner and expiry are required)",
				ArgsUsage: "ACCOUNT",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "reason", Required: true, Usage: "why the static credential is accepted for now"},
					&cli.StringFlag{Name: "expires", Required: true, Usage: "end date, YYYY-MM-DD or RFC 3339"},
					&cli.StringFlag{Name: "owner", Required: true, Usage: "who answers for the exception"},
					&cli.StringFlag{Name: "credential", Usage: "credential type it covers (password, ssh_authorized_key, ...); default all"},
					&cli.BoolFlag{Name: "beyond-phase", Usage: "accept an end after the tier's phase end (the reason says why)", DisableDefaultText: true},
					formatFlag("table", "json"),
				},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "ACCOUNT")
					if err != nil {
						return err
					}
					ex, err := cl.AddException(c.Context, api.ExceptionRequest{
						Account: a[0], Reason: c.String("reason"), Expires: c.String("expires"),
						Owner: c.String("owner"), CredentialType: c.String("credential"), BeyondPhase: c.Bool("beyond-phase"),
					})
					if err != nil {
						return err
					}
					if c.String("format") == "json" {
						return printJSON(c, ex)
					}
					return done(c, "exception %s added for %s, expires %s", ex.ID, a[0], ex.Expires.Format(time.RFC3339))
				}),
			},
			{
				Name:  "list",
				Usage: "list open exceptions",
				Flags: []cli.Flag{&cli.StringFlag{Name: "expiring", Usage: "only those expiring within this window (30d, 12h)"}, formatFlag("table", "json", "csv")},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					q := api.ExceptionQuery{Expiring: c.String("expiring")}
					return rendered(c, func(format string, w io.Writer) error {
						return cl.ListExceptions(c.Context, q, format, w)
					}, "table", "json", "csv")
				}),
			},
			{
				Name:      "extend",
				Usage:     "move an exception's end later, within its tier's caps (more than two extensions is a violation)",
				ArgsUsage: "ID",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "expires", Required: true, Usage: "new end date, YYYY-MM-DD or RFC 3339"},
					&cli.StringFlag{Name: "reason", Usage: "why (kept in the history and the audit log)"},
					formatFlag("table", "json"),
				},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "ID")
					if err != nil {
						return err
					}
					ex, err := cl.ExtendException(c.Context, a[0], api.ExtendRequest{Expires: c.String("expires"), Reason: c.String("reason")})
					if err != nil {
						return err
					}
					if c.String("format") == "json" {
						return printJSON(c, ex)
					}
					return done(c, "exception %s extended to %s (extension %d)", ex.ID, ex.Expires.Format(time.RFC3339), ex.Extensions)
				}),
			},
			{
				Name:      "close",
				Usage:     "close an exception (the credential is gone or no longer accepted)",
				ArgsUsage: "ID",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why (kept in the exception and the audit log)"}},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "ID")
					if err != nil {
						return err
					}
					if err := cl.CloseException(c.Context, a[0], c.String("reason")); err != nil {
						return err
					}
					return done(c, "exception %s closed", a[0])
				}),
			},
		},
	}
}

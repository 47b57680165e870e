package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/urfave/cli/v2"
)

// The operator commands below are thin: each turns flags into one API call
// and prints what the server rendered. Rendering (table, JSON, CSV,
// markdown) lives in the inventory package, server side, in one place.

// apiAction wraps an Action that needs an API client.
func apiAction(f func(c *cli.Context, api *client.Client) error) cli.ActionFunc {
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

// getRendered fetches path with ?format= and copies the server's rendering
// to stdout.
func getRendered(c *cli.Context, api *client.Client, path string, q url.Values, formats ...string) error {
	f, err := checkFormat(c, formats...)
	if err != nil {
		return err
	}
	if q == nil {
		q = url.Values{}
	}
	q.Set("format", f)
	return api.Do(c.Context, http.MethodGet, path+"?"+q.Encode(), nil, c.App.Writer)
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
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					a, err := args(c, "ACCOUNT", "OWNER")
					if err != nil {
						return err
					}
					body := map[string]string{"name": a[1], "contact": c.String("contact")}
					if err := api.Do(c.Context, http.MethodPut, "/v1/accounts/"+url.PathEscape(a[0])+"/owner", body, nil); err != nil {
						return err
					}
					return done(c, "owner of %s set to %s", a[0], a[1])
				}),
			},
			{
				Name:      "unset",
				Usage:     "remove the owner of an account",
				ArgsUsage: "ACCOUNT",
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					a, err := args(c, "ACCOUNT")
					if err != nil {
						return err
					}
					if err := api.Do(c.Context, http.MethodDelete, "/v1/accounts/"+url.PathEscape(a[0])+"/owner", nil, nil); err != nil {
						return err
					}
					return done(c, "owner of %s removed", a[0])
				}),
			},
			{
				Name:      "import",
				Usage:     "set owners from a CSV file with columns account,owner,contact (dry run unless --apply)",
				ArgsUsage: "FILE.csv",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "apply", Usage: "write the owners (default: only check the file)"}, formatFlag("table", "json")},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					a, err := args(c, "FILE.csv")
					if err != nil {
						return err
					}
					f, err := os.Open(a[0])
					if err != nil {
						return fmt.Errorf("owner import: %w", err)
					}
					defer f.Close()
					q := url.Values{"apply": {strconv.FormatBool(c.Bool("apply"))}}
					format, err := checkFormat(c, "table", "json")
					if err != nil {
						return err
					}
					q.Set("format", format)
					return api.Do(c.Context, http.MethodPost, "/v1/owners/import?"+q.Encode(), f, c.App.Writer)
				}),
			},
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
					formatFlag("table", "json"),
				},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					a, err := args(c, "ACCOUNT")
					if err != nil {
						return err
					}
					body := map[string]string{
						"account": a[0], "reason": c.String("reason"), "expires": c.String("expires"),
						"owner": c.String("owner"), "credential_type": c.String("credential"),
					}
					var out map[string]any
					if err := api.Do(c.Context, http.MethodPost, "/v1/exceptions", body, &out); err != nil {
						return err
					}
					if c.String("format") == "json" {
						return printJSON(c, out)
					}
					return done(c, "exception %v added for %s, expires %v", out["id"], a[0], out["expires"])
				}),
			},
			{
				Name:  "list",
				Usage: "list open exceptions",
				Flags: []cli.Flag{&cli.StringFlag{Name: "expiring", Usage: "only those expiring within this window (30d, 12h)"}, formatFlag("table", "json", "csv")},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					q := url.Values{}
					if e := c.String("expiring"); e != "" {
						q.Set("expiring", e)
					}
					return getRendered(c, api, "/v1/exceptions", q, "table", "json", "csv")
				}),
			},
			{
				Name:      "close",
				Usage:     "close an exception (the credential is gone or no longer accepted)",
				ArgsUsage: "ID",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why (kept in the exception and the audit log)"}},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					a, err := args(c, "ID")
					if err != nil {
						return err
					}
					path := "/v1/exceptions/" + url.PathEscape(a[0])
					if r := c.String("reason"); r != "" {
						path += "?" + url.Values{"reason": {r}}.Encode()
					}
					if err := api.Do(c.Context, http.MethodDelete, path, nil, nil); err != nil {
						return err
					}
					return done(c, "exception %s closed", a[0])
				}),
			},
		},
	}
}

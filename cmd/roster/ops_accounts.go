package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/urfave/cli/v2"
)

func printJSON(c *cli.Context, v any) error {
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func accountsCommand() *cli.Command {
	return &cli.Command{
		Name:  "accounts",
		Usage: "list and inspect service accounts",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list service accounts, worst credential first",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "tier", Usage: "only this impact tier (1-4)"},
					&cli.BoolFlag{Name: "no-owner", Usage: "only accounts without an owner"},
					&cli.BoolFlag{Name: "static", Usage: "only accounts still holding static credentials"},
					&cli.StringFlag{Name: "host", Usage: "only accounts on this host"},
					&cli.StringFlag{Name: "env", Usage: "only accounts in this environment"},
					&cli.BoolFlag{Name: "all", Usage: "also people's accounts and unused system accounts (not counted as service accounts)"},
					&cli.BoolFlag{Name: "retired", Usage: "also retired accounts"},
					formatFlag("table", "json", "csv"),
				},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					q := url.Values{}
					if t := c.Int("tier"); t != 0 {
						q.Set("tier", strconv.Itoa(t))
					}
					if c.Bool("no-owner") {
						q.Set("no_owner", "true")
					}
					if c.Bool("static") {
						q.Set("static", "true")
					}
					if h := c.String("host"); h != "" {
						q.Set("host", h)
					}
					if e := c.String("env"); e != "" {
						q.Set("env", e)
					}
					for _, b := range []string{"all", "retired"} {
						if c.Bool(b) {
							q.Set(b, "true")
						}
					}
					return getRendered(c, api, "/v1/accounts", q, "table", "json", "csv")
				}),
			},
			{
				Name:      "show",
				Usage:     "show one service account: instances, credentials, owner, tier, exceptions",
				ArgsUsage: "ACCOUNT",
				Flags:     []cli.Flag{formatFlag("table", "json")},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					a, err := args(c, "ACCOUNT")
					if err != nil {
						return err
					}
					return getRendered(c, api, "/v1/accounts/"+url.PathEscape(a[0]), nil, "table", "json")
				}),
			},
			{
				Name:      "history",
				Usage:     "show what changed for an account and when",
				ArgsUsage: "ACCOUNT",
				Flags:     []cli.Flag{formatFlag("table", "json")},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					a, err := args(c, "ACCOUNT")
					if err != nil {
						return err
					}
					return getRendered(c, api, "/v1/accounts/"+url.PathEscape(a[0])+"/history", nil, "table", "json")
				}),
			},
		},
	}
}

func accountCommand() *cli.Command {
	return &cli.Command{
		Name:  "account",
		Usage: "change a service account: tags, tier, grouping, retirement",
		Subcommands: []*cli.Command{
			{
				Name:      "tag",
				Usage:     "add (or with --remove, remove) tags such as critical or third-party=VENDOR",
				ArgsUsage: "ACCOUNT TAG...",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "remove", Usage: "remove the tags instead"}},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					return tagAction(c, api, "/v1/accounts/")
				}),
			},
			{
				Name:      "tier",
				Usage:     "override the computed impact tier, with a reason (tier 0 clears the override)",
				ArgsUsage: "ACCOUNT TIER",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why (required to override)"}},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					a, err := args(c, "ACCOUNT", "TIER")
					if err != nil {
						return err
					}
					tier, err := strconv.Atoi(a[1])
					if err != nil {
						return client.NewHintError(err, "TIER is 1 (privileged) to 4 (the rest), or 0 to clear")
					}
					body := map[string]any{"tier": tier, "reason": c.String("reason")}
					if err := api.Do(c.Context, http.MethodPut, "/v1/accounts/"+url.PathEscape(a[0])+"/tier", body, nil); err != nil {
						return err
					}
					return done(c, "tier of %s set to %d", a[0], tier)
				}),
			},
			{
				Name:      "retire",
				Usage:     "mark an account retired: no certificates are issued for it",
				ArgsUsage: "ACCOUNT",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why"}},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					a, err := args(c, "ACCOUNT")
					if err != nil {
						return err
					}
					if err := api.Do(c.Context, http.MethodPost, "/v1/accounts/"+url.PathEscape(a[0])+"/retire", map[string]string{"reason": c.String("reason")}, nil); err != nil {
						return err
					}
					return done(c, "%s retired", a[0])
				}),
			},
			{
				Name:      "split",
				Usage:     "move the account's instance on HOST into its own service account",
				ArgsUsage: "ACCOUNT",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "host", Required: true, Usage: "the host whose instance moves"},
					&cli.StringFlag{Name: "as", Usage: "name of the new service account (default ACCOUNT@HOST)"},
				},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					a, err := args(c, "ACCOUNT")
					if err != nil {
						return err
					}
					var out map[string]any
					body := map[string]string{"host": c.String("host"), "as": c.String("as")}
					if err := api.Do(c.Context, http.MethodPost, "/v1/accounts/"+url.PathEscape(a[0])+"/split", body, &out); err != nil {
						return err
					}
					return done(c, "instance of %s on %s is now service account %v", a[0], c.String("host"), out["name"])
				}),
			},
			{
				Name:      "merge",
				Usage:     "merge service account FROM into INTO",
				ArgsUsage: "INTO FROM",
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					a, err := args(c, "INTO", "FROM")
					if err != nil {
						return err
					}
					if err := api.Do(c.Context, http.MethodPost, "/v1/accounts/"+url.PathEscape(a[0])+"/merge", map[string]string{"from": a[1]}, nil); err != nil {
						return err
					}
					return done(c, "%s merged into %s", a[1], a[0])
				}),
			},
		},
	}
}

// tagAction adds or removes tags on /v1/{kind}/NAME/tags.
func tagAction(c *cli.Context, api *client.Client, prefix string) error {
	if c.NArg() < 2 {
		return client.NewHintError(errFewArgs(c), c.Command.HelpName+" NAME TAG... (tags: external, critical, env=NAME, third-party=VENDOR, or your own)")
	}
	name := c.Args().First()
	tags := c.Args().Tail()
	body := map[string][]string{"add": tags}
	if c.Bool("remove") {
		body = map[string][]string{"remove": tags}
	}
	if err := api.Do(c.Context, http.MethodPost, prefix+url.PathEscape(name)+"/tags", body, nil); err != nil {
		return err
	}
	verb := "tagged"
	if c.Bool("remove") {
		verb = "untagged"
	}
	return done(c, "%s %s %v", name, verb, tags)
}

func hostsCommand() *cli.Command {
	return &cli.Command{
		Name:  "hosts",
		Usage: "list and tag scanned hosts",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list hosts with their tags and last scan",
				Flags: []cli.Flag{formatFlag("table", "json", "csv")},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					return getRendered(c, api, "/v1/hosts", nil, "table", "json", "csv")
				}),
			},
			{
				Name:      "tag",
				Usage:     "add (or with --remove, remove) host tags: external, critical, env=NAME, free tags",
				ArgsUsage: "HOST TAG...",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "remove", Usage: "remove the tags instead"}},
				Action: apiAction(func(c *cli.Context, api *client.Client) error {
					return tagAction(c, api, "/v1/hosts/")
				}),
			},
		},
	}
}

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:  "report",
		Usage: "progress per impact tier: owners, certificates, static credentials, exceptions",
		Flags: []cli.Flag{formatFlag("table", "json", "csv", "markdown")},
		Action: apiAction(func(c *cli.Context, api *client.Client) error {
			return getRendered(c, api, "/v1/report", nil, "table", "json", "csv", "markdown")
		}),
	}
}

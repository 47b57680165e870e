package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/rosterhq/roster/api"
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
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					q := api.AccountQuery{
						Tier: c.Int("tier"), NoOwner: c.Bool("no-owner"), Static: c.Bool("static"),
						Host: c.String("host"), Env: c.String("env"), All: c.Bool("all"), Retired: c.Bool("retired"),
					}
					return rendered(c, func(format string, w io.Writer) error {
						return cl.ListAccounts(c.Context, q, format, w)
					}, "table", "json", "csv")
				}),
			},
			{
				Name:      "show",
				Usage:     "show one service account: instances, credentials, owner, tier, exceptions",
				ArgsUsage: "ACCOUNT",
				Flags:     []cli.Flag{formatFlag("table", "json")},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "ACCOUNT")
					if err != nil {
						return err
					}
					return rendered(c, func(format string, w io.Writer) error {
						return cl.ShowAccount(c.Context, a[0], format, w)
					}, "table", "json")
				}),
			},
			{
				Name:      "history",
				Usage:     "show what changed for an account and when",
				ArgsUsage: "ACCOUNT",
				Flags:     []cli.Flag{formatFlag("table", "json")},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "ACCOUNT")
					if err != nil {
						return err
					}
					return rendered(c, func(format string, w io.Writer) error {
						return cl.AccountHistory(c.Context, a[0], format, w)
					}, "table", "json")
				}),
			},
		},
	}
}

func accountCommand() *cli.Command {
	return &cli.Command{
		Name:  "account",
		Usage: "change a service account: tags, tier, grouping, retirement, purpose; register accounts no scan finds",
		Subcommands: append([]*cli.Command{
			{
				Name:      "tag",
				Usage:     "add (or with --remove, remove) tags such as critical or third-party=VENDOR",
				ArgsUsage: "ACCOUNT TAG...",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "remove", Usage: "remove the tags instead"}},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					return tagAction(c, func(ctx context.Context, name string, req api.TagsRequest) (api.TagHostResponse, error) {
						return api.TagHostResponse{}, cl.TagAccount(ctx, name, req)
					})
				}),
			},
			{
				Name:      "tier",
				Usage:     "override the computed impact tier, with a reason (tier 0 clears the override)",
				ArgsUsage: "ACCOUNT TIER",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why (required to override)"}},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "ACCOUNT", "TIER")
					if err != nil {
						return err
					}
					tier, err := strconv.Atoi(a[1])
					if err != nil {
						return client.NewHintError(err, "TIER is 1 (privileged) to 4 (the rest), or 0 to clear")
					}
					if err := cl.SetTier(c.Context, a[0], api.TierRequest{Tier: tier, Reason: c.String("reason")}); err != nil {
						return err
					}
					return done(c, "tier of %s set to %d", a[0], tier)
				}),
			},
			{
				Name:      "kind",
				Usage:     "override the kind the scans found: service, human (a person's account) or system (an unused OS account); auto clears the override",
				ArgsUsage: "ACCOUNT KIND",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "auto", Usage: "clear the override: the scans' kinds count again"}},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					var name, kind string
					if c.Bool("auto") {
						a, err := args(c, "ACCOUNT")
						if err != nil {
							return err
						}
						name, kind = a[0], "auto"
					} else {
						a, err := args(c, "ACCOUNT", "KIND")
						if err != nil {
							return err
						}
						name, kind = a[0], a[1]
					}
					if err := cl.SetKind(c.Context, name, api.KindRequest{Kind: kind}); err != nil {
						return err
					}
					if kind == "auto" {
						return done(c, "kind of %s is the scans' again", name)
					}
					return done(c, "kind of %s set to %s", name, kind)
				}),
			},
			{
				Name:      "retire",
				Usage:     "mark an account retired: no certificates are issued for it",
				ArgsUsage: "ACCOUNT",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why"}},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "ACCOUNT")
					if err != nil {
						return err
					}
					if err := cl.RetireAccount(c.Context, a[0], api.RetireRequest{Reason: c.String("reason")}); err != nil {
						return err
					}
					return done(c, "%s retired", a[0])
				}),
			},
			{
				Name:      "unretire",
				Usage:     "undo a retirement: the account is in use again and may get certificates",
				ArgsUsage: "ACCOUNT",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why (recorded in the history and the audit log)"}},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "ACCOUNT")
					if err != nil {
						return err
					}
					if err := cl.UnretireAccount(c.Context, a[0], api.UnretireRequest{Reason: c.String("reason")}); err != nil {
						return err
					}
					return done(c, "%s is no longer retired", a[0])
				}),
			},
			{
				Name:      "split",
				Usage:     "move the account's instance on --host into its own service account, or confirm it as a separate identity",
				ArgsUsage: "ACCOUNT",
				Description: "A name found in several environments is flagged \"shared across environments\" and gets no certificate.\n" +
					"Tell the groups apart in one of two ways:\n\n" +
					"  roster account split NAME@ENV --separate\n" +
					"      NAME@ENV is an identity of its own, not the same account as NAME in the other environments;\n" +
					"      no instance moves.\n" +
					"  roster account split NAME --host HOST [--env ENV]\n" +
					"      the instance of NAME on HOST moves into the service account NAME@ENV (default NAME@HOST),\n" +
					"      itself separate; a new account takes the owner of the one the instance left.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "host", Usage: "the host whose instance moves"},
					&cli.StringFlag{Name: "env", Usage: "environment (group) of the new service account NAME@ENV (default: the host's name)"},
					&cli.BoolFlag{Name: "separate", Usage: "confirm ACCOUNT (NAME@ENV) as an identity of its own; moves no instance (no --host, no --env)"},
				},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "ACCOUNT")
					if err != nil {
						return err
					}
					host, env, separate := c.String("host"), c.String("env"), c.Bool("separate")
					switch {
					case separate && (host != "" || env != ""):
						return client.NewHintError(errors.New("account split: --separate moves no instance, so it takes no --host or --env"),
							"roster account split NAME@ENV --separate, or roster account split NAME --host HOST [--env ENV]")
					case !separate && host == "":
						return client.NewHintError(errors.New("account split needs --host HOST (move that host's instance) or --separate (confirm the account as its own identity)"),
							"roster account split --help")
					}
					out, err := cl.SplitAccount(c.Context, a[0], api.SplitRequest{Host: host, Env: env, Separate: separate})
					if err != nil {
						return err
					}
					if separate {
						return done(c, "%s confirmed as an identity of its own", out.Name)
					}
					return done(c, "instance of %s on %s is now service account %s", a[0], host, out.Name)
				}),
			},
			{
				Name:      "merge",
				Usage:     "merge service account FROM into INTO",
				ArgsUsage: "INTO FROM",
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "INTO", "FROM")
					if err != nil {
						return err
					}
					if err := cl.MergeAccount(c.Context, a[0], api.MergeRequest{From: a[1]}); err != nil {
						return err
					}
					return done(c, "%s merged into %s", a[1], a[0])
				}),
			},
		}, registeredCommands()...),
	}
}

// registeredCommands are the account subcommands of accounts no scan
// finds (add, remove, import) and of every account's purpose.
func registeredCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name:      "add",
			Usage:     "register an account no scan finds: on a legacy application, an appliance, a database, a cloud or a directory",
			ArgsUsage: "NAME",
			Description: "The account counts in tiers, reports, owners and exceptions like a scanned one, marked registered.\n" +
				"Its strength is --credential; its tier is --tier, else what its tags say, else 4.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "system", Usage: "the system the account lives on (required)"},
				&cli.StringFlag{Name: "kind", Usage: "legacy, appliance, database, cloud, directory or service (required)"},
				&cli.StringFlag{Name: "credential", Usage: "strength level of the credential it uses: shared_secret, empty_password, static_password, static_ssh_key, secret_file, long_lived_cert, short_lived_cert, hardware_bound, none (required)"},
				&cli.StringFlag{Name: "owner", Usage: "the person or team who answers for it"},
				&cli.StringFlag{Name: "env", Usage: "environment (default: default)"},
				&cli.IntFlag{Name: "tier", Usage: "impact tier 1-4; without it the tier is derived: 4 unless tagged", DefaultText: "derived"},
				&cli.StringFlag{Name: "remedy", Usage: "planned remedy: replace-client, gateway, disconnect, short-lived-cert or accept"},
				&cli.StringFlag{Name: "purpose", Usage: "what the account is for"},
			},
			Action: apiAction(func(c *cli.Context, cl *client.Client) error {
				a, err := args(c, "NAME")
				if err != nil {
					return err
				}
				out, err := cl.AddAccount(c.Context, api.AccountAddRequest{Name: a[0], System: c.String("system"), Kind: c.String("kind"),
					Credential: c.String("credential"), Owner: c.String("owner"), Env: c.String("env"), Tier: c.Int("tier"),
					Remedy: c.String("remedy"), Purpose: c.String("purpose")})
				if err != nil {
					return err
				}
				return done(c, "registered %s: tier %d, %s (%s)", out.Key, out.Tier, out.Strength, out.Status)
			}),
		},
		{
			Name:      "remove",
			Usage:     "retire a registered account (scanned accounts: roster account retire)",
			ArgsUsage: "NAME",
			Flags:     []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why (recorded in the history and the audit log)"}},
			Action: apiAction(func(c *cli.Context, cl *client.Client) error {
				a, err := args(c, "NAME")
				if err != nil {
					return err
				}
				if err := cl.RemoveAccount(c.Context, a[0], api.AccountRemoveRequest{Reason: c.String("reason")}); err != nil {
					return err
				}
				return done(c, "%s removed", a[0])
			}),
		},
		importCommand("account import", "register accounts from a CSV file with columns name,system,kind,credential,owner,env,tier,remedy,purpose (dry run unless --apply)", "the accounts", (*client.Client).ImportAccounts),
		{
			Name:      "purpose",
			Usage:     "say what an account is for (\"\" clears it, back to the purpose prefilled from scans)",
			ArgsUsage: "ACCOUNT TEXT",
			Action: apiAction(func(c *cli.Context, cl *client.Client) error {
				a, err := args(c, "ACCOUNT", "TEXT")
				if err != nil {
					return err
				}
				if err := cl.SetPurpose(c.Context, a[0], api.PurposeRequest{Purpose: a[1]}); err != nil {
					return err
				}
				if a[1] == "" {
					return done(c, "purpose of %s cleared", a[0])
				}
				return done(c, "purpose of %s set", a[0])
			}),
		},
	}
}

// tagAction adds or removes the tags of an account or a host. A host's
// env= tag moves its instances between service accounts: tag returns what
// moved and which new accounts need an owner (an account's tags move
// nothing).
func tagAction(c *cli.Context, tag func(ctx context.Context, name string, req api.TagsRequest) (api.TagHostResponse, error)) error {
	if c.NArg() < 2 {
		return client.NewHintError(errFewArgs(c), c.Command.HelpName+" NAME TAG... (tags: external, critical, env=NAME, third-party=VENDOR, or your own)")
	}
	name := c.Args().First()
	tags := c.Args().Tail()
	req := api.TagsRequest{Add: tags}
	if c.Bool("remove") {
		req = api.TagsRequest{Remove: tags}
	}
	out, err := tag(c.Context, name, req)
	if err != nil {
		return err
	}
	verb := "tagged"
	if c.Bool("remove") {
		verb = "untagged"
	}
	done(c, "%s %s %v", name, verb, tags)
	for _, m := range out.Moved {
		line := fmt.Sprintf("service account %s is now %s", m.From, m.To)
		if m.Carried != "" {
			line += ", with its " + m.Carried
		}
		if m.NotCarried != "" {
			line += "; not carried: " + m.NotCarried
		}
		done(c, "%s", line)
	}
	for _, n := range out.NeedOwner {
		from := ""
		if n.SiblingOwner != "" {
			from = fmt.Sprintf(" (%s is owned by %s)", n.Sibling, n.SiblingOwner)
		}
		done(c, "new service account %s needs an owner%s: roster owner set %s OWNER", n.Account, from, n.Account)
	}
	return nil
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
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					return rendered(c, func(format string, w io.Writer) error {
						return cl.ListHosts(c.Context, format, w)
					}, "table", "json", "csv")
				}),
			},
			{
				Name:      "tag",
				Usage:     "add (or with --remove, remove) host tags: external, critical, env=NAME, free tags",
				ArgsUsage: "HOST TAG...",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "remove", Usage: "remove the tags instead"}},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					return tagAction(c, cl.TagHost)
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
		Action: apiAction(func(c *cli.Context, cl *client.Client) error {
			return rendered(c, func(format string, w io.Writer) error {
				return cl.Report(c.Context, format, w)
			}, "table", "json", "csv", "markdown")
		}),
	}
}

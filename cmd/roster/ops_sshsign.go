package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/render"
)

// sshGrantFlags are the flags of ssh allow and ssh deny.
func sshGrantFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "as", Usage: "the local account to log in as on the target", Required: true},
		&cli.StringFlag{Name: "on", Usage: "the target host"},
		&cli.StringFlag{Name: "env", Usage: "every host of this environment (instead of --on)"},
	}
}

func sshGrantRequest(c *cli.Context) (api.SSHGrantRequest, error) {
	a, err := args(c, "IDENTITY")
	if err != nil {
		return api.SSHGrantRequest{}, err
	}
	if (c.String("on") == "") == (c.String("env") == "") {
		return api.SSHGrantRequest{}, client.NewHintError(fmt.Errorf("%s needs exactly one of --on HOST and --env ENV", commandName(c)),
			c.Command.HelpName+" --help")
	}
	return api.SSHGrantRequest{Identity: a[0], As: c.String("as"), Host: c.String("on"), Env: c.String("env")}, nil
}

func grantTarget(g api.SSHGrant) string {
	if g.Host != "" {
		return "host " + g.Host
	}
	return "env " + g.Env
}

func sshAllowCommand() *cli.Command {
	return sshGrantCommand("allow", "let a service account identity log in as a local account on a host (--on) or on every host of an environment (--env)",
		(*client.Client).AllowSSH, "%s may log in as %s on %s")
}

func sshDenyCommand() *cli.Command {
	return sshGrantCommand("deny", "remove a grant of roster ssh allow (same arguments)", (*client.Client).DenySSH, "%s may no longer log in as %s on %s")
}

// sshGrantCommand is `roster ssh allow` or `deny`: the same arguments, a
// different call and message.
func sshGrantCommand(name, usage string, call func(*client.Client, context.Context, api.SSHGrantRequest) (api.SSHGrant, error), said string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "IDENTITY",
		Flags:     sshGrantFlags(),
		Action: apiAction(func(c *cli.Context, cl *client.Client) error {
			req, err := sshGrantRequest(c)
			if err != nil {
				return err
			}
			g, err := call(cl, c.Context, req)
			if err != nil {
				return err
			}
			return doneClean(c, said, g.Identity, g.As, grantTarget(g))
		}),
	}
}

func sshGrantsCommand() *cli.Command {
	return &cli.Command{
		Name:  "grants",
		Usage: "list who may log in where (--host: the grants that apply to that host)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Usage: "only the grants on this host and its environment"},
			formatFlag("table", "json"),
		},
		Action: apiAction(func(c *cli.Context, cl *client.Client) error {
			if _, err := args(c); err != nil {
				return err
			}
			return rendered(c, func(f string, w io.Writer) error { return cl.SSHGrants(c.Context, c.String("host"), f, w) }, "table", "json")
		}),
	}
}

func sshPolicyCommand() *cli.Command {
	return &cli.Command{
		Name:      "policy",
		Usage:     "set what an account's SSH certificates permit: --permit pty,port-forwarding,agent-forwarding,x11-forwarding,user-rc or none",
		ArgsUsage: "ACCOUNT",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "permit", Usage: "comma-separated: pty, port-forwarding, agent-forwarding, x11-forwarding, user-rc; none clears", Required: true},
			&cli.BoolFlag{Name: "source-address", Usage: "restrict certificates to the host's addresses (refused: the inventory records none)"},
		},
		Action: apiAction(func(c *cli.Context, cl *client.Client) error {
			a, err := args(c, "ACCOUNT")
			if err != nil {
				return err
			}
			permit := []string{}
			for _, p := range strings.Split(c.String("permit"), ",") {
				if p = strings.TrimSpace(p); p != "" && p != "none" {
					permit = append(permit, p)
				}
			}
			p, err := cl.SetSSHPolicy(c.Context, a[0], api.SSHPolicyRequest{Permit: permit, SourceAddress: c.Bool("source-address")})
			if err != nil {
				return err
			}
			if len(p.Permit) == 0 {
				return doneClean(c, "SSH certificates of %s permit nothing beyond running a command", p.Account)
			}
			return doneClean(c, "SSH certificates of %s permit %s", p.Account, strings.Join(p.Permit, ","))
		}),
	}
}

func sshdConfigCommand() *cli.Command {
	return &cli.Command{
		Name:  "sshd-config",
		Usage: "print the sshd_config snippet for a target host (the files its host identity's agent keeps fresh)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: render.SSHDefaultDir, Usage: "the directory of roster's sshd files"},
			&cli.StringSliceFlag{Name: "key-type", Usage: "a host key type with a roster host certificate (repeat; default ed25519)"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c); err != nil {
				return err
			}
			for _, t := range c.StringSlice("key-type") {
				switch t {
				case "ed25519", "ecdsa", "rsa":
				default:
					return client.NewHintError(fmt.Errorf("--key-type %q: expected ed25519, ecdsa or rsa", t), c.Command.HelpName+" --help")
				}
			}
			return render.SSHDConfig(c.App.Writer, c.String("dir"), c.StringSlice("key-type"))
		},
	}
}

func sshMigrateCommand() *cli.Command {
	return &cli.Command{
		Name:      "migrate",
		Usage:     "print the steps that move an account logging in with a static SSH key to roster SSH certificates",
		ArgsUsage: "ACCOUNT",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Usage: "the host the account logs in to", Required: true},
			formatFlag("table", "json"),
		},
		Action: apiAction(func(c *cli.Context, cl *client.Client) error {
			a, err := args(c, "ACCOUNT")
			if err != nil {
				return err
			}
			return rendered(c, func(f string, w io.Writer) error { return cl.SSHMigration(c.Context, a[0], c.String("host"), f, w) }, "table", "json")
		}),
	}
}

// doneClean is done for a line that repeats what the server answered: the
// strings are cleaned (textout).
func doneClean(c *cli.Context, msg string, a ...any) error {
	_, err := textout.Fprintf(c.App.Writer, msg+"\n", a...)
	return err
}

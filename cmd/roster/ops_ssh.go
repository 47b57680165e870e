package main

import (
	"fmt"

	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/rosterhq/roster/render"
	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"
)

// sshCommand is `roster ssh`: SSH certificates. Subcommands are listed in
// sshSubcommands; append new ones there.
func sshCommand() *cli.Command {
	return &cli.Command{
		Name:        "ssh",
		Usage:       "SSH certificates: the CA keys, who may log in where, the sshd configuration, moving off static keys",
		Subcommands: sshSubcommands(),
	}
}

func sshSubcommands() []*cli.Command {
	return []*cli.Command{
		sshCACommand(),
		sshAllowCommand(),
		sshDenyCommand(),
		sshGrantsCommand(),
		sshPolicyCommand(),
		sshdConfigCommand(),
		sshMigrateCommand(),
	}
}

func sshCACommand() *cli.Command {
	return &cli.Command{
		Name:  "ca",
		Usage: "print the SSH CA keys: --user for sshd's TrustedUserCAKeys, --host as known_hosts @cert-authority lines (both without a flag)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "user", Usage: "the user CA key, authorized_keys form (sshd TrustedUserCAKeys)"},
			&cli.BoolFlag{Name: "host", Usage: "the host CA key, known_hosts form (@cert-authority * KEY)"},
		},
		Action: apiAction(func(c *cli.Context, cl *client.Client) error {
			if _, err := args(c); err != nil {
				return err
			}
			user, host := c.Bool("user"), c.Bool("host")
			if !user && !host {
				user, host = true, true
			}
			roots, err := cl.SSHRoots(c.Context)
			if err != nil {
				return err
			}
			// Print only what parses as a public key, re-encoded.
			clean := func(lines []string) ([]string, error) {
				out := make([]string, 0, len(lines))
				for _, l := range lines {
					k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(l))
					if err != nil {
						return nil, fmt.Errorf("GET /ssh/roots: the server sent a line that is not a public key: %w", err)
					}
					b := ssh.MarshalAuthorizedKey(k)
					out = append(out, string(b[:len(b)-1]))
				}
				return out, nil
			}
			u, err := clean(roots.User)
			if err != nil {
				return err
			}
			h, err := clean(roots.Host)
			if err != nil {
				return err
			}
			return render.SSHCA(c.App.Writer, u, h, user, host)
		}),
	}
}

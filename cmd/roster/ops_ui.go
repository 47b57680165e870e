package main

import (
	"fmt"
	"time"

	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/urfave/cli/v2"
)

func uiCommand() *cli.Command {
	return &cli.Command{
		Name:  "ui",
		Usage: "the web page (served by roster server at its URL)",
		Subcommands: []*cli.Command{
			{
				Name:  "login",
				Usage: "print a one-time link that signs this token in to the web page (valid 5 minutes)",
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					if _, err := args(c); err != nil {
						return err
					}
					link, u, err := cl.CreateLoginLink(c.Context)
					if err != nil {
						return err
					}
					fmt.Fprintln(c.App.Writer, u)
					fmt.Fprintf(c.App.ErrWriter, "roster: open the link in a browser to sign in; it works once, until %s\n",
						link.ExpiresAt.Local().Format(time.TimeOnly))
					return nil
				}),
			},
		},
	}
}

package main

import (
	"fmt"
	"io"

	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/urfave/cli/v2"
)

func notifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "notify",
		Usage: "webhook notices: send a test notice, see what waits for delivery",
		Subcommands: []*cli.Command{
			{
				Name: "test",
				Usage: "queue one test notice for every webhook the server posts to (roster server --notify-url); " +
					"prints its id",
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					if c.NArg() > 0 {
						return fmt.Errorf("%s: takes no arguments", commandName(c))
					}
					out, err := cl.NotifyTest(c.Context)
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "%s\n", out.ID)
					what := "webhooks"
					if out.Webhooks == 1 {
						what = "webhook"
					}
					fmt.Fprintf(c.App.ErrWriter, "roster: test notice queued for %d %s; see roster notify status\n", out.Webhooks, what)
					return nil
				}),
			},
			{
				Name:  "status",
				Usage: "list webhook deliveries waiting or failed (delivered ones leave the outbox)",
				Flags: []cli.Flag{formatFlag("table", "json")},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					return rendered(c, func(format string, w io.Writer) error {
						return cl.NotifyOutbox(c.Context, format, w)
					}, "table", "json")
				}),
			},
		},
	}
}

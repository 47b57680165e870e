package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rosterhq/roster/cmd/roster/internal/client"
)

// importCommand is the `import FILE.csv [--apply]` subcommand of owners,
// accounts and vendors: a dry run unless --apply, the server's answer (the
// rows, or the per-line errors) printed in --format. what names the
// import in errors ("owner import"), writes what --apply writes ("the
// owners").
func importCommand(what, usage, writes string, send func(cl *client.Client, ctx context.Context, csv io.Reader, apply bool, format string, w io.Writer) error) *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     usage,
		ArgsUsage: "FILE.csv",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "apply", Usage: "write " + writes + " (without it: only check the file)", DisableDefaultText: true},
			formatFlag("table", "json")},
		Action: apiAction(func(c *cli.Context, cl *client.Client) error {
			a, err := args(c, "FILE.csv")
			if err != nil {
				return err
			}
			f, err := os.Open(a[0])
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			defer f.Close()
			return rendered(c, func(format string, w io.Writer) error {
				return send(cl, c.Context, f, c.Bool("apply"), format, w)
			}, "table", "json")
		}),
	}
}

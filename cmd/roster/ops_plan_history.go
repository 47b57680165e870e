package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/rosterhq/roster/internal/fsutil"
)

// planHistorySubcommands are roster plan's history and chart: the daily
// snapshots the server keeps, as CSV or JSON, and their burndown per tier
// as an SVG file.
func planHistorySubcommands() []*cli.Command {
	rangeFlags := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "first day, YYYY-MM-DD UTC (default: 90 days before --to)"},
			&cli.StringFlag{Name: "to", Usage: "last day, YYYY-MM-DD UTC (default: today)"},
		}
	}
	query := func(c *cli.Context) api.PlanHistoryQuery {
		return api.PlanHistoryQuery{From: c.String("from"), To: c.String("to")}
	}
	return []*cli.Command{
		{
			Name:  "history",
			Usage: "the plan's trend: one snapshot a day per tier, as CSV or JSON",
			Description: "Each day the server ran has one row per tier: accounts, accounts per level, the target and the\n" +
				"accounts below it, the phase end, and the burndown the chart draws: burndown_below accounts below\n" +
				"burndown_level, the tier's target, or short_lived_cert for a tier without one (burndown_basis no_target).",
			Flags: append(rangeFlags(), formatFlag("csv", "json")),
			Action: apiAction(func(c *cli.Context, cl *client.Client) error {
				return rendered(c, func(format string, w io.Writer) error {
					return cl.PlanHistory(c.Context, query(c), format, w)
				}, "csv", "json")
			}),
		},
		{
			Name:   "chart",
			Usage:  "draw the burndown per tier (accounts below target over time, the phase end as a line) into an SVG file",
			Flags:  append(rangeFlags(), &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the SVG file to write (required)"}),
			Before: func(c *cli.Context) error { return checkChartOutput(c.String("output")) },
			Action: apiAction(func(c *cli.Context, cl *client.Client) error {
				out := c.String("output")
				var buf bytes.Buffer
				if err := cl.PlanChart(c.Context, query(c), &buf); err != nil {
					return err
				}
				if err := fsutil.WriteFile(out, buf.Bytes(), 0o644); err != nil {
					return fmt.Errorf("plan chart: %w", err)
				}
				return done(c, "burndown chart written to %s (%d bytes)", out, buf.Len())
			}),
		},
	}
}

// checkChartOutput refuses a missing --output or one naming a directory,
// before anything is asked of the server.
func checkChartOutput(out string) error {
	if out == "" {
		return client.NewHintError(fmt.Errorf("plan chart needs --output: the file to write the SVG to"),
			"roster plan chart --output FILE")
	}
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return client.NewHintError(fmt.Errorf("plan chart --output %s: is a directory, not a file", out),
			"roster plan chart --output FILE")
	}
	return nil
}

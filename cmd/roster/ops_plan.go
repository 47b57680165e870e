package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/urfave/cli/v2"
)

// planCommand is `roster plan` (the plan, per tier) and its subcommands;
// planSubcommands lists them, one line each.
func planCommand() *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "the rollout plan: per tier a phase with a target level, an owner, a start and an end, and its progress",
		Description: "Without a subcommand, shows each tier's phase: target, owner, start, end, days left, progress, " +
			"accounts below target with their owners, open exceptions and a state (planned, active, done, overdue).",
		Flags:       []cli.Flag{formatFlag("table", "json", "csv", "markdown")},
		Action:      apiAction(showPlan),
		Subcommands: planSubcommands(),
	}
}

func planSubcommands() []*cli.Command {
	return append([]*cli.Command{
		planSetCommand(),
		planRemoveCommand(),
	}, planHistorySubcommands()...)
}

func showPlan(c *cli.Context, cl *client.Client) error {
	if c.NArg() > 0 {
		return client.NewHintError(fmt.Errorf("plan: unknown subcommand %q", c.Args().First()), "roster plan --help")
	}
	return rendered(c, func(format string, w io.Writer) error {
		return cl.Plan(c.Context, format, w)
	}, "table", "json", "csv", "markdown")
}

func planSetCommand() *cli.Command {
	return &cli.Command{
		Name:  "set",
		Usage: "set or replace a tier's phase (every earlier tier's phase needs an end first)",
		Description: "TIER is 1 (privileged), 2 (external), 3 (internal critical) or 4 (other). DATE is YYYY-MM-DD " +
			"(UTC; --start is the beginning of that day, --end its end) or RFC 3339.",
		ArgsUsage: "TIER",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "target", Required: true, Usage: "the level every account of the tier should reach (short_lived_cert, hardware_bound, ...)"},
			&cli.StringFlag{Name: "owner", Required: true, Usage: "who answers for the phase-out"},
			&cli.StringFlag{Name: "start", Required: true, Usage: "start date, YYYY-MM-DD or RFC 3339"},
			&cli.StringFlag{Name: "end", Usage: "end date, YYYY-MM-DD or RFC 3339 (required before a later tier's phase)"},
			&cli.StringFlag{Name: "max-exception", Usage: "longest exception in the tier (30d, 720h; default 30d tier 1, 90d tier 2, 180d otherwise)"},
			&cli.StringFlag{Name: "note", Usage: "free text shown with the phase"},
			formatFlag("table", "json"),
		},
		Action: apiAction(func(c *cli.Context, cl *client.Client) error {
			a, err := args(c, "TIER")
			if err != nil {
				return err
			}
			tier, err := tierArg(c, a[0])
			if err != nil {
				return err
			}
			if _, err := checkFormat(c, "table", "json"); err != nil {
				return err
			}
			p, err := cl.SetPhase(c.Context, tier, api.PhaseRequest{Target: c.String("target"), Owner: c.String("owner"),
				Start: c.String("start"), End: c.String("end"), MaxException: c.String("max-exception"), Note: c.String("note")})
			if err != nil {
				return err
			}
			if c.String("format") == "json" {
				return printJSON(c, p)
			}
			end := "no end yet"
			if !p.End.IsZero() {
				end = p.End.Format(time.RFC3339)
			}
			return done(c, "phase of tier %d set: target %s, owner %s, %s to %s", p.Tier, p.Target, p.Owner, p.Start.Format(time.RFC3339), end)
		}),
	}
}

func planRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Usage:     "remove a tier's phase (refused while a later tier has one)",
		ArgsUsage: "TIER",
		Action: apiAction(func(c *cli.Context, cl *client.Client) error {
			a, err := args(c, "TIER")
			if err != nil {
				return err
			}
			tier, err := tierArg(c, a[0])
			if err != nil {
				return err
			}
			if err := cl.RemovePhase(c.Context, tier); err != nil {
				return err
			}
			return done(c, "phase of tier %d removed", tier)
		}),
	}
}

// tierArg reads a TIER argument, 1 to 4.
func tierArg(c *cli.Context, s string) (int, error) {
	tier, err := strconv.Atoi(s)
	if err != nil || tier < 1 || tier > 4 {
		return 0, client.NewHintError(fmt.Errorf("%s: tier %q: expected 1, 2, 3 or 4", commandName(c), s), c.Command.HelpName+" --help")
	}
	return tier, nil
}

package main

import "github.com/urfave/cli/v2"

// planCommand is roster plan: the rollout's phases per tier and their
// history.
func planCommand() *cli.Command {
	return &cli.Command{
		Name:        "plan",
		Usage:       "the rollout plan per tier and its history",
		Subcommands: planHistorySubcommands(),
	}
}

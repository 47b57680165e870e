package main

import "github.com/urfave/cli/v2"

// scanCommand is replaced by the discovery work.
func scanCommand() *cli.Command {
	return &cli.Command{Name: "scan", Usage: "scan this host for service accounts and static credentials"}
}

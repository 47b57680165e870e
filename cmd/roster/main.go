// Command roster is the roster server and operator CLI.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	app := newApp()
	if err := app.Run(os.Args); err != nil {
		// ExitErrHandler has printed the error already.
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:    "roster",
		Usage:   "take static passwords out of machine-to-machine access",
		Version: version,
		Commands: []*cli.Command{
			scanCommand(),
			serverCommand(),
			reportCommand(),
			accountsCommand(),
			accountCommand(),
			hostsCommand(),
			ownerCommand(),
			exceptionCommand(),
			tokenCommand(),
			enrollCommand(),
			revokeCommand(),
			auditCommand(),
		},
		ExitErrHandler: printError,
	}
}

// printError prints an Action's error as "roster: error:" and, where the
// error carries one, a "roster: hint:" line.
func printError(c *cli.Context, err error) {
	if err == nil {
		return
	}
	fmt.Fprintf(c.App.ErrWriter, "roster: error: %v\n", err)
	var h interface{ Hint() string }
	if errors.As(err, &h) && h.Hint() != "" {
		fmt.Fprintf(c.App.ErrWriter, "roster: hint: %s\n", h.Hint())
	}
}

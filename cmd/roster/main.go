// Command roster is the roster server and operator CLI.
package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rosterhq/roster/cmd/internal/cliout"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	app := newApp()
	if err := app.Run(interspersed(app, os.Args)); err != nil {
		w := app.ErrWriter
		if w == nil {
			w = os.Stderr
		}
		cliout.PrintError(w, "roster", err)
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
		// Every error comes back from Run and is printed once by main;
		// this handler only keeps urfave/cli from exiting on its own.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// Command roster is the roster server and operator CLI.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rosterhq/roster/cmd/internal/cliout"
	"github.com/rosterhq/roster/cmd/internal/cliout/urfavecli"
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
	app := &cli.App{
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
			planCommand(),
			vendorCommand(),
			notifyCommand(),
			tokenCommand(),
			uiCommand(),
			enrollCommand(),
			revokeCommand(),
			sshCommand(),
			auditCommand(),
			storeCommand(),
			versionCommand(),
			urfavecli.CompletionCommand(),
		},
		// `roster bogus` is an error that suggests the nearest command.
		Action:          urfavecli.RejectUnknown,
		CommandNotFound: urfavecli.CommandNotFound,
		// Every error comes back from Run and is printed once by main;
		// this handler only keeps urfave/cli from exiting on its own.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	// `roster account bogus` is an error too, not help with exit 0.
	urfavecli.RejectUnknownSubcommands(app.Commands)
	return app
}

// versionCommand prints the version line roster-agent prints too: version,
// commit, Go version and platform.
func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version and the commit it was built from",
		Action: func(c *cli.Context) error {
			_, err := fmt.Fprintln(c.App.Writer, cliout.Version("roster", version))
			return err
		},
	}
}

// Command roster is the roster server and operator CLI.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	app := newApp()
	if err := app.Run(interspersed(app, os.Args)); err != nil {
		printError(app.ErrWriter, err)
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

// printError prints an error as "roster: error:" and, where the error
// carries one, a "roster: hint:" line.
func printError(w io.Writer, err error) {
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "roster: error: %v\n", err)
	var h interface{ Hint() string }
	if errors.As(err, &h) && h.Hint() != "" {
		fmt.Fprintf(w, "roster: hint: %s\n", h.Hint())
	}
}

package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed reorders argv so that flags given after positional arguments
// (`roster owner set ACCOUNT OWNER --contact C`, as operators write it) are
// parsed: urfave/cli stops at the first positional argument. It finds the
// command being run, then moves that command's flags, with their values,
// in front of the positional arguments. "--" ends flag handling as usual.
func interspersed(app *cli.App, argv []string) []string {
	if len(argv) < 2 {
		return argv
	}
	out := []string{argv[0]}
	cmds := app.Commands
	var flags []cli.Flag
	i := 1
	// Walk down the command path; global flags before it stay in place.
	for i < len(argv) {
		a := argv[i]
		if strings.HasPrefix(a, "-") {
			out = append(out, a)
			i++
			continue
		}
		c := findCommand(cmds, a)
		if c == nil {
			// Not a command we know: leave the rest for cli to refuse.
			return argv
		}
		out = append(out, a)
		i++
		flags = c.Flags
		cmds = c.Subcommands
		if len(cmds) == 0 {
			break
		}
	}
	var moved, positional []string
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			positional = append(positional, argv[i:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		moved = append(moved, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if takesValue(flags, name) && i+1 < len(argv) {
			moved = append(moved, argv[i+1])
			i++
		}
	}
	out = append(out, moved...)
	return append(out, positional...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
		for _, al := range c.Aliases {
			if al == name {
				return c
			}
		}
	}
	return nil
}

// takesValue reports whether the flag called name expects a value.
func takesValue(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if _, isBool := f.(*cli.BoolFlag); isBool {
				return false
			}
			return true
		}
	}
	return false
}

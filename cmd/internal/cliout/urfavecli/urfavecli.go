// Package urfavecli connects package cliout to a program built on
// urfave/cli v2 (roster): the command tree for completion scripts, a
// `completion` command, the unknown-command hook and action, and a check
// that every flag's help states its default once. It is apart from cliout
// so that roster-agent, which parses its command line with the standard
// flag package, links no CLI framework.
//
// Wiring, in the program's newApp:
//
//	app.Commands = append(app.Commands, urfavecli.CompletionCommand())
//	app.Action = urfavecli.RejectUnknown    // roster bogus: error and hint, exit 1
//	app.CommandNotFound = urfavecli.CommandNotFound // roster help bogus
//
// and in a test, that urfavecli.DoubledDefaults(newApp()) is empty.
package urfavecli

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rosterhq/roster/cmd/internal/cliout"
)

// Tree is app's command tree as cliout's completion scripts see it, with
// the help and version flags and help command urfave/cli adds, and without
// hidden commands and flags. A command whose ArgsUsage is a list of words
// separated by '|' (as CompletionCommand's "bash|zsh|fish") gets them as
// its fixed arguments.
func Tree(app *cli.App) *cliout.Command {
	root := &cliout.Command{Name: app.Name, Usage: app.Usage, Flags: flags(app.Flags)}
	if !app.HideHelp {
		root.Flags = withFlag(root.Flags, cli.HelpFlag)
	}
	if !app.HideVersion && app.Version != "" {
		root.Flags = withFlag(root.Flags, cli.VersionFlag)
	}
	root.Commands = commands(app.Commands, !app.HideHelp && !app.HideHelpCommand)
	return root
}

var choices = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(\|[A-Za-z0-9][A-Za-z0-9._-]*)+$`)

// commands converts cmds; with helpCommand, a help command is added. The
// help commands urfave/cli adds while running (to every command, even those
// without subcommands) are left out, so that a tree taken during a run is
// the same as one taken before.
func commands(cmds []*cli.Command, helpCommand bool) []*cliout.Command {
	var out []*cliout.Command
	for _, c := range cmds {
		if c.Hidden || c.Name == "help" {
			continue
		}
		cc := &cliout.Command{Name: c.Name, Aliases: c.Aliases, Usage: c.Usage, Flags: flags(c.Flags)}
		if !c.HideHelp {
			cc.Flags = withFlag(cc.Flags, cli.HelpFlag)
		}
		if choices.MatchString(c.ArgsUsage) {
			cc.Args = strings.Split(c.ArgsUsage, "|")
		}
		cc.Commands = commands(c.Subcommands, !c.HideHelp && !c.HideHelpCommand)
		out = append(out, cc)
	}
	if helpCommand && len(out) > 0 {
		var names []string
		for _, c := range out {
			names = append(names, c.Name)
		}
		out = append(out, &cliout.Command{Name: "help", Aliases: []string{"h"}, Usage: "show the commands, or one command's help", Args: names})
	}
	return out
}

func flags(fs []cli.Flag) []cliout.Flag {
	var out []cliout.Flag
	for _, f := range fs {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		of := cliout.Flag{Names: f.Names()}
		if d, ok := f.(cli.DocGenerationFlag); ok {
			of.Usage, of.TakesValue = d.GetUsage(), d.TakesValue()
		}
		out = append(out, of)
	}
	return out
}

// withFlag appends f unless a flag of that name is there already (urfave
// adds its help flag to a command while running it).
func withFlag(fs []cliout.Flag, f cli.Flag) []cliout.Flag {
	if f == nil {
		return fs
	}
	for _, have := range fs {
		if have.Names[0] == f.Names()[0] {
			return fs
		}
	}
	return append(fs, flags([]cli.Flag{f})...)
}

// CompletionCommand is `completion bash|zsh|fish`: it prints the script of
// the running app's whole tree.
func CompletionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: strings.Join(cliout.Shells, "|"),
		Description: "Load it with: source <(PROGRAM completion bash), source <(PROGRAM completion zsh),\n" +
			"or PROGRAM completion fish | source. The script knows every command and flag;\n" +
			"completing never runs the program.",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("completion takes one shell: %s", strings.Join(cliout.Shells, ", "))
			}
			return cliout.Completion(c.App.Writer, c.Args().First(), Tree(c.App))
		},
	}
}

// RejectUnknown is an app's Action for a command line that names no
// command: with an argument, a *cliout.UnknownCommandError suggesting the
// nearest command, which the program prints as error and hint and exits
// non-zero; without one, the app's help.
func RejectUnknown(c *cli.Context) error {
	if !c.Args().Present() {
		return cli.ShowAppHelp(c)
	}
	return unknown(c, c.Args().First())
}

// RejectUnknownSubcommands sets [GroupAction] on every command of cmds (and
// below) that has subcommands and no Action of its own, so that an unknown
// subcommand is refused as [RejectUnknown] refuses one at the top
// (`roster account shwo` exits non-zero, naming the nearest). Without it
// urfave/cli prints the error through [CommandNotFound] and exits 0.
func RejectUnknownSubcommands(cmds []*cli.Command) {
	for _, cmd := range cmds {
		if len(cmd.Subcommands) == 0 {
			continue
		}
		if cmd.Action == nil {
			cmd.Action = GroupAction
		}
		RejectUnknownSubcommands(cmd.Subcommands)
	}
}

// GroupAction is the Action of a command that only groups subcommands: the
// command's help when none is named, an unknown-command error otherwise.
func GroupAction(c *cli.Context) error {
	if !c.Args().Present() {
		return cli.ShowSubcommandHelp(c)
	}
	return unknown(c, c.Args().First())
}

// IsGroup reports whether cmd only groups subcommands: it has some, and no
// Action but [GroupAction].
func IsGroup(cmd *cli.Command) bool {
	return len(cmd.Subcommands) > 0 &&
		(cmd.Action == nil || reflect.ValueOf(cmd.Action).Pointer() == reflect.ValueOf(GroupAction).Pointer())
}

// CommandNotFound is urfave/cli's hook for `PROGRAM help NAME` (and, when
// the app has no Action, `PROGRAM NAME`) when NAME is no command: it prints
// the error and the hint to the app's error writer. urfave/cli gives the
// hook no way to fail, so the exit status stays 0; set [RejectUnknown] as
// the app's Action for `PROGRAM NAME` to exit non-zero.
func CommandNotFound(c *cli.Context, name string) {
	w := c.App.ErrWriter
	if w == nil {
		w = c.App.Writer
	}
	cliout.PrintError(w, c.App.Name, unknown(c, name))
}

func unknown(c *cli.Context, name string) error {
	// At the top, c.Command is urfave/cli's root command, named after the
	// app; `help NAME` runs with the context of the command it is under.
	program, cmds := c.App.Name, c.App.Commands
	if cmd := c.Command; cmd != nil && cmd.Name != c.App.Name && cmd.Name != "help" && len(cmd.Subcommands) > 0 {
		program, cmds = c.App.Name+" "+cmd.Name, cmd.Subcommands
	}
	var names []string
	for _, cmd := range cmds {
		if !cmd.Hidden && cmd.Name != "help" {
			names = append(names, cmd.Name)
		}
	}
	return cliout.UnknownCommand(program, name, names)
}

// DoubledDefaults lists the flags whose help, as urfave/cli prints it,
// states a default twice: a usage text saying "(default 15m)" on a flag
// whose Value is zero prints "(default 15m) (default: 0s)". Each entry is
// "PROGRAM COMMAND --flag: HELP". Fix such a flag with DefaultText: "15m"
// and a usage without the default, or with a real Value.
func DoubledDefaults(app *cli.App) []string {
	var out []string
	check := func(where string, fs []cli.Flag) {
		for _, f := range fs {
			help := f.String()
			if strings.Count(strings.ToLower(help), "(default") > 1 {
				out = append(out, fmt.Sprintf("%s --%s: %s", where, f.Names()[0], strings.ReplaceAll(help, "\t", " ")))
			}
		}
	}
	var walk func(where string, cmds []*cli.Command)
	walk = func(where string, cmds []*cli.Command) {
		for _, c := range cmds {
			check(where+" "+c.Name, c.Flags)
			walk(where+" "+c.Name, c.Subcommands)
		}
	}
	check(app.Name, app.Flags)
	walk(app.Name, app.Commands)
	return out
}

package cliout

import (
	"fmt"
	"strings"

	"github.com/rosterhq/roster/internal/suggest"
)

// UnknownCommandError is a command line naming a command the program does
// not have. Its [UnknownCommandError.Hint] suggests the nearest command, or
// lists them all, so that [PrintError] prints both lines.
type UnknownCommandError struct {
	Program    string   // "roster-agent", or "roster owner" for a subcommand
	Name       string   // what was typed
	Commands   []string // the commands there are
	Suggestion string   // the nearest of Commands, or "" when none is near
}

// UnknownCommand returns the error for name, which is none of commands,
// with the nearest command (see [suggest.Nearest]) as its suggestion.
func UnknownCommand(program, name string, commands []string) *UnknownCommandError {
	return &UnknownCommandError{Program: program, Name: name, Commands: commands, Suggestion: suggest.Nearest(name, commands)}
}

func (e *UnknownCommandError) Error() string { return fmt.Sprintf("unknown command %q", e.Name) }

// Hint is "did you mean ..." with a suggestion, else the list of commands.
func (e *UnknownCommandError) Hint() string {
	if e.Suggestion != "" {
		return fmt.Sprintf("did you mean `%s %s`? `%s --help` lists every command", e.Program, e.Suggestion, e.Program)
	}
	return fmt.Sprintf("the commands are %s; `%s --help` says what each does", strings.Join(e.Commands, ", "), e.Program)
}

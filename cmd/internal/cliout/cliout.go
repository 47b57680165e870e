// Package cliout is what roster and roster-agent share on the way out to an
// operator: the slog logger their --log-format and --log-level flags choose,
// how a failed command prints its error and hint ([PrintError]), what an
// unknown command suggests ([UnknownCommand], [Nearest]), the version line
// ([Version]) and shell completion scripts ([Completion]) for a command
// tree ([Command]).
//
// Standard library only, so that the agent may use it; package urfavecli
// builds the tree of, and the hooks for, a urfave/cli program (roster).
package cliout

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// NewLogger returns a logger writing to w in format (text or json) at level
// (debug, info, warn or error); bad values are errors naming the flag.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
}

// PrintError prints err as "PROG: error: ..." and, when the error carries
// one, a "PROG: hint: ..." line.
func PrintError(w io.Writer, prog string, err error) {
	fmt.Fprintf(w, "%s: error: %v\n", prog, err)
	var h interface{ Hint() string }
	if errors.As(err, &h) && h.Hint() != "" {
		fmt.Fprintf(w, "%s: hint: %s\n", prog, h.Hint())
	}
}

package urfavecli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rosterhq/roster/cmd/internal/cliout"
)

// demoApp is shaped like roster: nested commands, an alias, a hidden
// command and flag, value flags, and one duration flag whose help states
// its default twice.
func demoApp(out, errOut *bytes.Buffer) *cli.App {
	return &cli.App{
		Name: "demo", Usage: "a demo", Version: "dev", Writer: out, ErrWriter: errOut,
		Commands: []*cli.Command{
			{Name: "scan", Usage: "scan this host", Flags: []cli.Flag{
				&cli.StringFlag{Name: "root", Value: "/", Usage: "scan the host at `DIR`"},
				&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE`"},
				&cli.BoolFlag{Name: "all", Usage: "show every account"},
				&cli.BoolFlag{Name: "secret", Hidden: true},
			}, Action: func(*cli.Context) error { return nil }},
			{Name: "enroll", Usage: "create a token", Flags: []cli.Flag{
				&cli.DurationFlag{Name: "valid", Usage: "how long the token may be used (default 15m)"},
				&cli.DurationFlag{Name: "ttl", Value: time.Hour, Usage: "lifetime"},
			}, Action: func(*cli.Context) error { return nil }},
			{Name: "owner", Aliases: []string{"owners"}, Usage: "manage owners", Subcommands: []*cli.Command{
				{Name: "set", Usage: "set an owner", Action: func(*cli.Context) error { return nil }},
				{Name: "show", Usage: "show owners", Action: func(*cli.Context) error { return nil }},
			}},
			{Name: "debug", Hidden: true, Action: func(*cli.Context) error { return nil }},
			CompletionCommand(),
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

func find(cmds []*cliout.Command, name string) *cliout.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func flagNames(fs []cliout.Flag) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Names...)
	}
	return out
}

func TestTree(t *testing.T) {
	root := Tree(demoApp(nil, nil))
	var names []string
	for _, c := range root.Commands {
		names = append(names, c.Name)
	}
	if want := []string{"scan", "enroll", "owner", "completion", "help"}; !slices.Equal(names, want) {
		t.Errorf("commands %q, want %q", names, want)
	}
	if got := flagNames(root.Flags); !slices.Equal(got, []string{"help", "h", "version", "v"}) {
		t.Errorf("root flags %q", got)
	}
	scan := find(root.Commands, "scan")
	if got := flagNames(scan.Flags); !slices.Equal(got, []string{"root", "output", "o", "all", "help", "h"}) {
		t.Errorf("scan flags %q", got)
	}
	if !scan.Flags[0].TakesValue || scan.Flags[2].TakesValue || scan.Flags[0].Usage != "scan the host at `DIR`" {
		t.Errorf("scan flags %+v", scan.Flags)
	}
	owner := find(root.Commands, "owner")
	if !slices.Equal(owner.Aliases, []string{"owners"}) || find(owner.Commands, "set") == nil || find(owner.Commands, "help") == nil {
		t.Errorf("owner %+v", owner)
	}
	if got := find(root.Commands, "completion").Args; !slices.Equal(got, cliout.Shells) {
		t.Errorf("completion args %q", got)
	}
	if got := find(root.Commands, "help").Args; !slices.Contains(got, "owner") {
		t.Errorf("help args %q", got)
	}
}

// TestCompletionCommand runs `demo completion bash` and completes with the
// script it prints; on a tree urfave/cli has already set up (help flags
// and commands added), nothing appears twice.
func TestCompletionCommand(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	var out, errOut bytes.Buffer
	app := demoApp(&out, &errOut)
	if err := app.Run([]string{"demo", "completion", "bash"}); err != nil {
		t.Fatalf("completion bash: %v %s", err, errOut.String())
	}
	p := filepath.Join(t.TempDir(), "demo.bash")
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		words string
		want  string
	}{
		{words: "'demo' ''", want: "scan enroll owner completion help --help -h --version -v"},
		{words: "'demo' 'owners' ''", want: "set show help --help -h"},
		{words: "'demo' 'completion' ''", want: "bash zsh fish --help -h"},
		{words: "'demo' 'scan' '--'", want: "--root --output --all --help"},
	}
	for _, tt := range tests {
		n := len(strings.Fields(tt.words)) - 1
		prog := "source " + p + "\nCOMP_WORDS=(" + tt.words + ")\nCOMP_CWORD=" + string(rune('0'+n)) + "\n_demo_complete\necho \"${COMPREPLY[*]}\"\n"
		got, err := exec.Command(bash, "-c", prog).CombinedOutput()
		if err != nil || strings.TrimSpace(string(got)) != tt.want {
			t.Errorf("%s: %v, completes %q, want %q", tt.words, err, strings.TrimSpace(string(got)), tt.want)
		}
	}
	err = app.Run([]string{"demo", "completion", "tcsh"})
	if err == nil || !strings.Contains(err.Error(), `no completion for shell "tcsh"`) {
		t.Errorf("completion tcsh: %v", err)
	}
	if err := app.Run([]string{"demo", "completion"}); err == nil {
		t.Error("completion without a shell succeeded")
	}
}

func TestUnknownCommand(t *testing.T) {
	tests := []struct {
		desc      string
		args      []string
		action    bool // App.Action = RejectUnknown
		wantErr   string
		wantPrint string // on the error writer
	}{
		{desc: "typo, with the action", args: []string{"demo", "sacn"}, action: true,
			wantErr: `unknown command "sacn"`},
		{desc: "typo, hook only", args: []string{"demo", "sacn"},
			wantPrint: "demo: error: unknown command \"sacn\"\ndemo: hint: did you mean `demo scan`? `demo --help` lists every command\n"},
		{desc: "help for a typo", args: []string{"demo", "help", "enrol"}, action: true,
			wantPrint: "demo: error: unknown command \"enrol\"\ndemo: hint: did you mean `demo enroll`? `demo --help` lists every command\n"},
		{desc: "typo of a subcommand", args: []string{"demo", "owners", "sett"}, action: true,
			wantPrint: "demo: error: unknown command \"sett\"\ndemo: hint: did you mean `demo owner set`? `demo owner --help` lists every command\n"},
		{desc: "nothing near", args: []string{"demo", "bogus"}, action: true,
			wantErr: `unknown command "bogus"`},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		app := demoApp(&out, &errOut)
		app.CommandNotFound = CommandNotFound
		if tt.action {
			app.Action = RejectUnknown
		}
		err := app.Run(tt.args)
		if (err != nil) != (tt.wantErr != "") || err != nil && err.Error() != tt.wantErr {
			t.Errorf("%s: err %v, want %q", tt.desc, err, tt.wantErr)
		}
		if errOut.String() != tt.wantPrint {
			t.Errorf("%s: printed %q, want %q", tt.desc, errOut.String(), tt.wantPrint)
		}
	}
	// The error carries the suggestion for the program to print as a hint.
	var out, errOut bytes.Buffer
	app := demoApp(&out, &errOut)
	app.Action = RejectUnknown
	var u *cliout.UnknownCommandError
	if err := app.Run([]string{"demo", "ownr"}); !errors.As(err, &u) || u.Suggestion != "owner" || slices.Contains(u.Commands, "debug") {
		t.Errorf("err %#v", err)
	}
	// Without arguments, the app's help.
	out.Reset()
	if err := app.Run([]string{"demo"}); err != nil || !strings.Contains(out.String(), "COMMANDS:") {
		t.Errorf("no arguments: %v %q", err, out.String())
	}
}

func TestDoubledDefaults(t *testing.T) {
	got := DoubledDefaults(demoApp(nil, nil))
	if len(got) != 1 || !strings.HasPrefix(got[0], "demo enroll --valid: ") || !strings.Contains(got[0], "(default 15m) (default: 0s)") {
		t.Errorf("DoubledDefaults = %q, want demo enroll --valid only", got)
	}
}

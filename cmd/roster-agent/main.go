// Command roster-agent enrolls service identities with a roster server,
// keeps their short-lived certificates fresh and reports host scans.
//
// It only wires flags and the YAML configuration to package agent, which
// holds the logic. The command line uses the standard library's flag
// package rather than a CLI framework, to keep the binary small.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rosterhq/roster/agent"
	"github.com/rosterhq/roster/cmd/internal/cliout"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand: its flags are declared by setup, which
// returns the action to run once they are parsed. args, when set, are the
// words its one positional argument may be; without args it takes none.
type command struct {
	name, usage, description string
	args                     []string
	setup                    func(fs *flag.FlagSet, out io.Writer) func(ctx context.Context) error
}

// commands is set in init: completion's action reads the table.
var commands []command

func init() {
	commands = []command{
		{name: "enroll", usage: "generate a key here, exchange a one-time token for its certificate, install both",
			description: `The key never leaves this host. The server's answer is verified against the root
whose fingerprint you give before anything is written; cert.pem, key.pem (0600)
and root.pem are written atomically and owned by --user. Get the token,
fingerprint and this command line from "roster enroll ACCOUNT --host HOST".`,
			setup: enrollCommand},
		{name: "run", usage: "keep every configured identity renewed, run reload actions, submit host scans",
			description: `Runs until SIGTERM or SIGINT; SIGHUP renews every identity at once. Logs go to
stderr, one line per renewal with identity, serial and not_after. An identity
with an ssh: section also keeps an SSH user certificate in DIR/ssh; the host
identity's sshd: section keeps sshd's files in /etc/ssh/roster (user CA,
principals, KRL, host certificates) and reloads sshd when they change.`,
			setup: runCommand},
		{name: "status", usage: "show each identity's serial, expiry, next renewal and last error (and its SSH certificate's)",
			description: `Reads the identity directories (cert.pem and the status.json a running agent
writes). Exits 1 when any identity's certificate is missing or expired, or the
server refused to renew it.`,
			setup: statusCommand},
		{name: "version", usage: "print the version and the commit it was built from", setup: versionCommand},
		{name: "completion", usage: "print a shell completion script: bash, zsh or fish", args: cliout.Shells,
			description: `Load it with: source <(roster-agent completion bash), source <(roster-agent
completion zsh), or roster-agent completion fish | source. The script knows
every command and option; completing never runs roster-agent.`,
			setup: completionCommand},
	}
}

// run is main without the exit: it returns the process's exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 { // help COMMAND
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		printUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "-v" || args[0] == "--version" {
		args[0] = "version"
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		fs := flag.NewFlagSet("roster-agent "+c.name, flag.ContinueOnError)
		fs.SetOutput(stderr)
		action := c.setup(fs, stdout)
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "usage: roster-agent %s [options]%s\n\n%s\n", c.name, argsUsage(c.args), c.usage)
			if c.description != "" {
				fmt.Fprintf(fs.Output(), "\n%s\n", c.description)
			}
			n := 0
			fs.VisitAll(func(*flag.Flag) { n++ })
			if n > 0 {
				fmt.Fprintln(fs.Output(), "\noptions:")
				fs.PrintDefaults()
			}
		}
		if err := fs.Parse(args[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if n := fs.NArg(); n > 1 || n == 1 && c.args == nil {
			cliout.PrintError(stderr, "roster-agent", fmt.Errorf("%s: unexpected argument %q", c.name, fs.Arg(fs.NArg()-1)))
			return 2
		}
		if err := action(ctx); err != nil {
			var u usageError
			if errors.As(err, &u) {
				cliout.PrintError(stderr, "roster-agent", err)
				return 2
			}
			if !errors.Is(err, errUnhealthy) {
				cliout.PrintError(stderr, "roster-agent", err)
			}
			return 1
		}
		return 0
	}
	cliout.PrintError(stderr, "roster-agent", cliout.UnknownCommand("roster-agent", args[0], commandNames()))
	return 2
}

func commandNames() []string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
}

// argsUsage is " bash|zsh|fish" for a command that takes one of args.
func argsUsage(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return " " + strings.Join(args, "|")
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "roster-agent %s: keep service accounts' short-lived certificates fresh and report host scans\n\n", version)
	fmt.Fprintln(w, "usage: roster-agent COMMAND [options]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s  %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nroster-agent COMMAND --help shows a command's options.")
}

// usageError is a bad command line: exit status 2.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// errUnhealthy makes status exit 1 after printing everything.
var errUnhealthy = errors.New("an identity needs attention")

// required fails when a flag that must be given is empty.
func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if fs.Lookup(n).Value.String() == "" {
			return usageError{fmt.Errorf("--%s is required", n)}
		}
	}
	return nil
}

func enrollCommand(fs *flag.FlagSet, out io.Writer) func(context.Context) error {
	var o agent.EnrollOptions
	fs.StringVar(&o.Server, "server", "", "roster server `URL` (https://HOST:PORT)")
	fs.StringVar(&o.RootFingerprint, "root-fingerprint", "", "SHA-256 `HEX` of the server's root certificate")
	// The environment is read after parsing so that --help never prints a token.
	fs.StringVar(&o.Token, "token", "", "one-time enrollment `TOKEN`; $ROSTER_ENROLL_TOKEN when not given")
	fs.StringVar(&o.Dir, "dir", "", "identity `DIR` to write cert.pem, key.pem and root.pem to")
	fs.StringVar(&o.User, "user", "", "service account `USER` that owns the certificate and key")
	fs.StringVar(&o.KeyType, "key-type", agent.KeyECDSA, "key `TYPE`: ecdsa (P-256), ed25519 or rsa (3072)")
	return func(ctx context.Context) error {
		if o.Token == "" {
			o.Token = os.Getenv("ROSTER_ENROLL_TOKEN")
		}
		if err := required(fs, "server", "root-fingerprint", "dir"); err != nil {
			return err
		}
		if o.Token == "" {
			return usageError{errors.New("--token is required (or set $ROSTER_ENROLL_TOKEN)")}
		}
		res, err := agent.Enroll(ctx, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "enrolled  %s\nserial    %s\nexpires   %s\nfiles     %s/{cert,key,root}.pem\n",
			res.Identity, res.Serial, res.NotAfter.UTC().Format(time.RFC3339), res.Dir)
		return nil
	}
}

func loadConfig(path string) (agent.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return agent.Config{}, fmt.Errorf("read config: %w", err)
	}
	return parseConfig(path, b)
}

func runCommand(fs *flag.FlagSet, _ io.Writer) func(context.Context) error {
	config := fs.String("config", "", "YAML configuration `FILE`")
	format := fs.String("log-format", "text", "log `FORMAT`: text or json")
	level := fs.String("log-level", "info", "log `LEVEL`: debug, info, warn or error")
	metricsFile := fs.String("metrics-file", "", "keep the identities' expiry and last renewal in `FILE`, Prometheus text format (node_exporter's textfile collector: a .prom file in its directory)")
	return func(ctx context.Context) error {
		if err := required(fs, "config"); err != nil {
			return err
		}
		cfg, err := loadConfig(*config)
		if err != nil {
			return err
		}
		logger, err := cliout.NewLogger(os.Stderr, *format, *level)
		if err != nil {
			return usageError{err}
		}
		cfg.Logger, cfg.Version, cfg.MetricsFile = logger, version, *metricsFile
		lowGC()
		ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		force := make(chan struct{})
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					select {
					case force <- struct{}{}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
		return agent.Run(ctx, cfg, force)
	}
}

// The garbage collector's settings for a running agent, unless $GOGC or
// $GOMEMLIMIT say otherwise. The agent's live heap is well under a
// megabyte; with Go's defaults the heap grows to 4 MiB between collections
// and freed pages go back to the system slowly, which was most of the
// agent's resident memory apart from its own code. At GOGC 25 it collects
// at about 1 MiB, and the soft limit of 6 MiB makes the runtime return
// freed pages at once. A host scan of a large host needs more: the limit is
// soft, so the scan still gets the memory it needs, the collector working
// harder meanwhile (the runtime caps it at about half the CPU).
const (
	agentGCPercent   = 25
	agentMemoryLimit = 6 << 20
)

func lowGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(agentGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(agentMemoryLimit)
	}
}

func statusCommand(fs *flag.FlagSet, out io.Writer) func(context.Context) error {
	config := fs.String("config", "", "YAML configuration `FILE`")
	format := fs.String("format", "table", "output `FORMAT`: table or json")
	return func(context.Context) error {
		if err := required(fs, "config"); err != nil {
			return err
		}
		if *format != "table" && *format != "json" {
			return usageError{fmt.Errorf("--format %q: want table or json", *format)}
		}
		cfg, err := loadConfig(*config)
		if err != nil {
			return err
		}
		now := time.Now()
		sts := agent.ReadStatus(cfg, now)
		if *format == "json" {
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			if err := enc.Encode(sts); err != nil {
				return err
			}
		} else {
			printStatusTable(out, sts, now)
		}
		for _, s := range sts {
			if !s.Healthy() {
				return errUnhealthy
			}
		}
		return nil
	}
}

func printStatusTable(w io.Writer, sts []agent.IdentityStatus, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IDENTITY\tSTATE\tSERIAL\tEXPIRES\tNEXT RENEWAL\tLAST ERROR")
	when := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		d := t.Sub(now).Round(time.Second)
		if d >= 0 {
			return t.UTC().Format(time.RFC3339) + " (in " + d.String() + ")"
		}
		return t.UTC().Format(time.RFC3339) + " (" + (-d).String() + " ago)"
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return strings.ReplaceAll(s, "\t", " ")
	}
	for _, s := range sts {
		last := s.LastError
		if last == "" && s.ReloadError != "" {
			last = s.ReloadError
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.State, dash(s.Serial), when(s.NotAfter), when(s.NextRenewal), dash(last))
	}
	tw.Flush()
	printSSHTable(w, sts, when, dash)
	for _, s := range sts {
		if s.Hint != "" {
			fmt.Fprintf(w, "\n%s: hint: %s\n", s.Name, s.Hint)
		}
	}
}

// printSSHTable lists the SSH certificates of the identities that have
// one, under the X.509 table.
func printSSHTable(w io.Writer, sts []agent.IdentityStatus, when func(time.Time) string, dash func(string) string) {
	if !slices.ContainsFunc(sts, func(s agent.IdentityStatus) bool { return s.SSH != nil }) {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SSH CERTIFICATE\tSTATE\tSERIAL\tPRINCIPALS\tEXPIRES\tNEXT RENEWAL\tLAST ERROR")
	for _, s := range sts {
		if c := s.SSH; c != nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, c.State, dash(c.Serial),
				dash(strings.Join(c.Principals, ",")), when(c.NotAfter), when(c.NextRenewal), dash(c.LastError))
		}
	}
	tw.Flush()
}

func versionCommand(_ *flag.FlagSet, out io.Writer) func(context.Context) error {
	return func(context.Context) error {
		fmt.Fprintln(out, cliout.Version("roster-agent", version))
		return nil
	}
}

func completionCommand(fs *flag.FlagSet, out io.Writer) func(context.Context) error {
	return func(context.Context) error {
		if fs.NArg() != 1 {
			return usageError{fmt.Errorf("completion takes one shell: %s", strings.Join(cliout.Shells, ", "))}
		}
		if !slices.Contains(cliout.Shells, fs.Arg(0)) {
			return usageError{fmt.Errorf("completion: no script for shell %q: want %s", fs.Arg(0), strings.Join(cliout.Shells, ", "))}
		}
		return cliout.Completion(out, fs.Arg(0), completionTree())
	}
}

// completionTree is the command line as the completion scripts see it:
// each command with the flags its setup declares.
func completionTree() *cliout.Command {
	help := cliout.Flag{Names: []string{"help", "h"}, Usage: "show the command's options"}
	root := &cliout.Command{Name: "roster-agent", Flags: []cliout.Flag{
		{Names: []string{"help", "h"}, Usage: "show the commands"},
		{Names: []string{"version", "v"}, Usage: "print the version"},
	}}
	for _, c := range commands {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.setup(fs, io.Discard)
		cc := &cliout.Command{Name: c.name, Usage: c.usage, Args: c.args}
		fs.VisitAll(func(f *flag.Flag) {
			_, usage := flag.UnquoteUsage(f)
			b, ok := f.Value.(interface{ IsBoolFlag() bool })
			cc.Flags = append(cc.Flags, cliout.Flag{Names: []string{f.Name}, Usage: usage, TakesValue: !ok || !b.IsBoolFlag()})
		})
		cc.Flags = append(cc.Flags, help)
		root.Commands = append(root.Commands, cc)
	}
	root.Commands = append(root.Commands, &cliout.Command{Name: "help", Usage: "show the commands, or one command's options", Args: commandNames()})
	return root
}

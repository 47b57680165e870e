package main

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/rosterhq/roster/cmd/internal/cliout/urfavecli"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
)

// Hints name commands that exist. TestHintsNameRealCommands reads the Go
// sources of the module (tests and testdata left out) and collects every
// hint: a HintText or hint field, a withHint, NewHintError or hint
// parameter argument, a hint variable, what a Hint method returns, with
// fmt.Sprintf formats, concatenations and small local functions (such as
// issuer's enrollCommand) followed. It also takes, in any string, a command
// written as ": roster ...", "(roster ...", "`roster ...`" or "with roster
// ...", as account show and the tag command print them. Each command line
// is checked against the CLI's real command tree (checkCommandLine).

// hint is a hint's text as a template: %v stands for what only runs know.
type hint struct {
	pos  string
	text string
}

func TestHintsNameRealCommands(t *testing.T) {
	hints := collectHints(t, filepath.Join("..", ".."))
	app := newApp()
	seen := map[string]bool{}
	lines := 0
	for _, h := range hints {
		for _, line := range commandLines(h.text) {
			lines++
			path, err := checkCommandLine(app, line)
			if err != nil {
				t.Errorf("%s: %q names a command that does not exist: %v", h.pos, line, err)
				continue
			}
			seen[path] = true
		}
	}
	// The collector must keep finding the hints of every layer: an empty
	// or shrunken harvest would pass without checking anything.
	for _, want := range []string{"owner set", "hosts tag", "account split", "account unretire", "enroll", "revoke",
		"token create", "token list", "accounts list", "scan"} {
		if !seen[want] {
			t.Errorf("no hint names roster %s: is the collector still finding them? (%d hints, %d command lines)", want, len(hints), lines)
		}
	}
	if lines < 25 {
		t.Errorf("only %d command lines in %d hints", lines, len(hints))
	}
}

// TestCheckCommandLine: the checker refuses the three hints that were wrong
// (a command group that does not exist, a subcommand of the wrong group
// with a stray argument) and other ways of being wrong, and accepts the
// forms hints use.
func TestCheckCommandLine(t *testing.T) {
	app := newApp()
	for _, tc := range []struct {
		line string
		bad  string // a substring of the error, "" for a good line
	}{
		{"roster host tag HOST env=NAME", `no command "host"`},
		{"roster accounts split %v --host %v GROUP", `"split" is not a subcommand of roster accounts`},
		{"roster account split %v --host %v GROUP", "takes at most 1 argument"},
		{"roster account retire X --force", "no flag --force"},
		{"roster owner", "needs a subcommand"},
		{"roster owner set A B C", "takes at most 2 argument"},
		{"roster scan listening", "takes no argument"},
		{"roster hosts tag HOST env=NAME", ""},
		{"roster owner set ACCOUNT OWNER [--contact C]", ""},
		{"roster account split billing-batch@prod --separate", ""},
		{"roster enroll %v --host %v", ""},
		{"roster token create --role=viewer --name NAME", ""},
		{"roster revoke --help", ""},
		{"roster hosts tag HOST TAG... --remove", ""},
	} {
		lines := commandLines(tc.line)
		if len(lines) != 1 {
			t.Fatalf("%q: %d command lines %q", tc.line, len(lines), lines)
		}
		_, err := checkCommandLine(app, lines[0])
		if tc.bad == "" && err != nil || tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)) {
			t.Errorf("%q: %v, want %q", tc.line, err, tc.bad)
		}
	}
	for text, want := range map[string][]string{
		"scan it first: roster scan --submit on %v":                                                             {"scan --submit"},
		"(roster scan --submit on %v); otherwise revoke its certificate: roster revoke %v --host %v":            {"scan --submit", "revoke %v --host %v"},
		"roster revoke ACCOUNT --host HOST, or roster revoke --serial SERIAL":                                   {"revoke ACCOUNT --host HOST", "revoke --serial SERIAL"},
		"root.crt (printed by `roster server` at start)":                                                        {"server"},
		"confirm it: roster account split %v --separate; then enroll again":                                     {"account split %v --separate"},
		"roster: error: no owner":                                                                               nil,
		"roster-agent enroll --token T":                                                                         nil,
		"none (roster owner set %v OWNER)":                                                                      {"owner set %v OWNER"},
		"a retired account gets no certificate; if it is in use again: roster account unretire billing@default": {"account unretire billing@default"},
	} {
		if got := commandLines(text); !slices.Equal(got, want) {
			t.Errorf("commandLines(%q) = %q, want %q", text, got, want)
		}
	}
}

// TestPolicyRefusalsNameACommand: every refusal of the issuer's default
// policy says what to do with a command that exists (a hint in prose, such
// as "reactivate it", is no next step).
func TestPolicyRefusalsNameACommand(t *testing.T) {
	app := newApp()
	gone := inventory.IdentityState{Host: "h", Account: "a", HostKnown: true, Exists: true, Gone: true, ServiceAccount: "a@default"}
	ok := inventory.IdentityState{Host: "h", Account: "a", HostKnown: true, Exists: true, ServiceAccount: "a@prod", Owner: &inventory.Owner{Name: "team"}}
	for desc, s := range map[string]inventory.IdentityState{
		"unknown host":      {Host: "h", Account: "a"},
		"host never seen":   {Host: "h", HostKnown: true},
		"unknown account":   {Host: "h", Account: "a", HostKnown: true},
		"gone":              gone,
		"retired":           with(ok, func(s *inventory.IdentityState) { s.Retired = true }),
		"no owner":          with(ok, func(s *inventory.IdentityState) { s.Owner = nil }),
		"shared across env": with(ok, func(s *inventory.IdentityState) { s.SharedAcrossEnvs = true }),
	} {
		err := issuer.DefaultPolicy(context.Background(), s)
		var de *issuer.DeniedError
		if !errors.As(err, &de) {
			t.Errorf("%s: %v, want a refusal", desc, err)
			continue
		}
		lines := commandLines(de.Hint())
		if len(lines) == 0 {
			t.Errorf("%s: hint %q names no command", desc, de.Hint())
		}
		for _, l := range lines {
			if _, err := checkCommandLine(app, l); err != nil {
				t.Errorf("%s: hint %q: %v", desc, de.Hint(), err)
			}
		}
	}
}

func with(s inventory.IdentityState, edit func(*inventory.IdentityState)) inventory.IdentityState {
	edit(&s)
	return s
}

// mentionRE finds "roster " at the start of a word. Hints may name a
// command anywhere; other strings only after ": ", "(", "`" or "with ".
var (
	mentionRE    = regexp.MustCompile("(^|[\\s(`])roster ")
	proseStartRE = regexp.MustCompile("(: |\\(|`|with )roster ")
	hintNameRE   = regexp.MustCompile(`^(?i)hint(text)?$`)
)

// stopWords end a command line written inside a sentence ("roster scan
// --submit on HOST").
var stopWords = map[string]bool{"on": true, "then": true, "or": true, "and": true, "if": true, "to": true, "in": true, "for": true, "at": true}

// commandLines returns the command lines text names, without "roster ".
func commandLines(text string) []string {
	var out []string
	for _, loc := range mentionRE.FindAllStringIndex(text, -1) {
		rest := text[loc[1]:]
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			rest = rest[:i]
		}
		var toks []string
		for _, raw := range strings.Fields(rest) {
			if stopWords[raw] {
				break
			}
			tok := strings.TrimSuffix(raw, "...")
			trimmed := strings.TrimRight(tok, "),;.`\"'")
			tok = strings.Trim(trimmed, "[]")
			if tok != "" {
				toks = append(toks, tok)
			}
			if trimmed != strings.TrimSuffix(raw, "...") {
				break
			}
		}
		if len(toks) > 0 {
			out = append(out, strings.Join(toks, " "))
		}
	}
	return out
}

// checkCommandLine checks a command line against the CLI: the command
// path, every flag of the command, and no more positional arguments than
// its ArgsUsage names. Arguments are free (ACCOUNT, %v, billing@prod).
// It returns the command path.
func checkCommandLine(app *cli.App, line string) (string, error) {
	toks := strings.Fields(line)
	var path []string
	var cmd *cli.Command
	cmds := app.Commands
	for len(toks) > 0 && (cmd == nil || len(cmd.Subcommands) > 0) && !strings.HasPrefix(toks[0], "-") {
		c := findCommand(cmds, toks[0])
		if c == nil {
			if cmd == nil {
				return "", fmt.Errorf("no command %q", toks[0])
			}
			return "", fmt.Errorf("%q is not a subcommand of roster %s", toks[0], strings.Join(path, " "))
		}
		cmd, cmds, toks = c, c.Subcommands, toks[1:]
		path = append(path, c.Name)
	}
	if cmd == nil {
		return "", errors.New("no command")
	}
	name := strings.Join(path, " ")
	args := 0
	for len(toks) > 0 {
		tok := toks[0]
		toks = toks[1:]
		if !strings.HasPrefix(tok, "-") {
			args++
			continue
		}
		flag, _, hasValue := strings.Cut(strings.TrimLeft(tok, "-"), "=")
		if flag == "help" || flag == "h" {
			continue
		}
		f := findFlag(cmd.Flags, flag)
		if f == nil {
			return name, fmt.Errorf("roster %s has no flag --%s", name, flag)
		}
		if _, isBool := f.(*cli.BoolFlag); !isBool && !hasValue && len(toks) > 0 {
			toks = toks[1:]
		}
	}
	if urfavecli.IsGroup(cmd) {
		return name, fmt.Errorf("roster %s needs a subcommand", name)
	}
	max := 0
	for _, w := range strings.Fields(cmd.ArgsUsage) {
		if strings.Contains(w, "...") {
			max = 1 << 30
		}
		max++
	}
	switch {
	case args > 0 && max == 0:
		return name, fmt.Errorf("roster %s takes no argument, got %d", name, args)
	case args > max:
		return name, fmt.Errorf("roster %s takes at most %d argument(s) (%s), got %d", name, max, cmd.ArgsUsage, args)
	}
	return name, nil
}

func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// collectHints parses the non-test Go files under root.
func collectHints(t *testing.T, root string) []hint {
	t.Helper()
	fset := token.NewFileSet()
	pkgs := map[string][]*ast.File{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, p, src, 0)
		if err != nil {
			return err
		}
		pkgs[filepath.Dir(p)] = append(pkgs[filepath.Dir(p)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []hint
	for _, files := range pkgs {
		c := &collector{fset: fset, funcs: map[string]*ast.FuncType{}, bodies: map[string]*ast.BlockStmt{}, hintArg: map[string]int{}}
		for _, f := range files {
			c.index(f)
		}
		for _, f := range files {
			c.collect(f)
		}
		out = append(out, c.hints...)
	}
	return out
}

// collector finds the hints of one package.
type collector struct {
	fset    *token.FileSet
	funcs   map[string]*ast.FuncType  // top-level functions and methods by name
	bodies  map[string]*ast.BlockStmt // their bodies
	hintArg map[string]int            // function or closure name -> index of its hint parameter
	hints   []hint
}

func (c *collector) index(f *ast.File) {
	params := func(name string, ft *ast.FuncType) {
		i := 0
		for _, fld := range ft.Params.List {
			for _, n := range fld.Names {
				if hintNameRE.MatchString(n.Name) {
					c.hintArg[name] = i
				}
				i++
			}
			if len(fld.Names) == 0 {
				i++
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			c.funcs[n.Name.Name], c.bodies[n.Name.Name] = n.Type, n.Body
			params(n.Name.Name, n.Type)
		case *ast.AssignStmt: // deny := func(reason, hint string) error
			for i, r := range n.Rhs {
				if fl, ok := r.(*ast.FuncLit); ok && i < len(n.Lhs) {
					if id, ok := n.Lhs[i].(*ast.Ident); ok {
						params(id.Name, fl.Type)
					}
				}
			}
		}
		return true
	})
}

func (c *collector) add(e ast.Expr) {
	for _, s := range c.eval(e, 0) {
		c.keep(e, s)
	}
}

// keep records a hint once (a hint's literal is also seen as text).
func (c *collector) keep(e ast.Expr, s string) {
	h := hint{pos: c.fset.Position(e.Pos()).String(), text: s}
	if !slices.Contains(c.hints, h) {
		c.hints = append(c.hints, h)
	}
}

func (c *collector) collect(f *ast.File) {
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.KeyValueExpr:
			if id, ok := n.Key.(*ast.Ident); ok && hintNameRE.MatchString(id.Name) {
				c.add(n.Value)
			}
		case *ast.CallExpr:
			name := calleeName(n.Fun)
			switch {
			case name == "withHint" && len(n.Args) == 1:
				c.add(n.Args[0])
			case name == "NewHintError" && len(n.Args) == 2:
				c.add(n.Args[1])
			default:
				if i, ok := c.hintArg[name]; ok && i < len(n.Args) {
					c.add(n.Args[i])
				}
			}
		case *ast.AssignStmt:
			for i, l := range n.Lhs {
				if id, ok := l.(*ast.Ident); ok && hintNameRE.MatchString(id.Name) && len(n.Rhs) == len(n.Lhs) {
					c.add(n.Rhs[i])
				}
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				if hintNameRE.MatchString(id.Name) && i < len(n.Values) {
					c.add(n.Values[i])
				}
			}
		case *ast.FuncDecl:
			if n.Name.Name == "Hint" && n.Body != nil {
				ast.Inspect(n.Body, func(m ast.Node) bool {
					if r, ok := m.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
						c.add(r.Results[0])
					}
					return true
				})
			}
		case *ast.BinaryExpr, *ast.BasicLit:
			// Commands written into other text: only the outermost
			// expression, so that a concatenation is read whole.
			for _, s := range c.eval(n.(ast.Expr), 0) {
				if proseStartRE.MatchString(s) {
					c.keep(n.(ast.Expr), s)
				}
			}
			return false
		}
		return true
	})
}

func calleeName(fun ast.Expr) string {
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

// eval returns the strings e may be, with %v for what is known only at
// run time. It follows formats, concatenations and, a few levels deep,
// calls of the package's own functions returning a string.
func (c *collector) eval(e ast.Expr, depth int) []string {
	unknown := []string{"%v"}
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return unknown
		}
		s, err := strconv.Unquote(e.Value)
		if err != nil {
			return unknown
		}
		return []string{s}
	case *ast.ParenExpr:
		return c.eval(e.X, depth)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return unknown
		}
		var out []string
		for _, x := range c.eval(e.X, depth) {
			for _, y := range c.eval(e.Y, depth) {
				out = append(out, x+y)
			}
		}
		return out
	case *ast.CallExpr:
		name := calleeName(e.Fun)
		if sel, ok := e.Fun.(*ast.SelectorExpr); ok {
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "fmt" && (name == "Sprintf" || name == "Errorf") && len(e.Args) > 0 {
				return c.eval(e.Args[0], depth)
			}
		}
		body, ok := c.bodies[name]
		if !ok || body == nil || depth > 2 {
			return unknown
		}
		var out []string
		ast.Inspect(body, func(m ast.Node) bool {
			if _, lit := m.(*ast.FuncLit); lit {
				return false
			}
			if r, ok := m.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
				out = append(out, c.eval(r.Results[0], depth+1)...)
			}
			return true
		})
		if len(out) == 0 {
			return unknown
		}
		return out
	}
	return unknown
}

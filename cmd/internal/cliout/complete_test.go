package cliout

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// testTree is a small program with what the scripts must handle: nested
// commands, aliases, flags with and without values, one-letter flags, fixed
// arguments, and usage text with quotes, colons, dollars and placeholders.
func testTree() *Command {
	help := Flag{Names: []string{"help", "h"}, Usage: "show help"}
	return &Command{
		Name:  "demo-tool",
		Flags: []Flag{help, {Names: []string{"version", "v"}, Usage: "print the version"}},
		Commands: []*Command{
			{Name: "enroll", Usage: "get the account's first certificate: from $SERVER", Flags: []Flag{
				help,
				{Names: []string{"dir"}, Usage: "identity `DIR`", TakesValue: true},
				{Names: []string{"server"}, Usage: `server "URL" \ with 'quotes'`, TakesValue: true},
			}},
			{Name: "owner", Aliases: []string{"owners"}, Usage: "manage owners", Flags: []Flag{help}, Commands: []*Command{
				{Name: "set", Usage: "set an account's owner", Flags: []Flag{help, {Names: []string{"apply"}, Usage: "write it"}}},
				{Name: "show", Usage: "show owners"},
			}},
			{Name: "completion", Usage: "print a completion script", Args: Shells, Flags: []Flag{help}},
		},
	}
}

// needShell returns the path of shell, or skips the test when it is not
// installed; on CI (CI=true) a missing shell fails the test instead.
func needShell(t *testing.T, shell string) string {
	t.Helper()
	p, err := exec.LookPath(shell)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed, and CI must check the %s completion script", shell, shell)
		}
		t.Skipf("%s is not installed", shell)
	}
	return p
}

func script(t *testing.T, shell string) string {
	t.Helper()
	var b bytes.Buffer
	if err := Completion(&b, shell, testTree()); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "demo-tool."+shell)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCompletionSyntax: each shell parses its script without running it.
func TestCompletionSyntax(t *testing.T) {
	for _, shell := range Shells {
		t.Run(shell, func(t *testing.T) {
			sh := needShell(t, shell)
			if out, err := exec.Command(sh, "-n", script(t, shell)).CombinedOutput(); err != nil {
				t.Fatalf("%s -n: %v\n%s", shell, err, out)
			}
		})
	}
}

// TestCompletionBash runs the bash completion function on command lines.
func TestCompletionBash(t *testing.T) {
	sh := needShell(t, "bash")
	p := script(t, "bash")
	tests := []struct {
		line string // words, the last one being completed
		want []string
	}{
		{line: "demo-tool ", want: []string{"enroll", "owner", "completion", "--help", "-h", "--version", "-v"}},
		{line: "demo-tool en", want: []string{"enroll"}},
		{line: "demo-tool enroll --", want: []string{"--help", "--dir", "--server"}},
		{line: "demo-tool owner ", want: []string{"set", "show", "--help", "-h"}},
		{line: "demo-tool owners s", want: []string{"set", "show"}},
		{line: "demo-tool owner set --a", want: []string{"--apply"}},
		{line: "demo-tool completion ", want: []string{"bash", "zsh", "fish", "--help", "-h"}},
		{line: "demo-tool enroll --dir " + filepath.Dir(p) + "/demo", want: []string{p}},
		{line: "demo-tool bogus ", want: []string{"enroll", "owner", "completion", "--help", "-h", "--version", "-v"}},
	}
	for _, tt := range tests {
		words := strings.Split(tt.line, " ")
		prog := "source " + p + "\nCOMP_WORDS=("
		for _, w := range words {
			prog += " '" + w + "'"
		}
		prog += ")\nCOMP_CWORD=" + strconv.Itoa(len(words)-1) + "\n_demo_tool_complete\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		out, err := exec.Command(sh, "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tt.line, err, out)
		}
		got := strings.Fields(string(out))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: completes %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestCompletionFish asks fish what it would complete.
func TestCompletionFish(t *testing.T) {
	sh := needShell(t, "fish")
	p := script(t, "fish")
	tests := []struct {
		line string
		want []string // candidates, without descriptions
	}{
		{line: "demo-tool ", want: []string{"completion", "enroll", "owner"}},
		{line: "demo-tool enroll --s", want: []string{"--server"}},
		{line: "demo-tool owners ", want: []string{"set", "show"}},
		{line: "demo-tool completion ", want: []string{"bash", "fish", "zsh"}},
	}
	for _, tt := range tests {
		out, err := exec.Command(sh, "--no-config", "-c", "source "+p+"; complete -C '"+tt.line+"'").CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tt.line, err, out)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			c, _, _ := strings.Cut(l, "\t")
			if c != "" {
				got = append(got, c)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: completes %q, want %q", tt.line, got, tt.want)
		}
	}
	// Descriptions keep their quotes and backslashes.
	out, _ := exec.Command(sh, "--no-config", "-c", "source "+p+"; complete -C 'demo-tool enroll --se'").CombinedOutput()
	if !strings.Contains(string(out), `server "URL" \ with 'quotes'`) {
		t.Errorf("fish lost the description's quoting: %q", out)
	}
}

// TestCompletionZsh loads the script both ways zsh can: sourced after
// compinit, and autoloaded from $fpath as _demo-tool.
func TestCompletionZsh(t *testing.T) {
	sh := needShell(t, "zsh")
	p := script(t, "zsh")
	fpath := t.TempDir()
	if err := os.Rename(p, filepath.Join(fpath, "_demo-tool")); err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "zcompdump")
	tests := []struct{ desc, prog, want string }{
		{desc: "sourced", prog: "autoload -U compinit && compinit -u -d " + dump + " && source " + fpath + "/_demo-tool && print -r -- ${_comps[demo-tool]}", want: "_demo_tool"},
		{desc: "autoloaded", prog: "fpath=(" + fpath + " $fpath) && autoload -U compinit && compinit -u -d " + dump + "2 && print -r -- ${_comps[demo-tool]}", want: "_demo-tool"},
	}
	for _, tt := range tests {
		out, err := exec.Command(sh, "-f", "-c", tt.prog).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tt.want {
			t.Errorf("%s: %v, printed %q, want %q", tt.desc, err, out, tt.want)
		}
	}
}

func TestCompletionErrors(t *testing.T) {
	var b bytes.Buffer
	if err := Completion(&b, "powershell", testTree()); err == nil || !strings.Contains(err.Error(), "want bash, zsh, fish") {
		t.Errorf("unknown shell: %v", err)
	}
	bad := testTree()
	bad.Commands[0].Flags = append(bad.Commands[0].Flags, Flag{Names: []string{"x;rm -rf /"}})
	if err := Completion(&b, "bash", bad); err == nil || !strings.Contains(err.Error(), "demo-tool enroll") {
		t.Errorf("unsafe flag name: %v", err)
	}
	if b.Len() != 0 {
		t.Errorf("wrote %d bytes despite errors", b.Len())
	}
}

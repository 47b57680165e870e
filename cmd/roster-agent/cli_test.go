package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/cmd/internal/cliout"
)

func TestUnknownCommandSuggests(t *testing.T) {
	tests := []struct {
		args     []string
		wantHint string
	}{
		{args: []string{"stauts"}, wantHint: "roster-agent: hint: did you mean `roster-agent status`?"},
		{args: []string{"enrol", "--dir", "x"}, wantHint: "roster-agent: hint: did you mean `roster-agent enroll`?"},
		{args: []string{"complete", "bash"}, wantHint: "roster-agent: hint: did you mean `roster-agent completion`?"},
		{args: []string{"help", "verison"}, wantHint: "roster-agent: hint: did you mean `roster-agent version`?"},
		{args: []string{"bogus"}, wantHint: "roster-agent: hint: the commands are enroll, run, status, version, completion; `roster-agent --help` says what each does"},
	}
	for _, tt := range tests {
		code, out, errOut := cli(t, tt.args...)
		name := tt.args[0]
		if name == "help" {
			name = tt.args[1]
		}
		want := "roster-agent: error: unknown command \"" + name + "\"\n"
		if code != 2 || out != "" || !strings.HasPrefix(errOut, want) || !strings.Contains(errOut, tt.wantHint) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, %q and %q", tt.args, code, out, errOut, want, tt.wantHint)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		code, out, _ := cli(t, args...)
		if want := cliout.Version("roster-agent", "dev") + "\n"; code != 0 || out != want {
			t.Errorf("%q: exit %d, %q, want %q", args, code, out, want)
		}
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

// TestCompletion: each script names every command and option and passes
// its shell's syntax check; bash completes from it.
func TestCompletion(t *testing.T) {
	for _, shell := range cliout.Shells {
		t.Run(shell, func(t *testing.T) {
			code, out, errOut := cli(t, "completion", shell)
			if code != 0 || errOut != "" {
				t.Fatalf("completion %s: exit %d, %s", shell, code, errOut)
			}
			for _, w := range append(commandNames(), "root-fingerprint", "log-level", "config", "format") {
				if !strings.Contains(out, w) {
					t.Errorf("the %s script lacks %s", shell, w)
				}
			}
			p := filepath.Join(t.TempDir(), "roster-agent."+shell)
			if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			sh := needShell(t, shell)
			if b, err := exec.Command(sh, "-n", p).CombinedOutput(); err != nil {
				t.Fatalf("%s -n: %v\n%s", shell, err, b)
			}
			if shell != "bash" {
				return
			}
			for _, tt := range []struct {
				words []string
				want  []string
			}{
				{words: []string{"roster-agent", "st"}, want: []string{"status"}},
				{words: []string{"roster-agent", "enroll", "--ro"}, want: []string{"--root-fingerprint"}},
				{words: []string{"roster-agent", "completion", ""}, want: []string{"bash", "zsh", "fish", "--help", "-h"}},
				{words: []string{"roster-agent", "help", "e"}, want: []string{"enroll"}},
			} {
				prog := "source " + p + "\nCOMP_WORDS=(" + strings.Join(quoteAll(tt.words), " ") + ")\nCOMP_CWORD=" +
					strconv.Itoa(len(tt.words)-1) + "\n_roster_agent_complete\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
				b, err := exec.Command(sh, "-c", prog).CombinedOutput()
				if got := strings.Fields(string(b)); err != nil || !slices.Equal(got, tt.want) {
					t.Errorf("%q: %v, completes %q, want %q", tt.words, err, got, tt.want)
				}
			}
		})
	}
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		if code, out, errOut := cli(t, args...); code != 2 || out != "" || !strings.Contains(errOut, "bash, zsh, fish") && !strings.Contains(errOut, "unexpected argument") {
			t.Errorf("%q: exit %d, %q %q", args, code, out, errOut)
		}
	}
	if code, _, errOut := cli(t, "status", "extra"); code != 2 || !strings.Contains(errOut, `status: unexpected argument "extra"`) {
		t.Errorf("status extra: exit %d, %q", code, errOut)
	}
}

func quoteAll(ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = "'" + w + "'"
	}
	return out
}

// TestFlagHelpOnce: every option of every command appears once in its help,
// and no option's help states a default twice.
func TestFlagHelpOnce(t *testing.T) {
	for _, c := range completionTree().Commands {
		if c.Name == "help" {
			continue
		}
		code, _, help := cli(t, c.Name, "--help")
		if code != 0 {
			t.Fatalf("%s --help: exit %d", c.Name, code)
		}
		_, opts, _ := strings.Cut(help, "\noptions:\n")
		// PrintDefaults starts each option with "  -NAME".
		entries := strings.Split(opts, "\n  -")
		for _, f := range c.Flags {
			if f.Names[0] == "help" {
				continue
			}
			n := 0
			for _, e := range entries {
				name, _, _ := strings.Cut(strings.TrimPrefix(e, "  -"), " ")
				name, _, _ = strings.Cut(name, "\n")
				if name != f.Names[0] {
					continue
				}
				n++
				if d := strings.Count(strings.ToLower(e), "default"); d > 1 {
					t.Errorf("%s -%s states its default %d times:\n%s", c.Name, f.Names[0], d, e)
				}
			}
			if n != 1 {
				t.Errorf("%s --help shows -%s %d times:\n%s", c.Name, f.Names[0], n, help)
			}
		}
	}
}

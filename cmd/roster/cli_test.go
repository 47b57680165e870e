package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/rosterhq/roster/cmd/internal/cliout"
	"github.com/rosterhq/roster/cmd/internal/cliout/urfavecli"
)

// TestFlagDefaultsOnce: no flag's help states its default twice ("(default
// 15m) (default: 0s)").
func TestFlagDefaultsOnce(t *testing.T) {
	if d := urfavecli.DoubledDefaults(newApp()); len(d) > 0 {
		t.Errorf("flags whose help states a default twice:\n%s", strings.Join(d, "\n"))
	}
}

// TestUnknownCommand: `roster bogus` is an error naming the command, and a
// near miss gets the nearest command as a hint; the same one level down.
func TestUnknownCommand(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"bogus", `unknown command "bogus"`},
		{"reprot", "roster report"},
		{"account shwo", `unknown command "shwo"`},
		{"vendor lst", "roster vendor list"},
	} {
		var out, errOut bytes.Buffer
		app := newApp()
		app.Writer, app.ErrWriter = &out, &errOut
		err := app.Run(append([]string{"roster"}, strings.Fields(tc.args)...))
		if err == nil {
			t.Errorf("roster %s: no error", tc.args)
			continue
		}
		var msg bytes.Buffer
		cliout.PrintError(&msg, "roster", err)
		if !strings.Contains(msg.String(), tc.want) {
			t.Errorf("roster %s printed %q, want it to say %q", tc.args, msg.String(), tc.want)
		}
	}
}

// TestVersionsAgree: roster version and roster-agent version print the
// same version and commit (from the build info).
func TestVersionsAgree(t *testing.T) {
	roster, agent := buildBinaries(t)
	a, err := exec.Command(roster, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command(agent, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	ra, ok1 := strings.CutPrefix(string(a), "roster ")
	rb, ok2 := strings.CutPrefix(string(b), "roster-agent ")
	if !ok1 || !ok2 || ra != rb || !strings.Contains(ra, "(commit ") {
		t.Errorf("versions disagree:\n roster       %q\n roster-agent %q", a, b)
	}
}

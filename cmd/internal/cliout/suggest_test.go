package cliout

import (
	"bytes"
	"testing"
)

func TestUnknownCommand(t *testing.T) {
	cmds := []string{"enroll", "run", "status"}
	tests := []struct {
		name string
		want string
	}{
		{"stauts", "prog: error: unknown command \"stauts\"\nprog: hint: did you mean `roster-agent status`? `roster-agent --help` lists every command\n"},
		{"bogus", "prog: error: unknown command \"bogus\"\nprog: hint: the commands are enroll, run, status; `roster-agent --help` says what each does\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		PrintError(&buf, "prog", UnknownCommand("roster-agent", tt.name, cmds))
		if buf.String() != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, buf.String(), tt.want)
		}
	}
}

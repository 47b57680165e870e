package cliout

import (
	"fmt"
	"strings"
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
// with the nearest command (see [Nearest]) as its suggestion.
func UnknownCommand(program, name string, commands []string) *UnknownCommandError {
	return &UnknownCommandError{Program: program, Name: name, Commands: commands, Suggestion: Nearest(name, commands)}
}

func (e *UnknownCommandError) Error() string { return fmt.Sprintf("unknown command %q", e.Name) }

// Hint is "did you mean ..." with a suggestion, else the list of commands.
func (e *UnknownCommandError) Hint() string {
	if e.Suggestion != "" {
		return fmt.Sprintf("did you mean `%s %s`? `%s --help` lists every command", e.Program, e.Suggestion, e.Program)
	}
	return fmt.Sprintf("the commands are %s; `%s --help` says what each does", strings.Join(e.Commands, ", "), e.Program)
}

// Nearest returns the candidate closest to name, or "" when none is close
// enough to be what the user meant. Close means: name is a prefix of it, or
// it is within a third of name's length (rounded up) in edit distance,
// counting a swap of two neighbouring letters as one edit, so that
// "stauts", "statu", "enrol" and "complete" find their command and "bogus"
// finds none.
// Case is ignored; ties go to the earlier candidate.
func Nearest(name string, candidates []string) string {
	name = strings.ToLower(name)
	if name == "" {
		return ""
	}
	best, bestDist := "", (len([]rune(name))+2)/3+1
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := editDistance(name, lc)
		if strings.HasPrefix(lc, name) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours, by rune.
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	// d[i][j] is the distance between s[:i] and t[:j].
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}

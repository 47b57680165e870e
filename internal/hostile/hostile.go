// Package hostile holds roster's shared corpora of hostile input, for tests
// in any package: command lines with planted secrets that redaction must
// remove ([RedactionCases]), and strings that try to inject into terminals,
// CSV, Markdown and HTML or to pass for a name ([Injections],
// [InjectionStrings]).
//
// The corpora are data files embedded in the package (redaction.json and
// injection.json), so a case is added by editing data, not code. Every call
// returns a fresh copy that the caller may change.
//
// Only tests import this package; it holds no secrets: every planted value
// is made up and safe to print in a test failure.
package hostile

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed redaction.json
var redactionJSON []byte

//go:embed injection.json
var injectionJSON []byte

// RedactionCase is one command line that carries a secret.
type RedactionCase struct {
	// Name says which form the secret takes ("--password value",
	// "URL userinfo", ...); it is unique in the corpus.
	Name string `json:"name"`
	// Args is the command as the kernel holds it (/proc/PID/cmdline).
	Args []string `json:"args"`
	// Planted are the values that must not survive redaction anywhere
	// in the output.
	Planted []string `json:"planted"`
	// Keep are parts that redaction must leave visible, so that an
	// operator still sees what runs: the command, flag names, users.
	Keep []string `json:"keep"`
}

// Command returns the case as one shell command line (a cron command or
// an ExecStart= line): Args joined with spaces, each quoted as a POSIX
// shell would need it.
func (c RedactionCase) Command() string {
	words := make([]string, len(c.Args))
	for i, a := range c.Args {
		words[i] = ShellQuote(a)
	}
	return strings.Join(words, " ")
}

// ShellQuote quotes s for a POSIX shell: unchanged when it holds only
// characters that need no quoting, else in single quotes.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// RedactionCases returns the redaction corpus: at least 60 command lines,
// each with its planted secret values.
func RedactionCases() []RedactionCase {
	var cs []RedactionCase
	if err := json.Unmarshal(redactionJSON, &cs); err != nil {
		panic(fmt.Sprintf("hostile: redaction.json: %v", err))
	}
	return cs
}

// Injection is one hostile string and where it attacks.
type Injection struct {
	Name string `json:"name"`
	// Context is where the string does harm: "terminal" (control,
	// escape, bidi and zero-width characters, invalid UTF-8), "csv"
	// (formula starters, quotes), "markdown" (backticks, pipes, links,
	// HTML) or "name" (strings that try to pass for an identifier:
	// path traversal, homoglyphs, separators).
	Context string `json:"context"`
	Value   string `json:"value"`
	// Hex holds the value in hex when it is not valid UTF-8 (JSON
	// cannot); Injections decodes it into Value.
	Hex string `json:"hex,omitempty"`
}

// Injections returns the injection corpus.
func Injections() []Injection {
	var is []Injection
	if err := json.Unmarshal(injectionJSON, &is); err != nil {
		panic(fmt.Sprintf("hostile: injection.json: %v", err))
	}
	for i := range is {
		if is[i].Hex != "" {
			b, err := hex.DecodeString(is[i].Hex)
			if err != nil {
				panic(fmt.Sprintf("hostile: injection.json: %s: %v", is[i].Name, err))
			}
			is[i].Value, is[i].Hex = string(b), ""
		}
	}
	return is
}

// InjectionStrings returns the values of [Injections].
func InjectionStrings() []string {
	is := Injections()
	out := make([]string, len(is))
	for i, in := range is {
		out[i] = in.Value
	}
	return out
}

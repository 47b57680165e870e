package hostile

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRedactionCases(t *testing.T) {
	cs := RedactionCases()
	if len(cs) < 30 {
		t.Fatalf("%d redaction cases, want at least 30", len(cs))
	}
	names := map[string]bool{}
	for _, c := range cs {
		if c.Name == "" || names[c.Name] {
			t.Errorf("case name %q is empty or repeated", c.Name)
		}
		names[c.Name] = true
		if len(c.Args) < 2 || len(c.Planted) == 0 {
			t.Errorf("%s: want a command with arguments and a planted value", c.Name)
		}
		line := strings.Join(c.Args, " ")
		for _, p := range c.Planted {
			if len(p) < 8 || !strings.Contains(line, p) {
				t.Errorf("%s: planted %q is shorter than 8 bytes or not in the command", c.Name, p)
			}
			// A planted value that is part of what must be kept could
			// not be both redacted and kept.
			for _, k := range c.Keep {
				if strings.Contains(k, p) || strings.Contains(p, k) && len(k) >= 8 {
					t.Errorf("%s: planted %q overlaps kept %q", c.Name, p, k)
				}
			}
		}
		for _, k := range c.Keep {
			if !strings.Contains(line, k) {
				t.Errorf("%s: kept %q is not in the command", c.Name, k)
			}
		}
	}
	// Each call returns a copy.
	cs[0].Args[0] = "changed"
	if RedactionCases()[0].Args[0] == "changed" {
		t.Error("RedactionCases shares its slices")
	}
}

func TestCommandQuoting(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"mysql", "-pX"}, "mysql -pX"},
		{[]string{"sh", "-c", "a b"}, "sh -c 'a b'"},
		{[]string{"echo", "it's"}, `echo 'it'\''s'`},
		{[]string{"echo", ""}, "echo ''"},
	}
	for _, tc := range cases {
		if got := (RedactionCase{Args: tc.args}).Command(); got != tc.want {
			t.Errorf("Command(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestInjections(t *testing.T) {
	is := Injections()
	contexts := map[string]int{}
	for _, in := range is {
		contexts[in.Context]++
		if in.Value == "" || in.Hex != "" {
			t.Errorf("%s: empty or undecoded value", in.Name)
		}
	}
	for _, c := range []string{"terminal", "csv", "markdown", "name"} {
		if contexts[c] == 0 {
			t.Errorf("no injection for context %s", c)
		}
	}
	vals := InjectionStrings()
	if len(vals) != len(is) {
		t.Fatalf("%d strings for %d injections", len(vals), len(is))
	}
	// The corpus covers what the brief of each renderer names.
	for _, want := range []string{"\x1b[2J", "\r", "\n", "\u202e", "\u2066", "\u2069", "\u200b", "\u200d", "\ufeff", "\u009b",
		"=HYPERLINK", "+cmd", "-2+3", "@SUM", "\t=", "`", "<img src=x onerror=alert(1)>"} {
		if !slices.ContainsFunc(vals, func(v string) bool { return strings.Contains(v, want) }) {
			t.Errorf("no injection string contains %q", want)
		}
	}
	if !slices.ContainsFunc(vals, func(v string) bool { return !utf8.ValidString(v) }) {
		t.Error("no invalid UTF-8 in the corpus")
	}
}

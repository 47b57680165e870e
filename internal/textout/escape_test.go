package textout

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"billing", "billing"},
		{"/var/lib/app data", "/var/lib/app data"},
		{"été", "été"},
		{"\x1b[2Jgone", `\x1b[2Jgone`},
		{"a\nb\tc\rd", `a\nb\tc\rd`},
		{"x\x7f\x00", `x\x7f\x00`},
		{"admin\u202egnp.exe", `admin\u202egnp.exe`},
		{"ro\u200bot", `ro\u200bot`},
		{"\ufeffbom", `\ufeffbom`},
		{"c1\u0085", `c1\u0085`},
		{"bad\xffutf8", `bad\xffutf8`},
	} {
		if got := Clean(tc.in); got != tc.want {
			t.Errorf("Clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := Clean(Clean(tc.in)); got != Clean(tc.in) {
			t.Errorf("Clean is not idempotent on %q", tc.in)
		}
	}
}

func TestCSVCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"billing", "billing"},
		{"-", "-"},
		{"=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"+1+1", "'+1+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", `\t=1`},
		{"\r=1", `\r=1`},
	} {
		if got := CSVCell(tc.in); got != tc.want {
			t.Errorf("CSVCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var b bytes.Buffer
	c := NewCSV(&b)
	c.Write([]string{"a,b", "=cmd|' /C calc'!A0", "x\ny"})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 1 || rows[0][0] != "a,b" || rows[0][1][0] != '\'' || rows[0][2] != `x\ny` {
		t.Errorf("csv rows %q, %v", rows, err)
	}
}

func TestMarkdown(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"team-billing", "team-billing"},
		{"secret_file", "secret_file"},
		{"_emph_", `\_emph\_`},
		{"<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"},
		{"a|b", `a\|b`},
		{"[x](javascript:y)", `\[x\](javascript:y)`},
		{"x`y", "x\\`y"},
	} {
		if got := Markdown(tc.in); got != tc.want {
			t.Errorf("Markdown(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"root@prod", "`root@prod`"},
		{"a`b", "``a`b``"},
		{"`<img onerror>`", "`` `<img onerror>` ``"},
		{"a``b", "```a``b```"},
	} {
		if got := MarkdownCode(tc.in); got != tc.want {
			t.Errorf("MarkdownCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFprintfAndRow(t *testing.T) {
	var b bytes.Buffer
	type status string
	Fprintf(&b, "%s|%v|%d|%s\n", "a\x1b[2J", status("s\nt"), 7, []string{"x\ty"})
	Row(&b, "h\tost", "ok")
	want := "a\\x1b[2J|s\\nt|7|[x\\ty]\nh\\tost\tok\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// hostileOutput reports a rune a terminal, spreadsheet or Markdown
// renderer would act on: any control character or hidden formatting rune.
func hostileOutput(s string) (rune, bool) {
	for _, r := range s {
		if unsafeRune(r, utf8.RuneLen(r)) {
			return r, true
		}
	}
	return 0, false
}

// FuzzClean checks what matters: nothing Clean, CSVCell, Markdown or
// MarkdownCode returns holds a control or hidden character; a CSV cell never
// starts a formula; a code span is never closed early.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"billing", "\x1b[2J", "a\nb", "\u202e", "=1+1", "`x`", "<img onerror=x>", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, out := range map[string]string{"Clean": Clean(s), "CSVCell": CSVCell(s), "Markdown": Markdown(s), "MarkdownCode": MarkdownCode(s)} {
			if r, bad := hostileOutput(out); bad {
				t.Fatalf("%s(%q) = %q keeps %U", name, s, out, r)
			}
		}
		if c := CSVCell(s); c != "-" && c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
			t.Fatalf("CSVCell(%q) = %q starts a formula", s, c)
		}
		code := MarkdownCode(s)
		n := strings.IndexFunc(code, func(r rune) bool { return r != '`' })
		if n < 0 { // the empty span
			return
		}
		fence := code[:n]
		inner := strings.TrimSuffix(strings.TrimPrefix(code, fence), fence)
		if strings.Contains(inner, fence) && !strings.Contains(inner, fence+"`") {
			t.Fatalf("MarkdownCode(%q) = %q closes early", s, code)
		}
	})
}

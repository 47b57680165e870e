package textout

import (
	"encoding/csv"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Clean returns s safe to show on a terminal or in a table cell: control
// characters (C0 including tab and newline, DEL, C1), bidirectional
// overrides and isolates, and zero-width characters become visible escapes
// (\x1b, \n, \u202e), and invalid UTF-8 bytes \xNN. Everything else is
// unchanged, so ordinary names and paths print as they are. Values from
// scanned hosts and requests are hostile until shown through Clean: an
// escape sequence can clear the screen, a newline can forge a table row, a
// bidi override can reverse what a name appears to say.
func Clean(s string) string {
	if !needsClean(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case hidden(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsClean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			// Non-ASCII needs a closer look; plain ASCII text does not.
			if c >= 0x80 {
				for _, r := range s[i:] {
					if r == utf8.RuneError || hidden(r) || r < 0x20 || r == 0x7f {
						return true
					}
				}
				return !utf8.ValidString(s)
			}
			return true
		}
	}
	return false
}

// hidden reports the non-ASCII runes that change how text around them
// displays without showing themselves: C1 controls, bidi marks, overrides
// and isolates, zero-width spaces and joiners, the BOM, line and paragraph
// separators.
func hidden(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// Fprintf formats like fmt.Fprintf with every string argument (of any
// string type, and every error's text) passed through Clean first; the
// format itself is the caller's and is written as is.
func Fprintf(w io.Writer, format string, args ...any) (int, error) {
	return fmt.Fprintf(w, format, cleanArgs(args)...)
}

func cleanArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = Clean(v)
		case []string:
			c := make([]string, len(v))
			for j := range v {
				c[j] = Clean(v[j])
			}
			out[i] = c
		case error:
			out[i] = Clean(v.Error())
		default:
			// Named string types (a status, a role) are strings too.
			if rv := reflect.ValueOf(a); rv.Kind() == reflect.String {
				if _, ok := a.(fmt.Stringer); !ok {
					out[i] = Clean(rv.String())
					continue
				}
			}
			out[i] = a
		}
	}
	return out
}

// CSVCell returns s safe as a spreadsheet cell (OWASP CSV injection): Clean,
// then a leading ' when the cell would start with =, +, -, @ (a formula to
// Excel, LibreOffice and Google Sheets). A lone "-" stays as is.
func CSVCell(s string) string {
	s = Clean(s)
	if len(s) > 0 && s != "-" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// CSV writes records through encoding/csv with every cell guarded by
// CSVCell. It keeps the first error.
type CSV struct {
	w   *csv.Writer
	err error
}

// NewCSV returns a CSV writer on w.
func NewCSV(w io.Writer) *CSV { return &CSV{w: csv.NewWriter(w)} }

// Write writes one record.
func (c *CSV) Write(record []string) {
	if c.err != nil {
		return
	}
	cells := make([]string, len(record))
	for i, s := range record {
		cells[i] = CSVCell(s)
	}
	c.err = c.w.Write(cells)
}

// Flush flushes and returns the first error.
func (c *CSV) Flush() error {
	c.w.Flush()
	if c.err != nil {
		return c.err
	}
	return c.w.Error()
}

// Markdown returns s as Markdown text that shows s literally: Clean, then
// the punctuation that could start inline markup (code, emphasis, links,
// table cells, strikethrough) is backslash-escaped and <, >, & become
// entities, so no HTML (an <img onerror>), link or emphasis can come out of
// a value. Values are inline text: block markup (# at a line start) cannot
// occur since Clean removed every newline.
func Markdown(s string) string {
	s = Clean(s)
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if r == '_' && i > 0 && i < len(rs)-1 && wordRune(rs[i-1]) && wordRune(rs[i+1]) {
			b.WriteRune(r) // intraword: never emphasis in CommonMark
			continue
		}
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\\', '`', '*', '_', '[', ']', '|', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func wordRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// MarkdownCode returns s as a Markdown code span: Clean, fenced with one
// more backtick than the longest run of backticks in s (CommonMark), and
// padded with a space when s starts or ends with a backtick, so nothing
// breaks out of the span.
func MarkdownCode(s string) string {
	s = Clean(s)
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// Row writes one tab-separated table row (for text/tabwriter), each cell
// passed through Clean so no value can add a column or a row.
func Row(w io.Writer, cells ...string) (int, error) {
	c := make([]string, len(cells))
	for i := range cells {
		c[i] = Clean(cells[i])
	}
	return io.WriteString(w, strings.Join(c, "\t")+"\n")
}

package textout

import (
	"encoding/csv"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// UnsafeAt returns the byte offset of the first character of s that is not
// safe to print in a terminal or a table, or -1 when every one is. Unsafe
// are bytes that are not UTF-8, control characters (C0 including tab and
// newline, DEL, C1), format characters (bidi controls such as U+202E and
// U+2066-U+2069, zero-width characters such as U+200B-U+200D and U+FEFF,
// tag characters), the line and paragraph separators U+2028 and U+2029,
// and U+FFFD, which stands for bytes that were not UTF-8.
func UnsafeAt(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, n) {
			return i
		}
		i += n
	}
	return -1
}

func unsafeRune(r rune, size int) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) ||
		r == '\u2028' || r == '\u2029' || size == 0
}

// Clean returns s with every unsafe character (see [UnsafeAt]) replaced by
// a visible escape: \t, \n and \r, \xNN for other ASCII controls and for
// bytes that are not UTF-8, \uNNNN or \UNNNNNNNN for the others. Everything
// else is unchanged, so ordinary names and paths print as they are; a
// backslash in s is not escaped. Values from scanned hosts and requests are
// hostile until shown through Clean: an escape sequence can clear the
// screen, a newline can forge a table row, a bidi override can reverse
// what a name appears to say.
func Clean(s string) string {
	i := UnsafeAt(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unsafeRune(r, n):
			b.WriteString(s[i : i+n])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < utf8.RuneSelf:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0xFFFF:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += n
	}
	return b.String()
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

// Fit returns Clean of s, shortened to at most max bytes at a
// character boundary and ending in "..." when it had to be shortened.
func Fit(s string, max int) string {
	s = Clean(s)
	if len(s) <= max {
		return s
	}
	const ellipsis = "..."
	if max < len(ellipsis) {
		return ellipsis[:max]
	}
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

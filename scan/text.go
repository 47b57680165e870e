package scan

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length limits of string fields, in bytes, by kind of field; [Validate]
// lists which field is of which kind. [Decode] refuses a longer string and
// the scanner shortens its own strings to fit (ending them in "...").
const (
	MaxShort   = 256   // names, versions, enumerations, groups, algorithms, addresses, key comments
	MaxPath    = 4096  // paths and locations (Linux's PATH_MAX), unit names, cron sources
	MaxText    = 4096  // reasons, evidence, findings, warning messages
	MaxCommand = 16384 // command lines: used_by details, sudo commands, authorized_keys options
)

// UnsafeAt returns the byte offset of the first character of s that is not
// safe to print in a terminal or a table, or -1 when every one is. Unsafe
// are bytes that are not UTF-8, control characters (C0 including tab and
// newline, DEL, C1), format characters (bidi controls such as U+202E and
// U+2066-U+2069, zero-width characters such as U+200B-U+200D and U+FEFF,
// tag characters), the line and paragraph separators U+2028 and U+2029,
// and U+FFFD, which stands for bytes that were not UTF-8.
//
// Every string field of a valid report is safe in this sense, so that no
// report can move a terminal's cursor, reorder what it shows or hide a
// character.
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

// CleanText returns s with every unsafe character (see [UnsafeAt])
// replaced by a printable escape: \t, \n and \r, \xNN for other ASCII
// controls and for bytes that are not UTF-8, \uNNNN or \UNNNNNNNN for the
// others. The result is safe and reads unambiguously, except that a
// backslash in s is not escaped.
func CleanText(s string) string {
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

// FitText returns [CleanText] of s, shortened to at most max bytes at a
// character boundary and ending in "..." when it had to be shortened.
func FitText(s string, max int) string {
	s = CleanText(s)
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

// textProblem says what is wrong with a string field of at most max bytes,
// or returns "". It never quotes the value, which may be huge or hostile.
func textProblem(s string, max int) string {
	if len(s) > max {
		return fmt.Sprintf("longer than %d bytes (%d)", max, len(s))
	}
	if i := UnsafeAt(s); i >= 0 {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return fmt.Sprintf("byte 0x%02x at byte %d is not UTF-8", s[i], i)
		}
		what := "control character"
		switch {
		case unicode.Is(unicode.Cf, r):
			what = "invisible format character (bidi, zero-width or tag)"
		case r == '\u2028' || r == '\u2029':
			what = "line or paragraph separator"
		case r == utf8.RuneError:
			what = "replacement character (the report had bytes that are not UTF-8)"
		}
		return fmt.Sprintf("%U (%s) at byte %d not allowed", r, what, i)
	}
	return ""
}

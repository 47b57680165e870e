package scan

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/rosterhq/roster/internal/textout"
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

// textProblem says what is wrong with a string field of at most max bytes,
// or returns "". It never quotes the value, which may be huge or hostile.
func textProblem(s string, max int) string {
	if len(s) > max {
		return fmt.Sprintf("longer than %d bytes (%d)", max, len(s))
	}
	if i := textout.UnsafeAt(s); i >= 0 {
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

package directory

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// userAccountControl flags (MS-ADTS 2.2.16).
const (
	uacAccountDisable            = 0x2
	uacPasswdNotReqd             = 0x20
	uacNormalAccount             = 0x200
	uacWorkstationTrust          = 0x1000
	uacServerTrust               = 0x2000
	uacDontExpirePassword        = 0x10000
	uacTrustedForDelegation      = 0x80000
	uacTrustedToAuthForDelegaton = 0x1000000
)

// flagNames are the flags reported, in report order.
var flagNames = []struct {
	bit  uint32
	name string
}{
	{uacAccountDisable, "ACCOUNTDISABLE"},
	{uacPasswdNotReqd, "PASSWD_NOTREQD"},
	{uacDontExpirePassword, "DONT_EXPIRE_PASSWORD"},
	{uacTrustedForDelegation, "TRUSTED_FOR_DELEGATION"},
	{uacTrustedToAuthForDelegaton, "TRUSTED_TO_AUTH_FOR_DELEGATION"},
}

// parseUAC decodes userAccountControl, a signed 32-bit decimal in AD.
func parseUAC(s string) (uint32, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) > 11 {
		return 0, fmt.Errorf("userAccountControl: %d characters, want at most 11", len(s))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < -1<<31 || n > 1<<32-1 {
		return 0, fmt.Errorf("userAccountControl: not a 32-bit number")
	}
	return uint32(n), nil
}

// uacFlags names the reported flags set in uac.
func uacFlags(uac uint32) []string {
	var out []string
	for _, f := range flagNames {
		if uac&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
}

// filetimeEpoch is 1601-01-01 UTC, the epoch of Windows FILETIME values.
var filetimeEpoch = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// filetimeToUnix is the number of seconds from 1601 to 1970.
const filetimeToUnix = 11644473600

// parseFiletime decodes a FILETIME (100 ns intervals since 1601) as AD
// stores pwdLastSet and lastLogonTimestamp. Zero and the "never" value
// (0x7FFFFFFFFFFFFFFF) return ok=false without an error.
func parseFiletime(s string) (t time.Time, ok bool, err error) {
	if s == "" {
		return time.Time{}, false, nil
	}
	if len(s) > 20 {
		return time.Time{}, false, fmt.Errorf("FILETIME: %d characters, want at most 20", len(s))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, false, fmt.Errorf("FILETIME: not a non-negative 64-bit number")
	}
	if n == 0 || n == 1<<63-1 {
		return time.Time{}, false, nil
	}
	// Seconds since 1601 to Unix seconds: a time.Duration spans only 292 years.
	return time.Unix(n/10_000_000-filetimeToUnix, n%10_000_000*100).UTC(), true, nil
}

// parseGeneralizedTime decodes an LDAP GeneralizedTime in the UTC forms
// directories use ("20260101120000Z", "20260101120000.0Z").
func parseGeneralizedTime(s string) (time.Time, error) {
	if len(s) > 32 {
		return time.Time{}, fmt.Errorf("GeneralizedTime: %d characters, want at most 32", len(s))
	}
	base, ok := strings.CutSuffix(s, "Z")
	if !ok {
		return time.Time{}, fmt.Errorf("GeneralizedTime: want UTC (a trailing Z)")
	}
	if i := strings.IndexByte(base, '.'); i >= 0 {
		frac := base[i+1:]
		if frac == "" || strings.Trim(frac, "0123456789") != "" {
			return time.Time{}, fmt.Errorf("GeneralizedTime: bad fraction")
		}
		base = base[:i]
	}
	t, err := time.Parse("20060102150405", base)
	if err != nil {
		return time.Time{}, fmt.Errorf("GeneralizedTime: want YYYYMMDDHHMMSSZ")
	}
	return t, nil
}

// parseShadowDays decodes shadowLastChange, days since 1970-01-01; 0 (the
// password must be changed) returns ok=false without an error.
func parseShadowDays(s string) (t time.Time, ok bool, err error) {
	if len(s) > 9 {
		return time.Time{}, false, fmt.Errorf("%d characters, want at most 9", len(s))
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return time.Time{}, false, fmt.Errorf("not a non-negative number of days")
	}
	if n == 0 {
		return time.Time{}, false, nil
	}
	return time.Unix(int64(n)*86400, 0).UTC(), true, nil
}

// SchemeCleartext is the scheme [passwordScheme] gives a userPassword
// value without a {SCHEME} prefix: the password itself.
const SchemeCleartext = "cleartext"

// passwordScheme names the scheme of a userPassword value ("{SSHA}",
// "{CRYPT}", "{PBKDF2-SHA512}"), or SchemeCleartext; it never returns any
// of the value beyond a well-formed scheme name.
func passwordScheme(v []byte) string {
	if len(v) < 3 || v[0] != '{' {
		return SchemeCleartext
	}
	end := bytes.IndexByte(v[:min(len(v), 34)], '}')
	if end < 2 {
		return SchemeCleartext
	}
	for _, c := range v[1:end] {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return SchemeCleartext
		}
	}
	return "{" + strings.ToUpper(string(v[1:end])) + "}"
}

package discovery

import (
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/scan"
)

// shadowEntry is one line of /etc/shadow. hash is secret: it is only ever
// fingerprinted, never copied into a report, warning or error.
type shadowEntry struct {
	Name string
	hash string
	// Aging fields in days; -1 when empty.
	LastChange, Min, Max, Warn, Inactive, Expire int
	Line                                         int
}

// parseShadow parses a shadow(5) file; see [colonFile] for what is
// skipped. A line has 9 fields; the glibc short form "name:hash" is
// accepted too. A bad aging field is warned about and treated as empty.
// Warnings never quote the hash field.
func parseShadow(file string, data []byte, w *warnings) []shadowEntry {
	var out []shadowEntry
	colonFile(file, data, w, []int{9, 2}, func(n int, f []string) {
		e := shadowEntry{Name: f[0], hash: f[1], LastChange: -1, Min: -1, Max: -1, Warn: -1, Inactive: -1, Expire: -1, Line: n}
		if len(f) == 9 {
			names := [...]string{"lastchg", "min", "max", "warn", "inactive", "expire"}
			dst := [...]*int{&e.LastChange, &e.Min, &e.Max, &e.Warn, &e.Inactive, &e.Expire}
			for i, name := range names {
				s := f[2+i]
				if s == "" {
					continue
				}
				v, err := strconv.ParseInt(s, 10, 32)
				if err != nil {
					w.add(file, n, "account %s: field %s is not a number of days (%q); treated as empty", f[0], name, clip(s))
					continue
				}
				if v < 0 {
					v = -1 // shadow-utils writes -1 for "not set"
				}
				*dst[i] = int(v)
			}
		}
		out = append(out, e)
	})
	return out
}

// neverExpires is the conventional "no maximum age" value.
const neverExpires = 99999

// hashAlgorithm names the crypt(5) scheme of a hash, or "" when h is not a
// hash any password could match.
func hashAlgorithm(h string) string {
	switch {
	case strings.HasPrefix(h, "$y$"):
		return "yescrypt"
	case strings.HasPrefix(h, "$gy$"):
		return "gost-yescrypt"
	case strings.HasPrefix(h, "$7$"):
		return "scrypt"
	case strings.HasPrefix(h, "$6$"):
		return "sha512"
	case strings.HasPrefix(h, "$5$"):
		return "sha256"
	case strings.HasPrefix(h, "$1$"):
		return "md5"
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"), strings.HasPrefix(h, "$2x$"):
		return "bcrypt"
	case strings.HasPrefix(h, "$sha1$"):
		return "sha1crypt"
	case strings.HasPrefix(h, "$md5"):
		return "sunmd5"
	case len(h) == 20 && h[0] == '_' && isCryptText(h[1:]):
		return "bsdicrypt"
	case len(h) == 13 && isCryptText(h):
		return "des"
	case strings.HasPrefix(h, "$"):
		// An unknown scheme: report its raw "$id$".
		if i := strings.IndexByte(h[1:], '$'); i > 0 && i <= 16 && isCryptText(h[1:1+i]) {
			return h[:i+2]
		}
	}
	return ""
}

// isCryptText reports whether s uses only crypt's base-64 alphabet.
func isCryptText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '/' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// day converts days since the epoch to a time.
func day(d int) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// decodePassword describes e's password without its hash, and returns the
// credential it amounts to (a usable hash or an empty field), or nil.
//
//   - ""                     empty: anyone may log in without a password
//   - "*", "!", "!!", "!*"   none: no password can match
//   - "!" + hash             locked: the hash is kept but cannot match
//   - a crypt(5) hash        usable, with its algorithm
//   - anything else          none (no password hashes to it), e.g. "x", "LK"
func decodePassword(e shadowEntry, file string, now time.Time, fp *Fingerprinter) (scan.Password, *scan.Credential) {
	p := scan.Password{Status: scan.PasswordNone}
	today := int(now.Unix() / 86400)
	if e.LastChange >= 0 {
		t := day(e.LastChange)
		age := today - e.LastChange
		p.LastChanged = &t
		p.AgeDays = &age
	}
	if e.Max >= 0 && e.Max < neverExpires {
		m := e.Max
		p.MaxDays = &m
	} else {
		p.NeverExpires = true
	}
	// shadow-utils' isexpired(): lastchg 0 forces a change at next login.
	if e.LastChange == 0 || (e.LastChange > 0 && p.MaxDays != nil && today >= e.LastChange+e.Max) {
		p.PasswordExpired = true
	}
	if e.Expire > 0 {
		t := day(e.Expire)
		p.AccountExpires = &t
		p.AccountExpired = today >= e.Expire
	}

	h := e.hash
	switch {
	case h == "":
		p.Status = scan.PasswordEmpty
		return p, &scan.Credential{
			Type:        scan.CredEmptyPassword,
			Location:    lineLoc(file, e.Line),
			Fingerprint: fp.Secret(nil),
			ChangedAt:   p.LastChanged,
			AgeDays:     p.AgeDays,
			Findings:    []string{"no password: login needs no secret"},
		}
	case h[0] == '!':
		if alg := hashAlgorithm(strings.TrimLeft(h, "!")); alg != "" {
			p.Status = scan.PasswordLocked
			p.Algorithm = alg
		}
		return p, nil
	}
	alg := hashAlgorithm(h)
	if alg == "" {
		return p, nil
	}
	p.Status = scan.PasswordUsable
	p.Algorithm = alg
	c := &scan.Credential{
		Type:        scan.CredPassword,
		Location:    lineLoc(file, e.Line),
		Fingerprint: fp.Secret([]byte(h)),
		Algorithm:   alg,
		ChangedAt:   p.LastChanged,
		AgeDays:     p.AgeDays,
	}
	switch alg {
	case "des", "md5", "bsdicrypt", "sunmd5", "sha1crypt":
		c.Findings = append(c.Findings, "weak hash algorithm "+alg)
	}
	if p.NeverExpires {
		c.Findings = append(c.Findings, "never expires")
	}
	return p, c
}

// lineLoc formats "file:line".
func lineLoc(file string, line int) string {
	return file + ":" + strconv.Itoa(line)
}

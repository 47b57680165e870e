// Package spiffeid is roster's one implementation of its names: the trust
// domain, host and account name rules, and the SPIFFE IDs built from them,
//
//	spiffe://TRUST_DOMAIN/host/HOST              a host's own identity
//	spiffe://TRUST_DOMAIN/host/HOST/sa/ACCOUNT   an account on a host
//
// Start with [New] to build an [ID] from names and [Parse] to read one back;
// [ValidateTrustDomain], [ValidateHost] and [ValidateAccount] check one name
// each. The scanner, the report decoder, the inventory, the issuer and the
// agent all apply these rules, so a name one of them accepts is accepted by
// all of them.
//
// # Names
//
// An account name ([ValidateAccount]) is 1 to [MaxAccountLen] bytes of
// A-Z a-z 0-9 '.' '_' '-', optionally ending in one '$' (Samba machine
// accounts such as "ws01$"). It may not start with '-' or '.', contain "..",
// or be all digits (it would read as a UID). Everything else is refused, in
// particular '/', '\', ':', '@' (roster's NAME@ENV separator), spaces,
// control characters, bidi controls and zero-width characters. Every
// account name that shadow-utils' useradd, Debian's adduser and systemd
// create is accepted, including "_apt", "Debian-exim" and
// "systemd-journal-remote".
//
// A host name ([ValidateHost]) is 1 to [MaxHostLen] bytes of dot-separated
// labels, each 1 to 63 bytes of A-Z a-z 0-9 '-' '_', not starting or ending
// with '-'. An empty label (a leading, trailing or doubled dot) is refused.
//
// A trust domain ([ValidateTrustDomain]) is 1 to [MaxTrustDomainLen] bytes
// of a-z 0-9 '.' '-' '_', the SPIFFE trust domain alphabet.
//
// # Identities
//
// SPIFFE path segments allow only A-Z a-z 0-9 '.' '-' '_', so an account
// whose name ends in '$' is a valid account name but cannot have an
// identity: [New] and [Parse] refuse it. Every ID this package formats or
// parses is a valid SPIFFE ID, and [Parse] of [ID.String] gives the ID back.
//
// # Errors
//
// Every failure is an [*Error] that names the rule, quotes the value
// (shortened) and gives the offending byte position, with the prefix
// "spiffeid:"; errors.Is(err, [ErrInvalid]) holds for all of them.
package spiffeid

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length limits, in bytes.
const (
	MaxTrustDomainLen = 255
	MaxHostLen        = 253
	MaxHostLabelLen   = 63
	MaxAccountLen     = 64
	// MaxIDLen is the longest SPIFFE ID the SPIFFE specification allows.
	MaxIDLen = 2048
)

// Scheme starts every SPIFFE ID.
const Scheme = "spiffe://"

// What an [Error] is about.
const (
	WhatTrustDomain = "trust domain"
	WhatHost        = "host name"
	WhatAccount     = "account name"
	WhatID          = "SPIFFE ID"
)

// ErrInvalid matches every error of this package with errors.Is.
var ErrInvalid = errors.New("spiffeid: invalid name")

// Error says which rule a name breaks.
type Error struct {
	What   string // WhatTrustDomain, WhatHost, WhatAccount or WhatID
	Value  string // the refused value, as given
	Pos    int    // byte offset of the offending character, or -1
	Reason string // "'/' not allowed", "empty", ...
	hint   string // the allowed characters, for character errors
}

func (e *Error) Error() string {
	s := "spiffeid: " + e.What + " " + quote(e.Value) + ": " + e.Reason
	if e.Pos >= 0 {
		s += " at byte " + strconv.Itoa(e.Pos)
	}
	if e.hint != "" {
		s += " (" + e.hint + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// quote shows a value in an error: quoted, so that control and bidi
// characters are escaped, and shortened, as the value may be hostile.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

func fail(what, value string, pos int, format string, args ...any) error {
	return &Error{What: what, Value: value, Pos: pos, Reason: fmt.Sprintf(format, args...)}
}

// badChar is the error for the character at value[pos].
func badChar(what, value string, pos int, hint string) error {
	return &Error{What: what, Value: value, Pos: pos, Reason: describe(value, pos) + " not allowed", hint: hint}
}

// describe names the character at s[i] for an error: '/' for printable
// ASCII, "U+202E (bidi control)" for others.
func describe(s string, i int) string {
	r, _ := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == utf8.RuneError:
		return fmt.Sprintf("byte 0x%02x (not UTF-8)", s[i])
	case r == ' ':
		return "space"
	case r < utf8.RuneSelf && unicode.IsPrint(r):
		return "'" + string(r) + "'"
	case isBidi(r):
		return fmt.Sprintf("%U (bidi control)", r)
	case isZeroWidth(r):
		return fmt.Sprintf("%U (zero-width character)", r)
	case unicode.IsControl(r):
		return fmt.Sprintf("%U (control character)", r)
	case unicode.IsSpace(r):
		return fmt.Sprintf("%U (space)", r)
	}
	return fmt.Sprintf("%U (non-ASCII)", r)
}

// isBidi reports whether r is a bidirectional formatting character, as used
// in "Trojan Source" attacks: LRM, RLM, ALM, the embeddings and overrides
// U+202A-U+202E and the isolates U+2066-U+2069.
func isBidi(r rune) bool {
	return r == 0x200E || r == 0x200F || r == 0x061C || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}

// isZeroWidth reports whether r is an invisible zero-width character.
func isZeroWidth(r rune) bool {
	return r >= 0x200B && r <= 0x200D || r == 0x2060 || r == 0xFEFF
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ValidateAccount checks an account name against roster's one account name
// rule; see the package documentation.
func ValidateAccount(name string) error {
	const w = WhatAccount
	if name == "" {
		return fail(w, name, -1, "empty")
	}
	if len(name) > MaxAccountLen {
		return fail(w, name, -1, "longer than %d bytes", MaxAccountLen)
	}
	digits := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= '0' && c <= '9':
		case isAlnum(c) || c == '.' || c == '_' || c == '-':
			digits = false
		case c == '$' && i == len(name)-1 && i > 0:
			digits = false
		case c == '$':
			return fail(w, name, i, "'$' allowed only at the end")
		default:
			return badChar(w, name, i, "use A-Z a-z 0-9 . _ -, and '$' at the end")
		}
	}
	switch {
	case name[0] == '-' || name[0] == '.':
		return fail(w, name, 0, "may not start with '%c'", name[0])
	case strings.Contains(name, ".."):
		return fail(w, name, strings.Index(name, ".."), "'..' not allowed")
	case digits:
		return fail(w, name, -1, "all digits: it would read as a UID")
	}
	return nil
}

// ValidateHost checks a host name; see the package documentation.
func ValidateHost(host string) error {
	const w = WhatHost
	if host == "" {
		return fail(w, host, -1, "empty")
	}
	if len(host) > MaxHostLen {
		return fail(w, host, -1, "longer than %d bytes", MaxHostLen)
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return badChar(w, host, i, "use A-Z a-z 0-9 - _, and dots between labels")
		}
	}
	off := 0 // offset of the label in host
	for _, label := range strings.Split(host, ".") {
		switch {
		case label == "" && off == 0:
			return fail(w, host, 0, "may not start with '.'")
		case label == "" && off == len(host):
			return fail(w, host, off-1, "may not end with '.'")
		case label == "":
			return fail(w, host, off-1, "'..' not allowed")
		case len(label) > MaxHostLabelLen:
			return fail(w, host, off, "label longer than %d bytes", MaxHostLabelLen)
		case label[0] == '-':
			return fail(w, host, off, "label may not start with '-'")
		case label[len(label)-1] == '-':
			return fail(w, host, off+len(label)-1, "label may not end with '-'")
		}
		off += len(label) + 1
	}
	return nil
}

// ValidateTrustDomain checks a SPIFFE trust domain name: 1 to 255 bytes of
// a-z 0-9 '.' '-' '_'.
func ValidateTrustDomain(td string) error {
	const w = WhatTrustDomain
	if td == "" {
		return fail(w, td, -1, "empty")
	}
	if len(td) > MaxTrustDomainLen {
		return fail(w, td, -1, "longer than %d bytes", MaxTrustDomainLen)
	}
	for i := 0; i < len(td); i++ {
		if c := td[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return badChar(w, td, i, "use a-z 0-9 . - _")
		}
	}
	return nil
}

// ID is a roster identity. Build one with [New] or [Parse]; the zero ID is
// not valid.
type ID struct {
	TrustDomain string
	Host        string
	Account     string // "" for the host's own identity
}

// New checks the names and returns the identity of account on host, or of
// the host itself when account is "".
func New(trustDomain, host, account string) (ID, error) {
	if err := ValidateTrustDomain(trustDomain); err != nil {
		return ID{}, err
	}
	if err := ValidateHost(host); err != nil {
		return ID{}, err
	}
	if account != "" {
		if err := ValidateAccount(account); err != nil {
			return ID{}, err
		}
		if i := strings.IndexByte(account, '$'); i >= 0 {
			return ID{}, fail(WhatAccount, account, i, "'$' not allowed in a SPIFFE ID (path segments allow A-Z a-z 0-9 . - _ only)")
		}
	}
	return ID{TrustDomain: trustDomain, Host: host, Account: account}, nil
}

// IsHost reports whether id is a host's own identity.
func (id ID) IsHost() bool { return id.Account == "" }

// HostID returns the identity of id's host.
func (id ID) HostID() ID { return ID{TrustDomain: id.TrustDomain, Host: id.Host} }

// String formats the SPIFFE ID: spiffe://TD/host/HOST[/sa/ACCOUNT].
func (id ID) String() string {
	s := Scheme + id.TrustDomain + "/host/" + id.Host
	if id.Account != "" {
		s += "/sa/" + id.Account
	}
	return s
}

// URL is the SPIFFE ID as a URL, for a certificate's URI SAN.
func (id ID) URL() *url.URL {
	u := &url.URL{Scheme: "spiffe", Host: id.TrustDomain, Path: "/host/" + id.Host}
	if id.Account != "" {
		u.Path += "/sa/" + id.Account
	}
	return u
}

// Parse reads a SPIFFE ID of one of the two forms roster issues and refuses
// anything else: other schemes, user info, ports, queries, fragments,
// percent-encoding, empty or extra path segments, and names that break the
// rules of [New].
func Parse(s string) (ID, error) {
	if len(s) > MaxIDLen {
		return ID{}, fail(WhatID, s, -1, "longer than %d bytes", MaxIDLen)
	}
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return ID{}, fail(WhatID, s, 0, "does not start with %s", Scheme)
	}
	td, p, ok := strings.Cut(rest, "/")
	if !ok {
		return ID{}, fail(WhatID, s, -1, "no path: want %sTD/host/HOST or %sTD/host/HOST/sa/ACCOUNT", Scheme, Scheme)
	}
	seg := strings.Split(p, "/")
	var host, account string
	switch {
	case len(seg) == 2 && seg[0] == "host":
		host = seg[1]
	case len(seg) == 4 && seg[0] == "host" && seg[2] == "sa":
		host, account = seg[1], seg[3]
		if account == "" {
			return ID{}, fail(WhatAccount, account, -1, "empty")
		}
	default:
		return ID{}, fail(WhatID, s, len(Scheme)+len(td), "path must be /host/HOST or /host/HOST/sa/ACCOUNT")
	}
	return New(td, host, account)
}

// ParseURL parses a certificate's URI SAN with [Parse].
func ParseURL(u *url.URL) (ID, error) {
	if u == nil {
		return ID{}, fail(WhatID, "", -1, "no URI")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || u.RawPath != "" || u.ForceQuery {
		return ID{}, fail(WhatID, u.String(), -1, "has parts a SPIFFE ID may not have (user info, query, fragment or escapes)")
	}
	return Parse(u.String())
}

package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// DefaultMaxBytes is the size limit Decode applies when given maxBytes <= 0.
const DefaultMaxBytes = 8 << 20

// ErrTooLarge is returned (wrapped in a *ValidationError) when a report
// exceeds the size limit. Servers map it to 413.
var ErrTooLarge = errors.New("report too large")

// ValidationError says which field of a report is wrong. Field is a JSON
// path such as "accounts[3].credentials[0].type"; it is empty for errors
// about the document as a whole. Servers map it to 400 (413 when it wraps
// ErrTooLarge).
type ValidationError struct {
	Field  string
	Reason string
	Err    error // an underlying cause, if any
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "invalid report: " + e.Reason
	}
	return e.Field + ": " + e.Reason
}

func (e *ValidationError) Unwrap() error { return e.Err }

// Decode reads one JSON report of at most maxBytes bytes (DefaultMaxBytes
// when maxBytes <= 0) and validates it with [Validate].
//
// Unknown fields are ignored: within one schema version, fields are only
// ever added, so a newer scanner's report stays readable by an older server.
// An unknown schema_version is refused, as is anything after the document.
func Decode(r io.Reader, maxBytes int64) (*Report, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	buf, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	if int64(len(buf)) > maxBytes {
		return nil, &ValidationError{Reason: fmt.Sprintf("larger than %d bytes", maxBytes), Err: ErrTooLarge}
	}
	dec := json.NewDecoder(bytes.NewReader(buf))
	var rep Report
	derr := dec.Decode(&rep)
	if derr != nil || rep.SchemaVersion != SchemaVersion {
		// The version decides how to read the rest, so a wrong or missing
		// version is reported before anything it may have caused.
		var head struct {
			SchemaVersion *int `json:"schema_version"`
		}
		if json.NewDecoder(bytes.NewReader(buf)).Decode(&head) == nil {
			if head.SchemaVersion == nil {
				return nil, &ValidationError{Field: "schema_version", Reason: "missing"}
			}
			if *head.SchemaVersion != SchemaVersion {
				return nil, &ValidationError{Field: "schema_version",
					Reason: fmt.Sprintf("unsupported version %d (this server reads version %d)", *head.SchemaVersion, SchemaVersion)}
			}
		}
		if derr != nil {
			return nil, jsonError(buf, derr)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &ValidationError{Reason: "unexpected data after the report"}
	}
	if err := Validate(&rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

func jsonError(buf []byte, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &ValidationError{Field: te.Field, Reason: fmt.Sprintf("expected %s, got JSON %s", te.Type, te.Value), Err: err}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(buf[:min(int(se.Offset), len(buf))], []byte("\n"))
		return &ValidationError{Reason: fmt.Sprintf("malformed JSON at line %d: %v", line, se), Err: err}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &ValidationError{Reason: "truncated JSON", Err: err}
	}
	return &ValidationError{Reason: err.Error(), Err: err}
}

var (
	kinds      = set(KindHuman, KindService, KindSystem)
	credTypes  = set(CredPassword, CredEmptyPassword, CredSSHAuthorizedKey, CredSSHPrivateKey, CredSecretFile, CredSecretEnv)
	usageTypes = set(UsageSystemd, UsageCron, UsageProcess)
	pwStatus   = set(PasswordUsable, PasswordEmpty, PasswordLocked, PasswordNone, PasswordUnknown, "")
	protos     = set("tcp", "tcp6", "udp", "udp6")
)

// IsCredType reports whether t is one of the Cred* credential types.
func IsCredType(t string) bool { return credTypes[t] }

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Validate checks a report against the schema: the version, the host's
// identity, unique account names, known kinds and types, and fingerprints
// in one of the two documented forms (so raw secret material is refused).
// The first problem is returned as a *ValidationError.
func Validate(r *Report) error {
	v := &validator{}
	v.report(r)
	return v.err
}

type validator struct{ err error }

func (v *validator) fail(field, format string, args ...any) {
	if v.err == nil {
		v.err = &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
}

// name checks a string used as an identifier (a key in the inventory).
func (v *validator) name(field, s string, max int) {
	if reason := nameProblem(s, max); reason != "" {
		v.fail(field, "%s", reason)
	}
}

// nameProblem says what is wrong with a string used as an identifier, or
// returns "" when nothing is.
func nameProblem(s string, max int) string {
	switch {
	case s == "":
		return "missing"
	case len(s) > max:
		return fmt.Sprintf("longer than %d bytes", max)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == unicode.ReplacementChar }) >= 0:
		return fmt.Sprintf("%q contains whitespace or control characters", s)
	}
	return ""
}

func (v *validator) report(r *Report) {
	if r.SchemaVersion != SchemaVersion {
		v.fail("schema_version", "unsupported version %d (this server reads version %d)", r.SchemaVersion, SchemaVersion)
	}
	v.name("host.hostname", r.Host.Hostname, 253)
	if r.Host.MachineID != "" {
		v.name("host.machine_id", r.Host.MachineID, 128)
	}
	if r.Host.ScannedAt.IsZero() {
		v.fail("host.scanned_at", "missing")
	}
	seen := map[string]int{}
	for i := range r.Accounts {
		a := &r.Accounts[i]
		// Field paths are built only for a failing check: most reports
		// have none.
		f := func() string { return fmt.Sprintf("accounts[%d]", i) }
		if reason := nameProblem(a.Name, 256); reason != "" {
			v.fail(f()+".name", "%s", reason)
		}
		if j, dup := seen[a.Name]; dup && a.Name != "" {
			v.fail(f()+".name", "duplicate account %q (also accounts[%d])", a.Name, j)
		}
		seen[a.Name] = i
		if !kinds[a.Kind] {
			v.fail(f()+".kind", "unknown account kind %q", a.Kind)
		}
		if !pwStatus[a.Password.Status] {
			v.fail(f()+".password.status", "unknown password status %q", a.Password.Status)
		}
		for j, c := range a.Credentials {
			cf := func() string { return fmt.Sprintf("%s.credentials[%d]", f(), j) }
			if !credTypes[c.Type] {
				v.fail(cf()+".type", "unknown credential type %q", c.Type)
			}
			if c.Fingerprint != "" && !validFingerprint(c.Fingerprint) {
				v.fail(cf()+".fingerprint", `not a fingerprint: want "hmac-sha256:..." or "SHA256:..."`)
			}
			if c.Type != CredEmptyPassword && c.Fingerprint == "" {
				v.fail(cf()+".fingerprint", "missing")
			}
		}
		for j, u := range a.UsedBy {
			if !usageTypes[u.Type] {
				v.fail(fmt.Sprintf("%s.used_by[%d].type", f(), j), "unknown usage type %q", u.Type)
			}
			if u.Count < 0 {
				v.fail(fmt.Sprintf("%s.used_by[%d].count", f(), j), "%d is negative", u.Count)
			}
		}
		for j, s := range a.Exposure.Listening {
			sf := func() string { return fmt.Sprintf("%s.exposure.listening[%d]", f(), j) }
			if !protos[s.Proto] {
				v.fail(sf()+".proto", "unknown protocol %q", s.Proto)
			}
			if s.Port < 0 || s.Port > 65535 {
				v.fail(sf()+".port", "%d out of range", s.Port)
			}
		}
	}
	for i, s := range r.Shared {
		if !validFingerprint(s.Fingerprint) {
			v.fail(fmt.Sprintf("shared_credentials[%d].fingerprint", i), `not a fingerprint: want "hmac-sha256:..." or "SHA256:..."`)
		}
	}
}

// validFingerprint accepts "hmac-sha256:" + base64url and "SHA256:" + base64.
func validFingerprint(s string) bool {
	var rest string
	var ok bool
	if rest, ok = strings.CutPrefix(s, FingerprintPrefix); !ok {
		if rest, ok = strings.CutPrefix(s, "SHA256:"); !ok {
			return false
		}
	}
	if len(rest) < 16 || len(rest) > 128 {
		return false
	}
	for _, r := range rest {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("+/=-_", r)) {
			return false
		}
	}
	return true
}

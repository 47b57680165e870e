package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rosterhq/roster/spiffeid"
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
	kinds      = set(KindHuman, KindService, KindSystem, KindDirectory)
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
// identity, unique account names, known kinds and types, fingerprints in
// one of the two documented forms (so raw secret material is refused), and
// every string field's length and characters. The first problem is
// returned as a *ValidationError whose Field is the JSON path of the field
// ("accounts[3].name"); reasons never quote a long or free-text value.
//
// String fields are of five kinds:
//
//	kind      limit        fields
//	host      253 bytes    host.hostname (spiffeid.ValidateHost; required)
//	account   64 bytes     accounts[].name, shared_credentials[].accounts[] (spiffeid.ValidateAccount)
//	short     MaxShort     scanner.name, scanner.version, host.machine_id, host.os.*,
//	                       accounts[].primary_group, groups[], password.algorithm,
//	                       sudo[].via, hosts[], run_as[], run_as_group[], password_of,
//	                       credentials[].name, algorithm, mode, unit, used_by[].schedule,
//	                       exposure.listening[].address, process, shared_credentials[].type,
//	                       host.sshd.trusted_user_ca_keys[].type, match_blocks[].sets[],
//	                       accounts[].ssh_certificate_login.principals[],
//	                       accounts[].directory.object_class, spns[], flags[]
//	path      MaxPath      host.root, accounts[].home, shell, sudo[].source,
//	                       credentials[].location, used_by[].name, used_by[].source,
//	                       shared_credentials[].locations[], warnings[].file,
//	                       host.sshd.trusted_user_ca_keys_file, trusted_user_ca_keys[].location,
//	                       authorized_principals_file, revoked_keys.path, host_certificates[],
//	                       match_blocks[].location, ssh_certificate_login.principals_file,
//	                       accounts[].directory.dn
//	text      MaxText      accounts[].kind_evidence[], privilege_reasons[],
//	                       sensitive_read_reasons[], exposure.ssh_reasons[],
//	                       credentials[].findings[], warnings[].message,
//	                       host.sshd.match_blocks[].criteria
//	command   MaxCommand   used_by[].detail, sudo[].commands[], credentials[].options[]
//
// Every string must also be safe to print (see [textout.UnsafeAt]): no control,
// bidi, zero-width or other invisible format characters and only UTF-8.
// SSH key fingerprints (host.sshd.trusted_user_ca_keys[].fingerprint,
// ssh_certificate_login.ca_fingerprints[]) must be "SHA256:" ones, and
// host.sshd.revoked_keys.format one of the Revoked* formats.
// host.scanned_at must be set; how far it may be from the receiver's clock
// is the receiver's decision.
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

// Field paths are built only for a failing check (field is called then):
// most reports have none.

// str checks a string field of at most max bytes.
func (v *validator) str(field func() string, s string, max int) {
	if v.err != nil {
		return
	}
	if reason := textProblem(s, max); reason != "" {
		v.fail(field(), "%s", reason)
	}
}

// strs checks the strings of a list field named name.
func (v *validator) strs(field func() string, name string, ss []string, max int) {
	for j, s := range ss {
		v.str(func() string { return fmt.Sprintf("%s.%s[%d]", field(), name, j) }, s, max)
	}
}

// named checks a name against a spiffeid rule.
func (v *validator) named(field func() string, s string, check func(string) error) {
	if v.err != nil {
		return
	}
	if err := check(s); err != nil {
		v.err = &ValidationError{Field: field(), Reason: err.Error(), Err: err}
	}
}

func at(path string) func() string { return func() string { return path } }

func (v *validator) report(r *Report) {
	if r.SchemaVersion != SchemaVersion {
		v.fail("schema_version", "unsupported version %d (this server reads version %d)", r.SchemaVersion, SchemaVersion)
	}
	v.str(at("scanner.name"), r.Scanner.Name, MaxShort)
	v.str(at("scanner.version"), r.Scanner.Version, MaxShort)
	if r.Host.Hostname == "" {
		v.fail("host.hostname", "missing")
	}
	v.named(at("host.hostname"), r.Host.Hostname, spiffeid.ValidateHost)
	if r.Host.MachineID != "" {
		v.str(at("host.machine_id"), r.Host.MachineID, 128)
		if strings.ContainsAny(r.Host.MachineID, " ") {
			v.fail("host.machine_id", "contains a space")
		}
	}
	v.str(at("host.os.id"), r.Host.OS.ID, MaxShort)
	v.str(at("host.os.id_like"), r.Host.OS.IDLike, MaxShort)
	v.str(at("host.os.version_id"), r.Host.OS.VersionID, MaxShort)
	v.str(at("host.os.pretty_name"), r.Host.OS.PrettyName, MaxShort)
	v.str(at("host.root"), r.Host.Root, MaxPath)
	if r.Host.ScannedAt.IsZero() {
		v.fail("host.scanned_at", "missing")
	}
	if r.Host.SSHD != nil {
		v.sshd(r.Host.SSHD)
	}
	seen := make(map[string]int, len(r.Accounts))
	for i := range r.Accounts {
		a := &r.Accounts[i]
		f := func() string { return fmt.Sprintf("accounts[%d]", i) }
		sub := func(name string) func() string { return func() string { return f() + "." + name } }
		if a.Name == "" {
			v.fail(f()+".name", "missing")
		}
		v.named(sub("name"), a.Name, spiffeid.ValidateAccount)
		if j, dup := seen[a.Name]; dup && a.Name != "" {
			v.fail(f()+".name", "duplicate account %q (also accounts[%d])", a.Name, j)
		}
		seen[a.Name] = i
		v.account(f, sub, a)
	}
	for i, s := range r.Shared {
		f := func() string { return fmt.Sprintf("shared_credentials[%d]", i) }
		if !validFingerprint(s.Fingerprint) {
			v.fail(f()+".fingerprint", `not a fingerprint: want "hmac-sha256:..." or "SHA256:..."`)
		}
		v.str(func() string { return f() + ".type" }, s.Type, MaxShort)
		for j, name := range s.Accounts {
			v.named(func() string { return fmt.Sprintf("%s.accounts[%d]", f(), j) }, name, spiffeid.ValidateAccount)
		}
		v.strs(f, "locations", s.Locations, MaxPath)
	}
	for i, w := range r.Warnings {
		f := func() string { return fmt.Sprintf("warnings[%d]", i) }
		v.str(func() string { return f() + ".file" }, w.File, MaxPath)
		v.str(func() string { return f() + ".message" }, w.Message, MaxText)
	}
}

// account checks the fields of one account but its name.
func (v *validator) account(f func() string, sub func(string) func() string, a *Account) {
	if !kinds[a.Kind] {
		v.fail(f()+".kind", "unknown account kind %q", a.Kind)
	}
	v.str(sub("primary_group"), a.PrimaryGroup, MaxShort)
	v.strs(f, "groups", a.Groups, MaxShort)
	v.str(sub("home"), a.Home, MaxPath)
	v.str(sub("shell"), a.Shell, MaxPath)
	v.str(sub("gecos"), a.GECOS, MaxText)
	v.strs(f, "kind_evidence", a.KindEvidence, MaxText)
	v.strs(f, "privilege_reasons", a.PrivilegeReasons, MaxText)
	v.strs(f, "sensitive_read_reasons", a.SensitiveReadReasons, MaxText)
	for j, rule := range a.Sudo {
		sf := func() string { return fmt.Sprintf("%s.sudo[%d]", f(), j) }
		v.str(func() string { return sf() + ".source" }, rule.Source, MaxPath)
		v.str(func() string { return sf() + ".via" }, rule.Via, MaxShort)
		v.strs(sf, "hosts", rule.Hosts, MaxShort)
		v.strs(sf, "run_as", rule.RunAs, MaxShort)
		v.strs(sf, "run_as_group", rule.RunAsGroup, MaxShort)
		v.strs(sf, "commands", rule.Commands, MaxCommand)
		v.str(func() string { return sf() + ".password_of" }, rule.PasswordOf, MaxShort)
	}
	if !pwStatus[a.Password.Status] {
		v.fail(f()+".password.status", "unknown password status %q", a.Password.Status)
	}
	v.str(sub("password.algorithm"), a.Password.Algorithm, MaxShort)
	for j, c := range a.Credentials {
		cf := func() string { return fmt.Sprintf("%s.credentials[%d]", f(), j) }
		csub := func(name string) func() string { return func() string { return cf() + "." + name } }
		if !credTypes[c.Type] {
			v.fail(cf()+".type", "unknown credential type %q", c.Type)
		}
		if c.Fingerprint != "" && !validFingerprint(c.Fingerprint) {
			v.fail(cf()+".fingerprint", `not a fingerprint: want "hmac-sha256:..." or "SHA256:..."`)
		}
		if c.Type != CredEmptyPassword && c.Fingerprint == "" {
			v.fail(cf()+".fingerprint", "missing")
		}
		v.str(csub("location"), c.Location, MaxPath)
		v.str(csub("name"), c.Name, MaxShort)
		v.str(csub("algorithm"), c.Algorithm, MaxShort)
		v.strs(cf, "options", c.Options, MaxCommand)
		v.str(csub("mode"), c.Mode, MaxShort)
		v.strs(cf, "findings", c.Findings, MaxText)
		v.str(csub("unit"), c.Unit, MaxShort)
	}
	for j, u := range a.UsedBy {
		uf := func() string { return fmt.Sprintf("%s.used_by[%d]", f(), j) }
		usub := func(name string) func() string { return func() string { return uf() + "." + name } }
		if !usageTypes[u.Type] {
			v.fail(uf()+".type", "unknown usage type %q", u.Type)
		}
		if u.Count < 0 {
			v.fail(uf()+".count", "%d is negative", u.Count)
		}
		v.str(usub("name"), u.Name, MaxPath)
		v.str(usub("detail"), u.Detail, MaxCommand)
		v.str(usub("schedule"), u.Schedule, MaxShort)
		v.str(usub("source"), u.Source, MaxPath)
		v.str(usub("description"), u.Description, MaxText)
	}
	for j, s := range a.Exposure.Listening {
		sf := func() string { return fmt.Sprintf("%s.exposure.listening[%d]", f(), j) }
		if !protos[s.Proto] {
			v.fail(sf()+".proto", "unknown protocol %q", s.Proto)
		}
		if s.Port < 0 || s.Port > 65535 {
			v.fail(sf()+".port", "%d out of range", s.Port)
		}
		v.str(func() string { return sf() + ".address" }, s.Address, MaxShort)
		v.str(func() string { return sf() + ".process" }, s.Process, MaxShort)
	}
	v.strs(sub("exposure"), "ssh_reasons", a.Exposure.SSHReasons, MaxText)
	if d := a.Directory; d != nil {
		df := sub("directory")
		v.str(func() string { return df() + ".dn" }, d.DN, MaxPath)
		v.str(func() string { return df() + ".object_class" }, d.ObjectClass, MaxShort)
		v.strs(df, "spns", d.SPNs, MaxShort)
		v.strs(df, "flags", d.Flags, MaxShort)
	}
	if l := a.SSHCertLogin; l != nil {
		lf := sub("ssh_certificate_login")
		v.str(func() string { return lf() + ".principals_file" }, l.PrincipalsFile, MaxPath)
		v.strs(lf, "principals", l.Principals, MaxShort)
		for j, fp := range l.CAFingerprints {
			if !validSSHFingerprint(fp) {
				v.fail(fmt.Sprintf("%s.ca_fingerprints[%d]", lf(), j), `not an SSH fingerprint: want "SHA256:..."`)
			}
		}
	}
}

var revokedFormats = set(RevokedKRL, RevokedKeyList, RevokedEmpty, "")

// sshd checks host.sshd.
func (v *validator) sshd(s *SSHD) {
	v.str(at("host.sshd.trusted_user_ca_keys_file"), s.TrustedUserCAKeysFile, MaxPath)
	for i, k := range s.TrustedUserCAKeys {
		f := func() string { return fmt.Sprintf("host.sshd.trusted_user_ca_keys[%d]", i) }
		v.str(func() string { return f() + ".type" }, k.Type, MaxShort)
		if !validSSHFingerprint(k.Fingerprint) {
			v.fail(f()+".fingerprint", `not an SSH fingerprint: want "SHA256:..."`)
		}
		v.str(func() string { return f() + ".location" }, k.Location, MaxPath)
	}
	v.str(at("host.sshd.authorized_principals_file"), s.AuthorizedPrincipalsFile, MaxPath)
	if rk := s.RevokedKeys; rk != nil {
		v.str(at("host.sshd.revoked_keys.path"), rk.Path, MaxPath)
		if rk.Size < 0 {
			v.fail("host.sshd.revoked_keys.size", "%d is negative", rk.Size)
		}
		if !revokedFormats[rk.Format] {
			v.fail("host.sshd.revoked_keys.format", "unknown format %q", rk.Format)
		}
	}
	v.strs(at("host.sshd"), "host_certificates", s.HostCertificates, MaxPath)
	for i, m := range s.MatchBlocks {
		f := func() string { return fmt.Sprintf("host.sshd.match_blocks[%d]", i) }
		v.str(func() string { return f() + ".location" }, m.Location, MaxPath)
		v.str(func() string { return f() + ".criteria" }, m.Criteria, MaxText)
		v.strs(f, "sets", m.Sets, MaxShort)
	}
}

// validSSHFingerprint accepts only the "SHA256:" form of validFingerprint.
func validSSHFingerprint(s string) bool {
	return strings.HasPrefix(s, "SHA256:") && validFingerprint(s)
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

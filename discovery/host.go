package discovery

import (
	"errors"
	"strings"

	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/spiffeid"
)

// parseOSRelease parses an os-release(5) file: KEY=value lines, values
// optionally in single or double quotes, backslash escapes in double
// quotes, '#' comments. Malformed lines are warned about and skipped.
func parseOSRelease(file string, data []byte, w *warnings) map[string]string {
	out := make(map[string]string)
	lines(data, func(n int, line string) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			return
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			w.add(file, n, "want KEY=value; line skipped")
			return
		}
		if !validEnvName(k) {
			w.add(file, n, "invalid variable name %q; line skipped", clip(k))
			return
		}
		val, err := shellUnquote(v)
		if err != nil {
			w.add(file, n, "%s: %v; line skipped", k, err)
			return
		}
		out[k] = val
	})
	return out
}

// validEnvName reports whether s is a shell variable name.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// shellUnquote decodes the single shell word that os-release allows: a
// mix of bare text, '...' and "..." with \ escapes.
func shellUnquote(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", errors.New("unterminated single quote")
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$\"\\`", s[i+1]) >= 0 {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return "", errors.New("unterminated double quote")
			}
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case ' ', '\t':
			return "", errors.New("unquoted whitespace in value")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// readHost reads the host identity from the root: os-release (from
// /etc/os-release, else /usr/lib/os-release), /etc/hostname and
// /etc/machine-id (else /var/lib/dbus/machine-id).
func readHost(r *Root, w *warnings) scan.Host {
	var h scan.Host
	for _, f := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if data, _, _ := readOptional(r, w, f, "unreadable"); data != nil {
			kv := parseOSRelease(f, data, w)
			h.OS = scan.OS{ID: kv["ID"], IDLike: kv["ID_LIKE"], VersionID: kv["VERSION_ID"], PrettyName: kv["PRETTY_NAME"]}
			break
		}
	}
	if data, _, _ := readOptional(r, w, "/etc/hostname", "unreadable"); data != nil {
		h.Hostname = parseHostname("/etc/hostname", data, w)
	}
	for _, f := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		data, _, _ := readOptional(r, w, f, "unreadable")
		id := strings.TrimSpace(string(data))
		switch {
		case id == "" || id == "uninitialized":
			continue // absent, or first boot has not happened yet
		case !isMachineID(id):
			w.add(f, 1, "not a machine ID (want 32 lowercase hex digits)")
			continue
		}
		h.MachineID = id
		break
	}
	return h
}

// parseHostname returns the first non-comment line of hostname(5) when it
// is a host name by roster's rule ([spiffeid.ValidateHost]).
func parseHostname(file string, data []byte, w *warnings) string {
	var name string
	lines(data, func(n int, line string) {
		line = strings.TrimSpace(line)
		if name != "" || line == "" || line[0] == '#' {
			return
		}
		if err := spiffeid.ValidateHost(line); err != nil {
			w.add(file, n, "not a valid hostname, ignored: %v", err)
			return
		}
		name = line
	})
	return name
}

func isMachineID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

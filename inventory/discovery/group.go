package discovery

import "strings"

// groupEntry is one line of /etc/group.
type groupEntry struct {
	Name    string
	GID     int
	Members []string
	Line    int
}

// parseGroup parses a group(5) file; malformed lines are warned about and
// skipped, and the first entry of a repeated name wins.
func parseGroup(file string, data []byte, w *warnings) []groupEntry {
	var out []groupEntry
	seen := make(map[string]bool)
	lines(data, func(n int, line string) {
		if strings.TrimSpace(line) == "" {
			return
		}
		if line[0] == '#' {
			w.add(file, n, "comment lines are not allowed in group files; skipped")
			return
		}
		if line[0] == '+' || line[0] == '-' {
			w.add(file, n, "NIS compat entry skipped: groups from NIS are not scanned")
			return
		}
		f := strings.Split(line, ":")
		if len(f) != 4 {
			w.add(file, n, "want 4 colon-separated fields, got %d; line skipped", len(f))
			return
		}
		if !validName(f[0]) {
			w.add(file, n, "invalid group name; line skipped")
			return
		}
		gid, ok := parseID(f[2])
		if !ok {
			w.add(file, n, "group %s: invalid GID %q; line skipped", f[0], clip(f[2]))
			return
		}
		if seen[f[0]] {
			w.add(file, n, "group %s is listed again; the first entry wins", f[0])
			return
		}
		seen[f[0]] = true
		g := groupEntry{Name: f[0], GID: gid, Line: n}
		if f[3] != "" {
			for _, m := range strings.Split(f[3], ",") {
				m = strings.TrimSpace(m)
				if m == "" {
					continue
				}
				if !validName(m) {
					w.add(file, n, "group %s: invalid member name skipped", f[0])
					continue
				}
				g.Members = append(g.Members, m)
			}
		}
		out = append(out, g)
	})
	return out
}

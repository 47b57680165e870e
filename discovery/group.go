package discovery

import "strings"

// groupEntry is one line of /etc/group.
type groupEntry struct {
	Name    string
	GID     int
	Members []string
	Line    int
}

// parseGroup parses a group(5) file; see [colonFile] for what is skipped.
// A bad GID skips the line; a bad member name is dropped.
func parseGroup(file string, data []byte, w *warnings) []groupEntry {
	var out []groupEntry
	colonFile(file, data, w, []int{4}, func(n int, f []string) {
		gid, ok := parseID(f[2])
		if !ok {
			w.add(file, n, "group %s: invalid GID %q; line skipped", f[0], clip(f[2]))
			return
		}
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

package discovery

import (
	"strconv"
	"strings"
)

// uidRanges are the UID ranges of login.defs(5).
type uidRanges struct {
	SysUIDMin, SysUIDMax, UIDMin, UIDMax int
	// Source says where the ranges came from: the file, or "Debian defaults".
	Source string
}

// defaultUIDRanges are Debian's built-in values, used for keys absent from
// login.defs (or when there is no login.defs).
var defaultUIDRanges = uidRanges{SysUIDMin: 100, SysUIDMax: 999, UIDMin: 1000, UIDMax: 60000, Source: "Debian defaults"}

// parseLoginDefs reads the UID ranges from a login.defs(5) file: "KEY VALUE"
// lines, '#' comments. Other keys are ignored; a bad value for a UID key is
// a warning and the default is kept. Like shadow-utils, the last
// occurrence of a key wins.
func parseLoginDefs(file string, data []byte, w *warnings) uidRanges {
	r := defaultUIDRanges
	r.Source = file
	keys := map[string]*int{"SYS_UID_MIN": &r.SysUIDMin, "SYS_UID_MAX": &r.SysUIDMax, "UID_MIN": &r.UIDMin, "UID_MAX": &r.UIDMax}
	lines(data, func(n int, line string) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			return
		}
		f := strings.Fields(line)
		dst, ok := keys[f[0]]
		if !ok {
			return
		}
		if len(f) < 2 {
			w.add(file, n, "%s has no value; default kept", f[0])
			return
		}
		v, err := strconv.ParseInt(f[1], 0, 64) // shadow-utils accepts 0x and 0 prefixes
		if err != nil || v < 0 || v > maxID {
			w.add(file, n, "%s: %q is not a valid UID; default kept", f[0], clip(f[1]))
			return
		}
		*dst = int(v)
	})
	if r.UIDMin > r.UIDMax {
		w.add(file, 0, "UID_MIN %d is above UID_MAX %d; Debian defaults used", r.UIDMin, r.UIDMax)
		r.UIDMin, r.UIDMax = defaultUIDRanges.UIDMin, defaultUIDRanges.UIDMax
	}
	if r.SysUIDMin > r.SysUIDMax {
		w.add(file, 0, "SYS_UID_MIN %d is above SYS_UID_MAX %d; Debian defaults used", r.SysUIDMin, r.SysUIDMax)
		r.SysUIDMin, r.SysUIDMax = defaultUIDRanges.SysUIDMin, defaultUIDRanges.SysUIDMax
	}
	return r
}

// human reports whether uid is in the range for people.
func (r uidRanges) human(uid int) bool { return uid >= r.UIDMin && uid <= r.UIDMax }

// system reports whether uid is in the range for OS accounts (0 included).
func (r uidRanges) system(uid int) bool { return uid == 0 || uid >= r.SysUIDMin && uid <= r.SysUIDMax }

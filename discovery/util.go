package discovery

import (
	"cmp"
	"errors"
	"io/fs"
	"slices"
)

// readOptional reads a file whose absence is normal. When name does not
// exist it returns nil data and no warning; when it cannot be read it
// returns nil data and warns "what: error" (what is "unreadable", or says
// which file it is: "unreadable sshd_config"). The data of a file that was read
// is never nil, even when empty. The error is returned, already warned
// about, for callers that must tell a missing file from an unreadable one.
func readOptional(r *Root, w *warnings, name, what string) ([]byte, fs.FileInfo, error) {
	data, fi, err := r.ReadFileInfo(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			w.add(name, 0, "%s: %v", what, err)
		}
		return nil, nil, err
	}
	return data, fi, nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

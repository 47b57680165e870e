package sftpfs

import "fmt"

// guardState is what the guard still tracks: pending READDIRs and open
// listings (for tests: both end with the listing).
func (f *FS) guardState() []string {
	g := f.guard
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for id, h := range g.readdirs {
		out = append(out, fmt.Sprintf("readdir %d %q", id, h))
	}
	for h, n := range g.counts {
		out = append(out, fmt.Sprintf("listing %q: %d", h, n))
	}
	return out
}

// Package suggest finds what a user probably meant: the nearest of a list
// of names (commands, accounts) to one that matched none. Standard library
// only; the CLI's unknown-command hints and the inventory's "no such
// account" hints use it.
package suggest

import "strings"

// Nearest returns the candidate closest to name, or "" when none is close
// enough to be what the user meant. Close means: name is a prefix of it, or
// it is within a third of name's length (rounded up) in edit distance,
// counting a swap of two neighbouring letters as one edit, so that
// "stauts", "statu", "enrol" and "complete" find their command and "bogus"
// finds none.
// Case is ignored; ties go to the earlier candidate.
func Nearest(name string, candidates []string) string {
	name = strings.ToLower(name)
	if name == "" {
		return ""
	}
	best, bestDist := "", (len([]rune(name))+2)/3+1
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := editDistance(name, lc)
		if strings.HasPrefix(lc, name) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours, by rune.
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	// d[i][j] is the distance between s[:i] and t[:j].
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}

package directory

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// PlainPrivilegedGroups are the plain LDAP groups (by cn) whose recursive
// members are privileged: the usual names of groups that sudo, PAM or the
// directory's own ACLs make all-powerful.
var PlainPrivilegedGroups = []string{"admins", "wheel", "sudo", "ldapadmins"}

// groupFilter selects the groups of plain LDAP: groupOfNames (member),
// groupOfUniqueNames (uniqueMember) and posixGroup (memberUid; with
// RFC 2307bis a posixGroup may be a groupOfNames too).
const groupFilter = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))"

var groupAttributes = []string{"cn", "member", "uniqueMember", "memberUid"}

// group is one plain LDAP group as the walk reads it.
type group struct {
	dn, name string
	members  []string // normalized DNs (member, uniqueMember)
	uids     []string // memberUid values
}

// toGroup reads a group entry.
func toGroup(e entry) *group {
	g := &group{dn: e.DN, name: e.first("cn"), uids: e.all("memberUid")}
	for _, m := range append(e.all("member"), e.all("uniqueMember")...) {
		g.members = append(g.members, normDN(stripUID(m)))
	}
	return g
}

// optionalUID is the "#'0101'B" suffix of a uniqueMember value
// (NameAndOptionalUID, RFC 4517 3.3.21).
var optionalUID = regexp.MustCompile(`#'[01]*'B$`)

func stripUID(v string) string { return optionalUID.ReplaceAllString(v, "") }

// normDN is a DN's comparison form: attribute types and values lowercased
// and spaces around separators dropped; a value that is not a DN is only
// lowercased.
func normDN(s string) string {
	d, err := ldap.ParseDN(s)
	if err != nil || len(d.RDNs) == 0 {
		return strings.ToLower(strings.TrimSpace(s))
	}
	rdns := make([]string, len(d.RDNs))
	for i, r := range d.RDNs {
		parts := make([]string, len(r.Attributes))
		for j, a := range r.Attributes {
			parts[j] = strings.ToLower(a.Type) + "=" + strings.ToLower(a.Value)
		}
		slices.Sort(parts)
		rdns[i] = strings.Join(parts, "+")
	}
	return strings.Join(rdns, ",")
}

// membership says which privileged groups hold which entries, and why.
type membership struct {
	byDN  map[string][]string // normalized member DN -> reasons
	byUID map[string][]string // memberUid -> reasons
	warn  []string
}

// walkGroups finds, from each privileged group (by cn, case-insensitive),
// every member reached through nested groups: breadth first, so a reason
// names the shortest path; each group once per privileged group, so a
// cycle ends; at most maxDepth levels below the privileged group and
// maxVisits group visits in all. A walk cut short is a warning: the
// members it would have reached are not reported as privileged.
func walkGroups(groups []*group, privileged []string, maxDepth, maxVisits int) membership {
	m := membership{byDN: map[string][]string{}, byUID: map[string][]string{}}
	byDN := make(map[string]*group, len(groups))
	for _, g := range groups {
		byDN[normDN(g.dn)] = g
	}
	visits := 0
	for _, name := range privileged {
		for _, root := range groups {
			if !strings.EqualFold(root.name, name) {
				continue
			}
			type step struct {
				g    *group
				path []string // the nested groups below root, by cn
			}
			seen := map[*group]bool{root: true}
			got := map[string]bool{}
			note := func(to map[string][]string, key string, path []string, how string) {
				if got[key] {
					return
				}
				got[key] = true
				r := "member of " + root.name
				if len(path) > 0 {
					r += " (through " + strings.Join(path, ", ") + ")"
				}
				to[key] = append(to[key], r+how)
			}
			queue := []step{{g: root}}
			for len(queue) > 0 {
				s := queue[0]
				queue = queue[1:]
				if visits >= maxVisits {
					m.warn = append(m.warn, fmt.Sprintf("group walk stopped after %d group visits: members of %s below %s are not counted as privileged", maxVisits, root.name, s.g.name))
					return m
				}
				visits++
				for _, u := range s.g.uids {
					note(m.byUID, u, s.path, " (memberUid)")
				}
				for _, dn := range s.g.members {
					sub, isGroup := byDN[dn]
					if !isGroup {
						note(m.byDN, dn, s.path, "")
						continue
					}
					if seen[sub] {
						continue // a cycle, or a group reached already
					}
					seen[sub] = true
					if len(s.path) >= maxDepth {
						m.warn = append(m.warn, fmt.Sprintf("group walk of %s stopped at depth %d: members of %s are not counted as privileged", root.name, maxDepth, sub.name))
						continue
					}
					queue = append(queue, step{g: sub, path: append(slices.Clone(s.path), sub.name)})
				}
			}
		}
	}
	return m
}

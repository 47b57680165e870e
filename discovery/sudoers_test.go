package discovery

import (
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/scan"
)

func TestSudoersRules(t *testing.T) {
	users := map[string]sudoUser{
		"root":     {Name: "root", UID: 0, Groups: map[string]int{"root": 0}},
		"alice":    {Name: "alice", UID: 1000, Groups: map[string]int{"alice": 1000, "sudo": 27}},
		"mallory":  {Name: "mallory", UID: 1600, Groups: map[string]int{"ops": 1600}},
		"postgres": {Name: "postgres", UID: 102, Groups: map[string]int{"postgres": 110}},
		"deploy":   {Name: "deploy", UID: 1001, Groups: map[string]int{"deploy": 1001}},
		"bob":      {Name: "bob", UID: 1002, Groups: map[string]int{"bob": 1002}},
		"nobody":   {Name: "nobody", UID: 65534, Groups: map[string]int{"nogroup": 65534}},
		"carol":    {Name: "carol", UID: 1003, Groups: map[string]int{"carol": 1003}},
		"uid1500":  {Name: "uid1500", UID: 1500, Groups: map[string]int{}},
		"ec2-user": {Name: "ec2-user", UID: 1000, Groups: map[string]int{"wheel": 10}},
		"tux":      {Name: "tux", UID: 1000, Groups: map[string]int{"users": 100}},
	}
	tests := []struct {
		desc  string
		file  string
		host  string
		user  string
		want  []scan.SudoRule
		warns []int
	}{
		{desc: "debian: %sudo", file: "debian", user: "alice", want: []scan.SudoRule{
			{Source: "debian:27", Via: "%sudo", Hosts: []string{"ALL"}, RunAs: []string{"ALL"}, RunAsGroup: []string{"ALL"}, Commands: []string{"ALL"}},
		}},
		{desc: "debian: nobody has none", file: "debian", user: "nobody"},
		{desc: "rhel: %wheel", file: "rhel", user: "ec2-user", want: []scan.SudoRule{
			{Source: "rhel:34", Via: "%wheel", Hosts: []string{"ALL"}, RunAs: []string{"ALL"}, Commands: []string{"ALL"}},
		}},
		{desc: "rhel: Cmnd_Alias over continuation lines, NOPASSWD", file: "rhel", user: "postgres", want: []scan.SudoRule{
			{Source: "rhel:43", Via: "user", Hosts: []string{"ALL"}, RunAs: []string{"root"}, NoPassword: true, Commands: []string{
				"/sbin/service", "/sbin/chkconfig", "/usr/bin/systemctl start", "/usr/bin/systemctl stop", "/usr/bin/systemctl reload",
				"/usr/bin/systemctl restart", "/usr/bin/systemctl status", "/usr/bin/systemctl enable", "/usr/bin/systemctl disable"}},
		}},
		{desc: "suse: ALL ALL with targetpw", file: "suse", user: "tux", want: []scan.SudoRule{
			{Source: "suse:32", Via: "ALL", Hosts: []string{"ALL"}, RunAs: []string{"ALL"}, Commands: []string{"ALL"}, PasswordOf: "target"},
		}},
		{desc: "complex: User_Alias, negated Cmnd_Alias", file: "complex", host: "web1", user: "alice", want: []scan.SudoRule{
			{Source: "complex:14", Via: "User_Alias ADMINS", Hosts: []string{"ALL"}, RunAs: []string{"ALL"}, RunAsGroup: []string{"ALL"}, Commands: []string{"ALL", "!/bin/sh", "!/bin/bash"}},
			{Source: "complex:21", Via: "ALL", Hosts: []string{"ALL"}, RunAs: []string{"%wheel"}, Commands: []string{"/usr/bin/whoami"}},
		}},
		{desc: "complex: alias via %group and #uid", file: "complex", host: "web1", user: "uid1500", want: []scan.SudoRule{
			{Source: "complex:14", Via: "User_Alias ADMINS", Hosts: []string{"ALL"}, RunAs: []string{"ALL"}, RunAsGroup: []string{"ALL"}, Commands: []string{"ALL", "!/bin/sh", "!/bin/bash"}},
			{Source: "complex:21", Via: "ALL", Hosts: []string{"ALL"}, RunAs: []string{"%wheel"}, Commands: []string{"/usr/bin/whoami"}},
		}},
		{desc: "complex: Runas_Alias, tags change within a line, digest", file: "complex", host: "web1", user: "postgres", want: []scan.SudoRule{
			{Source: "complex:15", Via: "User_Alias DBAS", Hosts: []string{"ALL"}, RunAs: []string{"postgres", "mysql"}, NoPassword: true, Commands: []string{
				"/usr/bin/pg_dump", "/usr/bin/pg_dumpall", "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef /usr/local/bin/backup.sh"}},
			{Source: "complex:15", Via: "User_Alias DBAS", Hosts: []string{"ALL"}, RunAs: []string{"postgres", "mysql"}, Commands: []string{"/usr/bin/psql"}},
			{Source: "complex:21", Via: "ALL", Hosts: []string{"ALL"}, RunAs: []string{"%wheel"}, Commands: []string{"/usr/bin/whoami"}},
		}},
		{desc: "complex: Defaults:user !authenticate, host groups, %#gid", file: "complex", host: "web1.example.com", user: "deploy", want: []scan.SudoRule{
			{Source: "complex:16", Via: "user", Hosts: []string{"web*", "www[0-9]"}, RunAs: []string{"www-data"}, NoPassword: true, Commands: []string{"/usr/bin/rsync -a /srv/ /var/www/"}},
			{Source: "complex:16", Via: "user", Hosts: []string{"web*", "www[0-9]"}, RunAs: []string{"root"}, NoPassword: true, Commands: []string{"/usr/bin/systemctl restart app"}},
			{Source: "complex:18", Via: "%#1001", Hosts: []string{"ALL"}, RunAs: []string{"deploy"}, RunAsGroup: []string{"adm"}, NoPassword: true, Commands: []string{"/usr/bin/less /var/log/syslog"}},
			{Source: "complex:21", Via: "ALL", Hosts: []string{"ALL"}, RunAs: []string{"%wheel"}, NoPassword: true, Commands: []string{"/usr/bin/whoami"}},
		}},
		{desc: "complex: on db1 the other host group applies, Defaults:user beats Defaults@host", file: "complex", host: "db1", user: "deploy", want: []scan.SudoRule{
			{Source: "complex:16", Via: "user", Hosts: []string{"db1", "db2"}, RunAs: []string{"root"}, NoPassword: true, Commands: []string{"/usr/bin/true"}},
			{Source: "complex:18", Via: "%#1001", Hosts: []string{"ALL"}, RunAs: []string{"deploy"}, RunAsGroup: []string{"adm"}, NoPassword: true, Commands: []string{"/usr/bin/less /var/log/syslog"}},
			{Source: "complex:21", Via: "ALL", Hosts: []string{"ALL"}, RunAs: []string{"%wheel"}, NoPassword: true, Commands: []string{"/usr/bin/whoami"}},
		}},
		{desc: "complex: continued user list, stacked tags, trailing comment", file: "complex", host: "web1", user: "bob", want: []scan.SudoRule{
			{Source: "complex:19", Via: "user", Hosts: []string{"ALL"}, RunAs: []string{"root"}, NoPassword: true, Commands: []string{"/usr/bin/rsync --server *"}},
			{Source: "complex:21", Via: "ALL", Hosts: []string{"ALL"}, RunAs: []string{"%wheel"}, Commands: []string{"/usr/bin/whoami"}},
		}},
		{desc: "complex: negated user", file: "complex", host: "web1", user: "nobody"},
		{desc: "complex: negated in alias does not exclude via another alias", file: "complex", host: "web1", user: "mallory", want: []scan.SudoRule{
			{Source: "complex:14", Via: "User_Alias ADMINS", Hosts: []string{"ALL"}, RunAs: []string{"ALL"}, RunAsGroup: []string{"ALL"}, Commands: []string{"ALL", "!/bin/sh", "!/bin/bash"}},
			{Source: "complex:21", Via: "ALL", Hosts: []string{"ALL"}, RunAs: []string{"%wheel"}, Commands: []string{"/usr/bin/whoami"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			w := &warnings{}
			p := newSudoPolicy()
			p.parse(tc.file, readTestdata(t, "sudoers/"+tc.file), w, nil)
			got := p.rulesFor(users[tc.user], tc.host)
			if !sudoRulesEqual(got, tc.want) {
				t.Errorf("rules:\n got %+v\nwant %+v", got, tc.want)
			}
			if tc.file == "complex" {
				if gl := warningLines(w); !slices.Equal(gl, []int{23, 24}) {
					t.Errorf("warnings at %v, want 23, 24: %v", gl, w.list)
				}
			} else if len(w.list) > 0 {
				t.Errorf("warnings: %v", w.list)
			}
		})
	}
}

func sudoRulesEqual(a, b []scan.SudoRule) bool {
	return slices.EqualFunc(a, b, func(x, y scan.SudoRule) bool {
		return x.Source == y.Source && x.Via == y.Via && slices.Equal(x.Hosts, y.Hosts) && slices.Equal(x.RunAs, y.RunAs) &&
			slices.Equal(x.RunAsGroup, y.RunAsGroup) && slices.Equal(x.Commands, y.Commands) && x.NoPassword == y.NoPassword &&
			x.PasswordOf == y.PasswordOf
	})
}

func TestElevates(t *testing.T) {
	tests := []struct {
		desc string
		rule scan.SudoRule
		ok   bool
		why  string
	}{
		{"root with password", scan.SudoRule{Source: "/etc/sudoers:3", Via: "%sudo", RunAs: []string{"ALL"}, Commands: []string{"ALL"}}, true, "sudo rule /etc/sudoers:3 (via %sudo) runs ALL as ALL with its own password"},
		{"nopasswd", scan.SudoRule{Source: "s:1", Via: "user", RunAs: []string{"root"}, NoPassword: true, Commands: []string{"/bin/ls"}}, true, "without a password"},
		{"as itself", scan.SudoRule{Source: "s:1", Via: "user", RunAs: []string{"carol"}, Commands: []string{"/bin/id"}}, false, ""},
		{"group only", scan.SudoRule{Source: "s:1", Via: "user", RunAs: []string{"carol"}, RunAsGroup: []string{"adm"}, Commands: []string{"/bin/id"}}, true, "with group adm"},
		{"only negations", scan.SudoRule{Source: "s:1", Via: "user", RunAs: []string{"root"}, Commands: []string{"!ALL"}}, false, ""},
		{"targetpw", scan.SudoRule{Source: "s:1", Via: "ALL", RunAs: []string{"ALL"}, Commands: []string{"ALL"}, PasswordOf: "target"}, false, ""},
	}
	for _, tc := range tests {
		ok, why := elevates(tc.rule, "carol")
		if ok != tc.ok || !strings.Contains(why, tc.why) {
			t.Errorf("%s: got %v %q, want %v %q", tc.desc, ok, why, tc.ok, tc.why)
		}
	}
}

func TestReadSudoersIncludes(t *testing.T) {
	r := buildRoot(t, map[string]string{
		"etc/sudoers":                  string(readTestdata(t, "sudoers/debian")) + "@include sudoers.local\n#include /etc/sudoers-%h\n",
		"etc/sudoers.local":            "local1 ALL=(ALL) NOPASSWD: ALL\n",
		"etc/sudoers-web1":             "perhost ALL=(root) /bin/true\n",
		"etc/sudoers.d/10-ops":         "Defaults:%ops !authenticate\n%ops ALL=(ALL) /usr/bin/systemctl\n@include nested/more\n",
		"etc/sudoers.d/nested/more":    "nested ALL=(ALL) ALL\n",
		"etc/sudoers.d/README":         "#\n# Files in this directory are read by sudo.\n#\n",
		"etc/sudoers.d/skipped~":       "skipped ALL=(ALL) ALL\n",
		"etc/sudoers.d/skipped.rpmnew": "skipped ALL=(ALL) ALL\n",
		"etc/sudoers.d/zz-loop":        "@include /etc/sudoers\n#includedir /etc/sudoers.d\n",
		"etc/sudoers.d/zz-missing":     "@include /etc/nope\n",
	})
	w := &warnings{}
	p := readSudoers(r, "web1.example.org", w)
	var users []string
	for _, s := range p.specs {
		users = append(users, s.Users...)
	}
	want := []string{"root", "%sudo", "%ops", "nested", "local1", "perhost"}
	if !slices.Equal(users, want) {
		t.Errorf("specs for %v, want %v", users, want)
	}
	var msgs []string
	for _, x := range w.list {
		msgs = append(msgs, x.File+": "+x.Message)
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{"/etc/sudoers: include loop", "/etc/sudoers.d/10-ops: included again", "/etc/nope: unreadable"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q:\n%s", want, joined)
		}
	}
	ops := sudoUser{Name: "op1", UID: 1200, Groups: map[string]int{"ops": 1300}}
	rules := p.rulesFor(ops, "web1.example.org")
	if len(rules) != 1 || !rules[0].NoPassword || rules[0].Source != "/etc/sudoers.d/10-ops:2" {
		t.Errorf("ops rules %+v", rules)
	}
}

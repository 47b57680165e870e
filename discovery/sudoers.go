package discovery

import (
	"errors"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/scan"
)

// sudoers(5) support. The parser understands the parts of the grammar that
// decide who may run what as whom:
//
//   - @include/#include and @includedir/#includedir, relative to the
//     including file's directory, "%h" expanded to the short host name; an
//     included directory skips names containing '.' or ending in '~' and
//     anything not a regular file; include loops, files included twice
//     and nesting deeper than 128 are warnings, the repeat is skipped;
//   - User_Alias, Runas_Alias, Host_Alias and Cmnd_Alias (Cmd_Alias), several
//     per line with ':';
//   - user specifications with user lists (names, %group, %#gid, #uid,
//     aliases, ALL, '!' negation), host lists, several "hosts = commands"
//     groups per line, "(runas:group)" specs and tags that carry over to
//     the following commands, options such as CWD= and ROLE=, digests;
//   - Defaults lines (generic, @host and :user) for authenticate, rootpw,
//     runaspw and targetpw.
//
// Everything is evaluated after parsing, so aliases may be used before they
// are defined. Lines continue with a trailing '\'.

// maxSudoIncludeDepth is sudo's own nesting limit.
const maxSudoIncludeDepth = 128

// sudoTags are the command tags; only NOPASSWD and PASSWD matter here.
var sudoTags = map[string]bool{
	"NOPASSWD": true, "PASSWD": true, "NOEXEC": true, "EXEC": true, "SETENV": true, "NOSETENV": true,
	"LOG_INPUT": true, "NOLOG_INPUT": true, "LOG_OUTPUT": true, "NOLOG_OUTPUT": true, "MAIL": true,
	"NOMAIL": true, "FOLLOW": true, "NOFOLLOW": true, "INTERCEPT": true, "NOINTERCEPT": true,
}

// sudoOptions are the "NAME=value" options allowed before a command.
var sudoOptions = map[string]bool{
	"ROLE": true, "TYPE": true, "CWD": true, "CHROOT": true, "NOTBEFORE": true, "NOTAFTER": true,
	"TIMEOUT": true, "APPARMOR_PROFILE": true, "PRIVS": true, "LIMITPRIVS": true,
}

// sudoPolicy is everything read from sudoers and its includes.
type sudoPolicy struct {
	userAlias, runasAlias, hostAlias, cmndAlias map[string][]string
	specs                                       []sudoSpec
	defaults                                    []sudoDefault
}

// sudoSpec is one "hosts = commands" group of a user specification line.
type sudoSpec struct {
	Source string
	Users  []string // items as written, "!" prefixed when negated
	Hosts  []string
	Cmnds  []sudoCmnd
}

// sudoCmnd is one command with the runas spec and tags in force for it.
type sudoCmnd struct {
	RunAs      []string // nil: root (no runas spec)
	RunAsGroup []string
	HasRunAs   bool
	NoPasswd   int // 0 unset, 1 NOPASSWD, -1 PASSWD
	Cmd        string
}

// sudoDefault is one boolean setting that matters here (authenticate,
// rootpw, runaspw, targetpw) from a Defaults line.
type sudoDefault struct {
	Kind  byte     // 0 generic, '@' host, ':' user, '>' runas, '!' command
	List  []string // the binding list for non-generic defaults
	Name  string
	Value bool
}

// sudoFlags are the Defaults booleans that change who must type which
// password.
var sudoFlags = map[string]bool{"authenticate": true, "rootpw": true, "runaspw": true, "targetpw": true}

func newSudoPolicy() *sudoPolicy {
	return &sudoPolicy{
		userAlias: map[string][]string{}, runasAlias: map[string][]string{},
		hostAlias: map[string][]string{}, cmndAlias: map[string][]string{},
	}
}

// readSudoers reads /etc/sudoers and everything it includes. host is the
// scanned host's name, for "%h" in include paths.
func readSudoers(r *Root, host string, w *warnings) *sudoPolicy {
	p := newSudoPolicy()
	var stack []string        // files being read, outermost first
	done := map[string]bool{} // files read once already
	var readFile func(name string)
	readFile = func(name string) {
		real, err := r.Resolve(name)
		if err != nil {
			w.add(name, 0, "unreadable: %v", err)
			return
		}
		for _, s := range stack {
			if s == real {
				w.add(name, 0, "include loop: %s is already being read; skipped", real)
				return
			}
		}
		if done[real] {
			w.add(name, 0, "included again; skipped")
			return
		}
		if len(stack) >= maxSudoIncludeDepth {
			w.add(name, 0, "includes nested deeper than %d; skipped", maxSudoIncludeDepth)
			return
		}
		data, err := r.ReadFile(name)
		if err != nil {
			if !(len(stack) == 0 && errors.Is(err, fs.ErrNotExist)) {
				w.add(name, 0, "unreadable: %v", err)
			}
			return
		}
		done[real] = true
		stack = append(stack, real)
		defer func() { stack = stack[:len(stack)-1] }()
		p.parse(name, data, w, func(line int, target string, dir bool) {
			short, _, _ := strings.Cut(host, ".")
			target = strings.ReplaceAll(target, "%h", short)
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(name), target)
			}
			if !dir {
				readFile(target)
				return
			}
			ents, err := r.ReadDir(target)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					w.add(name, line, "included directory %s unreadable: %v", target, err)
				}
				return
			}
			for _, e := range ents {
				n := e.Name()
				if strings.Contains(n, ".") || strings.HasSuffix(n, "~") {
					continue
				}
				if fi, err := r.Stat(path.Join(target, n)); err == nil && !fi.Mode().IsRegular() {
					continue // sudo reads only regular files from a directory
				}
				readFile(path.Join(target, n))
			}
		})
	}
	readFile("/etc/sudoers")
	return p
}

// parse adds one sudoers file's content to p. include is called for each
// include directive, in order; nil ignores them.
func (p *sudoPolicy) parse(file string, data []byte, w *warnings, include func(line int, target string, dir bool)) {
	var buf strings.Builder
	start := 0
	lines(data, func(n int, line string) {
		if buf.Len() == 0 {
			start = n
		}
		if continued(line) {
			buf.WriteString(line[:len(line)-1])
			buf.WriteByte(' ')
			return
		}
		buf.WriteString(line)
		p.parseLine(file, start, buf.String(), w, include)
		buf.Reset()
	})
	if buf.Len() > 0 {
		p.parseLine(file, start, buf.String(), w, include)
	}
}

// continued reports whether line ends in an unescaped backslash.
func continued(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func (p *sudoPolicy) parseLine(file string, n int, line string, w *warnings, include func(int, string, bool)) {
	t := strings.TrimSpace(line)
	for _, d := range []string{"@includedir", "#includedir", "@include", "#include"} {
		rest, ok := strings.CutPrefix(t, d)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		target := strings.TrimSpace(rest)
		if len(target) >= 2 && target[0] == '"' && target[len(target)-1] == '"' {
			target = target[1 : len(target)-1]
		}
		if target == "" || strings.ContainsRune(target, 0) {
			w.add(file, n, "%s without a path; skipped", d)
			return
		}
		if include != nil {
			include(n, target, strings.HasSuffix(d, "dir"))
		}
		return
	}
	t = strings.TrimSpace(stripSudoComment(t))
	if t == "" {
		return
	}
	s := &sudoScanner{s: t}
	first := s.peekWord()
	var err error
	switch {
	case first == "Defaults" || strings.HasPrefix(first, "Defaults") && strings.ContainsAny(first[8:9], ":@>!"):
		err = p.parseDefaults(s)
	case first == "User_Alias" || first == "Runas_Alias" || first == "Host_Alias" || first == "Cmnd_Alias" || first == "Cmd_Alias":
		s.word()
		err = p.parseAliases(s, first)
	default:
		err = p.parseUserSpec(s, lineLoc(file, n))
	}
	if err != nil {
		w.add(file, n, "%v; line skipped", err)
	}
}

// stripSudoComment removes a '#' comment. A '#' followed by a digit is a
// uid or gid ("#1000", "%#27"), not a comment; '\#' is a literal.
func stripSudoComment(s string) string {
	end := len(s)
	eachUnquoted(s, func(i int) bool {
		if s[i] == '#' && !(i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9') {
			end = i
			return false
		}
		return true
	})
	return s[:end]
}

// eachUnquoted calls fn with the index of every byte of s that is neither
// inside double quotes nor escaped by '\', until fn returns false.
func eachUnquoted(s string, fn func(i int) bool) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case !inQuote && !fn(i):
			return
		}
	}
}

// sudoScanner walks one logical sudoers line.
type sudoScanner struct {
	s string
	i int
}

func (s *sudoScanner) skipWS() {
	for s.i < len(s.s) && (s.s[s.i] == ' ' || s.s[s.i] == '\t') {
		s.i++
	}
}

func (s *sudoScanner) eof() bool { s.skipWS(); return s.i >= len(s.s) }

func (s *sudoScanner) peek() byte {
	s.skipWS()
	if s.i >= len(s.s) {
		return 0
	}
	return s.s[s.i]
}

func (s *sudoScanner) accept(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// word reads a name: everything up to whitespace or one of ",:=()!",
// with backslash escapes and "double quoted" names.
func (s *sudoScanner) word() string {
	s.skipWS()
	var b strings.Builder
	for s.i < len(s.s) {
		c := s.s[s.i]
		if c == ' ' || c == '\t' || strings.IndexByte(",:=()!", c) >= 0 {
			break
		}
		if c == '\\' && s.i+1 < len(s.s) {
			s.i++
			c = s.s[s.i]
		} else if c == '"' {
			j := strings.IndexByte(s.s[s.i+1:], '"')
			if j >= 0 {
				b.WriteString(s.s[s.i+1 : s.i+1+j])
				s.i += j + 2
				continue
			}
		}
		b.WriteByte(c)
		s.i++
	}
	return b.String()
}

func (s *sudoScanner) peekWord() string {
	i := s.i
	w := s.word()
	s.i = i
	return w
}

// negated reads one item with read, after any number of '!' (double
// negation cancels), and returns it "!"-prefixed when negated, or "" when
// read found nothing.
func (s *sudoScanner) negated(read func() string) string {
	neg := false
	for s.accept('!') {
		neg = !neg
	}
	v := read()
	if v == "" || !neg {
		return v
	}
	return "!" + v
}

// items reads "item, !item, ..." with read for each item.
func (s *sudoScanner) items(what string, read func() string) ([]string, error) {
	var out []string
	for {
		v := s.negated(read)
		if v == "" {
			if s.eof() {
				return nil, errors.New("unexpected end of line in " + what + " list")
			}
			return nil, errors.New("unexpected " + strconv.QuoteRune(rune(s.s[s.i])) + " in " + what + " list")
		}
		out = append(out, v)
		if !s.accept(',') {
			return out, nil
		}
	}
}

// list reads a list of names (users, hosts, runas).
func (s *sudoScanner) list(what string) ([]string, error) { return s.items(what, s.word) }

// command reads one command up to an unescaped ',' or ':' (or ')' never
// occurs here) and unescapes it.
func (s *sudoScanner) command() string {
	s.skipWS()
	var b strings.Builder
	inQuote := false
	for s.i < len(s.s) {
		c := s.s[s.i]
		if !inQuote && (c == ',' || c == ':') {
			break
		}
		if c == '"' {
			inQuote = !inQuote
		}
		if c == '\\' && s.i+1 < len(s.s) && strings.IndexByte(",:=\\", s.s[s.i+1]) >= 0 {
			s.i++
			c = s.s[s.i]
		}
		b.WriteByte(c)
		s.i++
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func (p *sudoPolicy) parseAliases(s *sudoScanner, kind string) error {
	for {
		name := s.word()
		if !isAliasName(name) {
			return errors.New(kind + ": invalid alias name " + strconv.Quote(clip(name)))
		}
		if !s.accept('=') {
			return errors.New(kind + " " + name + ": missing '='")
		}
		var items []string
		var err error
		if kind == "Cmnd_Alias" || kind == "Cmd_Alias" {
			items, err = s.commandList()
		} else {
			items, err = s.list(kind + " " + name)
		}
		if err != nil {
			return err
		}
		m := map[string]map[string][]string{
			"User_Alias": p.userAlias, "Runas_Alias": p.runasAlias, "Host_Alias": p.hostAlias,
			"Cmnd_Alias": p.cmndAlias, "Cmd_Alias": p.cmndAlias,
		}[kind]
		m[name] = items
		if s.eof() {
			return nil
		}
		if !s.accept(':') {
			return errors.New(kind + " " + name + ": unexpected text after the alias")
		}
	}
}

// commandList reads "cmd, !cmd, ..." for Cmnd_Alias.
func (s *sudoScanner) commandList() ([]string, error) { return s.items("command", s.digestCommand) }

// digestCommand reads a command with an optional "sha256:DIGEST" prefix.
func (s *sudoScanner) digestCommand() string {
	for _, d := range []string{"sha224:", "sha256:", "sha384:", "sha512:"} {
		s.skipWS()
		if strings.HasPrefix(s.s[s.i:], d) {
			s.i += len(d)
			digest := s.word()
			return d + digest + " " + s.command()
		}
	}
	return s.command()
}

func isAliasName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' || s == "ALL" {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (p *sudoPolicy) parseDefaults(s *sudoScanner) error {
	s.skipWS()
	s.i += len("Defaults")
	d := sudoDefault{}
	if s.i < len(s.s) && strings.IndexByte(":@>!", s.s[s.i]) >= 0 {
		d.Kind = s.s[s.i]
		s.i++
		l, err := s.list("Defaults binding")
		if err != nil {
			return err
		}
		d.List = l
	}
	for _, param := range splitParams(s.s[s.i:]) {
		neg := false
		for strings.HasPrefix(param, "!") {
			neg = !neg
			param = strings.TrimSpace(param[1:])
		}
		if sudoFlags[param] {
			d.Name, d.Value = param, !neg
			p.defaults = append(p.defaults, d)
		}
	}
	return nil
}

// splitParams splits Defaults parameters on commas outside double quotes.
func splitParams(s string) []string {
	var out []string
	last := 0
	eachUnquoted(s, func(i int) bool {
		if s[i] == ',' {
			out = append(out, strings.TrimSpace(s[last:i]))
			last = i + 1
		}
		return true
	})
	return append(out, strings.TrimSpace(s[last:]))
}

func (p *sudoPolicy) parseUserSpec(s *sudoScanner, source string) error {
	users, err := s.list("user")
	if err != nil {
		return err
	}
	for {
		hosts, err := s.list("host")
		if err != nil {
			return err
		}
		if !s.accept('=') {
			return errors.New("user specification without '='")
		}
		spec := sudoSpec{Source: source, Users: users, Hosts: hosts}
		var cur sudoCmnd
		for {
			if s.accept('(') {
				end := strings.IndexByte(s.s[s.i:], ')')
				if end < 0 {
					return errors.New("unterminated runas specification")
				}
				inner := s.s[s.i : s.i+end]
				s.i += end + 1
				u, g, _ := strings.Cut(inner, ":")
				cur.RunAs, cur.RunAsGroup, cur.HasRunAs = splitItems(u), splitItems(g), true
			}
			for {
				w := s.peekWord()
				save := s.i
				s.word()
				if sudoTags[w] && s.accept(':') {
					switch w {
					case "NOPASSWD":
						cur.NoPasswd = 1
					case "PASSWD":
						cur.NoPasswd = -1
					}
					continue
				}
				if sudoOptions[w] && s.accept('=') {
					s.word()
					continue
				}
				s.i = save
				break
			}
			c := s.negated(s.digestCommand)
			if c == "" {
				return errors.New("missing command")
			}
			cur.Cmd = c
			spec.Cmnds = append(spec.Cmnds, cur)
			if !s.accept(',') {
				break
			}
		}
		p.specs = append(p.specs, spec)
		if s.eof() {
			return nil
		}
		if !s.accept(':') {
			return errors.New("unexpected text after the command list")
		}
	}
}

// splitItems splits a runas user or group list.
func splitItems(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		neg := false
		for strings.HasPrefix(f, "!") {
			neg = !neg
			f = strings.TrimSpace(f[1:])
		}
		if f == "" {
			continue
		}
		if neg {
			f = "!" + f
		}
		out = append(out, f)
	}
	return out
}

// sudoUser is what user list matching needs to know about an account.
type sudoUser struct {
	Name   string
	UID    int
	Groups map[string]int // group name -> gid, primary group included
}

// matchUsers evaluates a user list for u: the last matching item decides,
// as in sudo. It returns whether u matches and the item that decided,
// described for scan.SudoRule.Via.
func (p *sudoPolicy) matchUsers(items []string, u sudoUser, depth int) (bool, string) {
	matched, via := false, ""
	for _, it := range items {
		neg := strings.HasPrefix(it, "!")
		name := strings.TrimPrefix(it, "!")
		ok, v := p.matchUser(name, u, depth)
		if ok {
			matched, via = !neg, v
		}
	}
	return matched, via
}

func (p *sudoPolicy) matchUser(item string, u sudoUser, depth int) (bool, string) {
	switch {
	case item == "ALL":
		return true, "ALL"
	case strings.HasPrefix(item, "%#"):
		gid, ok := parseID(item[2:])
		if !ok {
			return false, ""
		}
		for _, g := range u.Groups {
			if g == gid {
				return true, item
			}
		}
		return false, ""
	case strings.HasPrefix(item, "%:"), strings.HasPrefix(item, "+"):
		return false, "" // non-Unix groups and netgroups: not resolvable from files
	case strings.HasPrefix(item, "%"):
		_, ok := u.Groups[item[1:]]
		return ok, item
	case strings.HasPrefix(item, "#"):
		uid, ok := parseID(item[1:])
		return ok && uid == u.UID, item
	}
	if members, ok := p.userAlias[item]; ok {
		if depth > 16 {
			return false, ""
		}
		m, _ := p.matchUsers(members, u, depth+1)
		return m, "User_Alias " + item
	}
	return item == u.Name, "user"
}

// matchHost evaluates a host list for host. It answers true when it cannot
// tell (host unknown, IP addresses, netgroups), so rules are only dropped
// when they clearly name other hosts.
func (p *sudoPolicy) matchHost(items []string, host string, depth int) bool {
	if host == "" {
		return true
	}
	matched := false
	for _, it := range items {
		neg := strings.HasPrefix(it, "!")
		name := strings.TrimPrefix(it, "!")
		if p.hostItem(name, host, depth) {
			matched = !neg
		}
	}
	return matched
}

func (p *sudoPolicy) hostItem(item, host string, depth int) bool {
	if item == "ALL" {
		return true
	}
	if members, ok := p.hostAlias[item]; ok {
		return depth <= 16 && p.matchHost(members, host, depth+1)
	}
	if strings.HasPrefix(item, "+") || strings.ContainsAny(item, "/") || strings.Count(item, ".") == 3 && strings.Trim(item, "0123456789.") == "" || strings.Contains(item, ":") {
		return true // netgroup or address: unknown from files
	}
	short, _, _ := strings.Cut(host, ".")
	for _, h := range []string{host, short} {
		if strings.EqualFold(item, h) {
			return true
		}
		if ok, _ := path.Match(strings.ToLower(item), strings.ToLower(h)); ok {
			return true
		}
	}
	return false
}

// expand replaces alias names in items by their members, recursively,
// keeping '!' negations (a negated alias negates each member).
func expand(items []string, alias map[string][]string, depth int) []string {
	var out []string
	for _, it := range items {
		neg := strings.HasPrefix(it, "!")
		name := strings.TrimPrefix(it, "!")
		members, ok := alias[name]
		if !ok || depth > 16 {
			out = append(out, it)
			continue
		}
		for _, m := range expand(members, alias, depth+1) {
			if neg {
				if strings.HasPrefix(m, "!") {
					m = m[1:]
				} else {
					m = "!" + m
				}
			}
			out = append(out, m)
		}
	}
	return out
}

// flag returns the value of the Defaults boolean name for u (def when
// never set): Defaults are applied generic first, then host, then user
// bindings, each in file order, as sudo does. Runas and command bindings
// are not evaluated.
func (p *sudoPolicy) flag(u sudoUser, host, name string, def bool) bool {
	auth := def
	for _, kind := range []byte{0, '@', ':'} {
		for _, d := range p.defaults {
			if d.Kind != kind || d.Name != name {
				continue
			}
			switch kind {
			case '@':
				if !p.matchHost(d.List, host, 0) {
					continue
				}
			case ':':
				if ok, _ := p.matchUsers(d.List, u, 0); !ok {
					continue
				}
			}
			auth = d.Value
		}
	}
	return auth
}

// passwordOf says whose password sudo asks u for: "" for u's own, else
// "root", "runas_default" or "target" (rootpw wins over runaspw over
// targetpw, as in sudo).
func (p *sudoPolicy) passwordOf(u sudoUser, host string) string {
	switch {
	case p.flag(u, host, "rootpw", false):
		return "root"
	case p.flag(u, host, "runaspw", false):
		return "runas_default"
	case p.flag(u, host, "targetpw", false):
		return "target"
	}
	return ""
}

// rulesFor returns the sudo rules that apply to u on host. Consecutive
// commands of one spec with the same runas and password requirement form
// one rule.
func (p *sudoPolicy) rulesFor(u sudoUser, host string) []scan.SudoRule {
	var out []scan.SudoRule
	auth := p.flag(u, host, "authenticate", true)
	pwOf := p.passwordOf(u, host)
	for _, spec := range p.specs {
		ok, via := p.matchUsers(spec.Users, u, 0)
		if !ok || !p.matchHost(spec.Hosts, host, 0) {
			continue
		}
		var cur *scan.SudoRule
		var curKey string
		for _, c := range spec.Cmnds {
			runAs := []string{"root"}
			if c.HasRunAs {
				runAs = expand(c.RunAs, p.runasAlias, 0)
				if len(runAs) == 0 {
					if len(c.RunAsGroup) == 0 {
						runAs = []string{"root"} // "()" means the default
					} else {
						runAs = []string{u.Name} // "(:group)": as oneself with another group
					}
				}
			}
			group := expand(c.RunAsGroup, p.runasAlias, 0)
			noPass := !auth
			if c.NoPasswd != 0 {
				noPass = c.NoPasswd > 0
			}
			key := strings.Join(runAs, ",") + "|" + strings.Join(group, ",") + "|" + strconv.FormatBool(noPass)
			if cur == nil || key != curKey {
				out = append(out, scan.SudoRule{
					Source: spec.Source, Via: via, Hosts: expand(spec.Hosts, p.hostAlias, 0),
					RunAs: runAs, RunAsGroup: group, NoPassword: noPass,
				})
				if !noPass {
					out[len(out)-1].PasswordOf = pwOf
				}
				cur, curKey = &out[len(out)-1], key
			}
			cur.Commands = append(cur.Commands, expand([]string{c.Cmd}, p.cmndAlias, 0)...)
		}
	}
	return out
}

// elevates reports whether rule lets account run a command as another
// user or group, and describes how for a privilege reason.
func elevates(rule scan.SudoRule, account string) (bool, string) {
	grants := false
	for _, c := range rule.Commands {
		if !strings.HasPrefix(c, "!") {
			grants = true
		}
	}
	if !grants {
		return false, ""
	}
	var as []string
	for _, r := range rule.RunAs {
		if r != account && !strings.HasPrefix(r, "!") {
			as = append(as, r)
		}
	}
	var what string
	switch {
	case len(as) > 0:
		what = "as " + strings.Join(as, ", ")
	case len(rule.RunAsGroup) > 0:
		what = "with group " + strings.Join(rule.RunAsGroup, ", ")
	default:
		return false, ""
	}
	pw := "with its own password"
	switch {
	case rule.NoPassword:
		pw = "without a password"
	case rule.PasswordOf != "":
		// Knowing the target's or root's password is already the
		// privilege: the rule adds nothing to it.
		return false, ""
	}
	cmds := strings.Join(rule.Commands, ", ")
	if len(cmds) > 80 {
		cmds = cmds[:77] + "..."
	}
	return true, "sudo rule " + rule.Source + " (via " + rule.Via + ") runs " + cmds + " " + what + " " + pw
}

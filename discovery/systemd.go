package discovery

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/scan"
)

// unit is one systemd service unit after drop-ins are applied.
type unit struct {
	Name    string // "billing.service"; template instances as "name@inst.service"
	Source  string // in-root path of the unit file
	Enabled bool   // linked from a *.wants / *.requires directory
	// Uninstantiated is true for a template ("name@.service") that no
	// instance, link or socket uses: it runs nothing.
	Uninstantiated      bool
	User, Group         string // as written; User=="" and !DynamicUser means it runs as root
	DynamicUser         bool
	SupplementaryGroups []string
	ExecStart           []string
	Description         string            // [Unit] Description=, secrets redacted
	LoadCredentials     []string          // "ID:PATH" as written (never contents)
	Secrets             []scan.Credential // secret_env credentials (Environment= and EnvironmentFile= secrets), fingerprinted, Unit set
}

// unitDirs is systemd's unit search path for the system manager that
// matters on disk, highest precedence first. A unit name found in an
// earlier directory masks the same name in later ones.
var unitDirs = []string{
	"/etc/systemd/system",
	"/run/systemd/system",
	"/run/systemd/generator",
	"/usr/local/lib/systemd/system",
	"/lib/systemd/system",
	"/usr/lib/systemd/system",
	"/run/systemd/generator.late",
}

// unitIndex is what the unit directories hold, before any unit is parsed.
type unitIndex struct {
	fragments map[string]string            // unit name -> in-root path; "" when masked
	aliases   map[string]string            // alias name -> unit name
	dropins   map[string]map[string]string // "NAME.d" -> conf file name -> path (first dir wins); "" when masked
	enabled   map[string]bool              // names linked from *.wants / *.requires
}

// readUnits reads the service units of the root: every non-masked
// *.service, template instances that something enables or configures, and
// templates that have no instance.
func readUnits(r *Root, fp *Fingerprinter, w *warnings) []unit {
	ix := indexUnits(r)
	rd := &unitReader{r: r, fp: fp, w: w, ix: ix, envFiles: map[string]*envFile{}, files: map[string]*loadedUnit{}}

	// Services started by an enabled timer or socket count as enabled.
	for _, name := range sortedKeys(ix.enabled) {
		if t := unitType(name); t == ".timer" || t == ".socket" {
			ix.enabled[rd.activatedService(name)] = true
		}
	}

	names := map[string]bool{}
	instances := map[string]bool{} // templates with at least one instance
	consider := func(name string) {
		if !strings.HasSuffix(name, ".service") || names[name] {
			return
		}
		tmpl, inst := splitInstance(name)
		if inst == "" {
			if _, ok := ix.fragments[name]; ok {
				names[name] = true
			}
			return
		}
		if p, ok := ix.fragments[tmpl]; ok && p != "" || ix.fragments[name] != "" {
			names[name] = true
			instances[tmpl] = true
		}
	}
	for name := range ix.fragments {
		consider(name)
	}
	for name := range ix.enabled {
		consider(name)
	}
	for d := range ix.dropins {
		consider(strings.TrimSuffix(d, ".d"))
	}
	var out []unit
	for _, name := range sortedKeys(names) { // sorted: output and warnings are stable
		tmpl, inst := splitInstance(name)
		if p, ok := ix.fragments[name]; ok && p == "" || !ok && ix.fragments[tmpl] == "" {
			continue // masked, or an instance of a masked template
		}
		if inst == "" && strings.Contains(name, "@.") && instances[name] {
			continue // template shown through its instances
		}
		if u, ok := rd.read(name); ok {
			out = append(out, u)
		}
	}
	return out
}

// indexUnits lists the unit directories: unit files, masks, aliases,
// drop-in directories and *.wants / *.requires links.
func indexUnits(r *Root) *unitIndex {
	ix := &unitIndex{fragments: map[string]string{}, aliases: map[string]string{},
		dropins: map[string]map[string]string{}, enabled: map[string]bool{}}
	for _, dir := range unitDirs {
		ents, err := r.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name, p := e.Name(), path.Join(dir, e.Name())
			switch {
			case strings.HasSuffix(name, ".wants") || strings.HasSuffix(name, ".requires"):
				links, _ := r.ReadDir(p)
				for _, l := range links {
					ix.enabled[l.Name()] = true
					// A link named by an alias enables the unit it points to.
					if t, err := r.Readlink(path.Join(p, l.Name())); err == nil {
						if b := path.Base(t); b != l.Name() && !strings.Contains(b, "@.") && unitType(b) == unitType(l.Name()) {
							ix.enabled[b] = true
						}
					}
				}
			case strings.HasSuffix(name, ".d"):
				confs, _ := r.ReadDir(p)
				for _, c := range confs {
					if !strings.HasSuffix(c.Name(), ".conf") {
						continue
					}
					if ix.dropins[name] == nil {
						ix.dropins[name] = map[string]string{}
					}
					if _, ok := ix.dropins[name][c.Name()]; !ok {
						cp := path.Join(p, c.Name())
						if masked(r, cp, c) {
							cp = ""
						}
						ix.dropins[name][c.Name()] = cp
					}
				}
			case unitType(name) != "":
				if _, ok := ix.fragments[name]; ok {
					continue // masked by a higher-precedence directory
				}
				if masked(r, p, e) {
					ix.fragments[name] = ""
					continue
				}
				if e.Type()&fs.ModeSymlink != 0 {
					if t, err := r.Resolve(p); err == nil && path.Base(t) != name && unitType(path.Base(t)) == unitType(name) {
						ix.aliases[name] = path.Base(t)
						continue
					}
				}
				ix.fragments[name] = p
			}
		}
	}
	for alias, target := range ix.aliases {
		if ix.enabled[alias] {
			ix.enabled[target] = true
		}
	}
	return ix
}

// unitType returns the suffix of a unit name that roster looks at, or "".
func unitType(name string) string {
	for _, t := range []string{".service", ".timer", ".socket"} {
		if strings.HasSuffix(name, t) && len(name) > len(t) {
			return t
		}
	}
	return ""
}

// masked reports whether the unit file or drop-in e at p is a mask: a
// link to /dev/null or an empty file.
func masked(r *Root, p string, e fs.DirEntry) bool {
	if e.Type()&fs.ModeSymlink != 0 {
		if t, err := r.Readlink(p); err == nil && path.Clean(t) == "/dev/null" {
			return true // also when the root has no /dev
		}
		t, err := r.Resolve(p)
		return err == nil && t == "/dev/null"
	}
	fi, err := e.Info()
	return err == nil && fi.Mode().IsRegular() && fi.Size() == 0
}

// splitInstance splits "name@inst.service" into the template
// "name@.service" and "inst"; other names come back with inst "".
func splitInstance(name string) (template, inst string) {
	at := strings.IndexByte(name, '@')
	dot := strings.LastIndexByte(name, '.')
	if at < 0 || dot < at+1 {
		return name, ""
	}
	return name[:at+1] + name[dot:], name[at+1 : dot]
}

// unitReader parses units, caching environment files shared by units.
type unitReader struct {
	r        *Root
	fp       *Fingerprinter
	w        *warnings
	ix       *unitIndex
	envFiles map[string]*envFile
	// files caches load: a template is read for each of its instances and
	// a shared drop-in for each unit it applies to.
	files map[string]*loadedUnit
}

// loadedUnit is one load's outcome, with the warnings it gave, which are
// given again on each later load of the same file.
type loadedUnit struct {
	f     unitFile
	ok    bool
	warns []scan.Warning
}

// unitFile is one parsed unit file or drop-in.
type unitFile struct {
	path    string
	fi      fs.FileInfo
	entries []unitEntry
}

// load reads and parses one unit file, warning about what is wrong.
func (rd *unitReader) load(p string) (unitFile, bool) {
	if l, ok := rd.files[p]; ok {
		rd.w.list = append(rd.w.list, l.warns...)
		return l.f, l.ok
	}
	before := len(rd.w.list)
	f, ok := rd.parse(p)
	rd.files[p] = &loadedUnit{f: f, ok: ok, warns: slices.Clone(rd.w.list[before:])}
	return f, ok
}

func (rd *unitReader) parse(p string) (unitFile, bool) {
	data, fi, err := rd.r.ReadFileInfo(p)
	if err != nil {
		rd.w.add(p, 0, "unreadable unit file: %v", err)
		return unitFile{}, false
	}
	entries, problems := parseUnitFile(data)
	for _, pr := range problems {
		rd.w.add(p, pr.line, "%s", pr.msg)
	}
	return unitFile{path: p, fi: fi, entries: entries}, true
}

// activatedService returns the service that the timer or socket name
// starts: its Unit= or Service= setting, else the service of the same name.
func (rd *unitReader) activatedService(name string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".timer"), ".socket")
	svc := base + ".service"
	p := rd.ix.fragments[name]
	if p == "" {
		return svc
	}
	f, ok := rd.load(p)
	if !ok {
		return svc
	}
	for _, e := range f.entries {
		switch {
		case e.section == "Timer" && e.key == "Unit", e.section == "Socket" && e.key == "Service":
			svc = e.value
		case e.section == "Socket" && e.key == "Accept" && parseBool(e.value):
			svc = base + "@.service"
		}
	}
	return svc
}

// dropinFiles returns the drop-in files that apply to name, in the order
// systemd applies them: sorted by file name, a more specific directory
// ("name@inst.service.d" over "name@.service.d" over "name-.service.d"
// over "service.d") winning for equal names.
func (rd *unitReader) dropinFiles(name string) []string {
	dirs := []string{name + ".d"}
	if tmpl, inst := splitInstance(name); inst != "" {
		dirs = append(dirs, tmpl+".d")
	}
	typ := unitType(name)
	stem := strings.TrimSuffix(name, typ)
	for i := len(stem) - 1; i > 0; i-- {
		if stem[i] == '-' {
			dirs = append(dirs, stem[:i+1]+typ+".d")
		}
	}
	dirs = append(dirs, strings.TrimPrefix(typ, ".")+".d")
	chosen := map[string]string{}
	for _, d := range dirs {
		for conf, p := range rd.ix.dropins[d] {
			if _, ok := chosen[conf]; !ok {
				chosen[conf] = p
			}
		}
	}
	out := make([]string, 0, len(chosen))
	for _, c := range sortedKeys(chosen) {
		if p := chosen[c]; p != "" {
			out = append(out, p)
		}
	}
	return out
}

// envVar is one Environment= assignment and the file that made it.
type envVar struct {
	name, value string
	file        unitFile
}

// read parses the unit name with its drop-ins.
func (rd *unitReader) read(name string) (unit, bool) {
	tmpl, inst := splitInstance(name)
	src := rd.ix.fragments[name]
	if src == "" {
		src = rd.ix.fragments[tmpl]
	}
	frag, ok := rd.load(src)
	if !ok {
		return unit{}, false
	}
	files := []unitFile{frag}
	for _, p := range rd.dropinFiles(name) {
		if f, ok := rd.load(p); ok {
			files = append(files, f)
		}
	}

	u := unit{Name: name, Source: src, Enabled: rd.ix.enabled[name]}
	spec := specifiers(name, inst)
	if inst == "" && strings.Contains(name, "@.") {
		spec = strings.NewReplacer() // a bare template: specifiers stay as written
		// Only its instances run, and readUnits reads those instead;
		// an enabled template is started per connection by its socket.
		u.Uninstantiated = !u.Enabled
	}
	var env []envVar
	var envFiles []string
	var setCreds []envVar
	for _, f := range files {
		for _, e := range f.entries {
			if e.section == "Unit" && e.key == "Description" {
				u.Description = redactCommand(spec.Replace(e.value))
			}
			if e.section != "Service" {
				continue
			}
			v := spec.Replace(e.value)
			switch e.key {
			case "User":
				u.User = v
			case "Group":
				u.Group = v
			case "DynamicUser":
				u.DynamicUser = parseBool(v)
			case "SupplementaryGroups":
				u.SupplementaryGroups = resetOrAppend(u.SupplementaryGroups, strings.Fields(v), v)
			case "ExecStart":
				u.ExecStart = resetOrAppend(u.ExecStart, []string{redactCommand(strings.TrimLeft(v, "-@+!:|"))}, v)
			case "LoadCredential", "LoadCredentialEncrypted":
				u.LoadCredentials = resetOrAppend(u.LoadCredentials, []string{v}, v)
			case "EnvironmentFile":
				envFiles = resetOrAppend(envFiles, []string{v}, v)
			case "SetCredential", "SetCredentialEncrypted":
				if id, val, ok := strings.Cut(v, ":"); ok && val != "" {
					setCreds = append(setCreds, envVar{name: id, value: val, file: f})
				}
			case "Environment":
				if v == "" {
					env = nil
					continue
				}
				vars, bad, err := splitEnvironment(v)
				if err != nil {
					rd.w.add(f.path, e.line, "Environment=: %v", err)
				}
				for _, i := range bad {
					rd.w.add(f.path, e.line, "Environment=: assignment %d is not NAME=VALUE", i)
				}
				for _, a := range vars {
					env = append(env, envVar{name: a.name, value: a.value, file: f})
				}
			}
		}
	}

	// The last assignment of a variable wins; report each secret once.
	last := map[string]int{}
	for i, v := range env {
		last[v.name] = i
	}
	for i, v := range env {
		if last[v.name] != i {
			continue
		}
		if secret, ok := envSecret(v.name, v.value); ok {
			u.Secrets = append(u.Secrets, rd.secret(v.name, "unit "+name, name, secret, v.file.fi))
		}
	}
	for _, v := range setCreds {
		u.Secrets = append(u.Secrets, rd.secret(v.name, "unit "+name, name, v.value, v.file.fi))
	}
	for _, ef := range envFiles {
		u.Secrets = append(u.Secrets, rd.envFileSecrets(name, src, ef)...)
	}
	return u, true
}

// secret builds a secret_env credential; fi is the file that holds it.
func (rd *unitReader) secret(varName, loc, unitName, value string, fi fs.FileInfo) scan.Credential {
	c := scan.Credential{Type: scan.CredSecretEnv, Name: varName, Location: loc, Unit: unitName,
		Fingerprint: rd.fp.Secret([]byte(value))}
	setFileFacts(&c, fi)
	return c
}

// envFileSecrets returns the secret variables in the files that one
// EnvironmentFile= setting names ("-" prefix: optional; globs allowed).
func (rd *unitReader) envFileSecrets(unitName, src, spec string) []scan.Credential {
	optional := strings.HasPrefix(spec, "-")
	p := strings.TrimPrefix(spec, "-")
	if !path.IsAbs(p) {
		rd.w.add(src, 0, "%s: EnvironmentFile= path %q is not absolute", unitName, clip(p))
		return nil
	}
	paths := []string{path.Clean(p)}
	if strings.ContainsAny(path.Base(p), "*?[") {
		paths = rd.r.Glob(p)
	}
	var out []scan.Credential
	for _, p := range paths {
		ef := rd.envFiles[p]
		if ef == nil {
			ef = readEnvFile(rd.r, p, rd.w)
			rd.envFiles[p] = ef
		}
		if ef.err != nil {
			if !optional || !errors.Is(ef.err, fs.ErrNotExist) {
				rd.w.add(p, 0, "environment file of %s: %v", unitName, ef.err)
			}
			continue
		}
		for _, v := range ef.vars {
			if secret, ok := envSecret(v.name, v.value); ok {
				out = append(out, rd.secret(v.name, lineLoc(p, v.line), unitName, secret, ef.fi))
			}
		}
	}
	return out
}

// envFile is one parsed EnvironmentFile=.
type envFile struct {
	vars []envAssignment
	fi   fs.FileInfo
	err  error
}

type envAssignment struct {
	name, value string
	line        int
}

// readEnvFile reads an environment file, warning once about bad lines.
func readEnvFile(r *Root, p string, w *warnings) *envFile {
	data, fi, err := r.ReadFileInfo(p)
	if err != nil {
		return &envFile{err: err}
	}
	vars, problems := parseEnvFile(data)
	for _, pr := range problems {
		w.add(p, pr.line, "%s", pr.msg)
	}
	return &envFile{vars: vars, fi: fi}
}

// parseEnvFile parses systemd's EnvironmentFile= format: NAME=VALUE lines,
// values optionally quoted, "#" and ";" comments, "\" line continuations.
// Later assignments of a name replace earlier ones.
func parseEnvFile(data []byte) ([]envAssignment, []lineProblem) {
	var vars []envAssignment
	var problems []lineProblem
	index := map[string]int{}
	logicalLines(data, func(n int, line string) {
		if line == "" || line[0] == '#' || line[0] == ';' {
			return
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimPrefix(strings.TrimSpace(k), "export ")
		if !ok || !validEnvName(strings.TrimSpace(k)) {
			problems = append(problems, lineProblem{n, "environment file line is not NAME=VALUE"})
			return
		}
		k = strings.TrimSpace(k)
		v = strings.TrimSpace(v)
		if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
			words, err := splitWords(v)
			if err != nil || len(words) != 1 {
				problems = append(problems, lineProblem{n, fmt.Sprintf("value of %s is not properly quoted", k)})
				return
			}
			v = words[0]
		}
		if i, ok := index[k]; ok {
			vars[i] = envAssignment{k, v, n}
			return
		}
		index[k] = len(vars)
		vars = append(vars, envAssignment{k, v, n})
	})
	return vars, problems
}

// splitEnvironment splits an Environment= value into its assignments, as
// systemd does: quoted words, several per line. Words that are not
// NAME=VALUE are skipped and returned by their 1-based position.
func splitEnvironment(v string) ([]envAssignment, []int, error) {
	words, err := splitWords(v)
	if err != nil {
		return nil, nil, err
	}
	var vars []envAssignment
	var bad []int
	for i, word := range words {
		k, val, ok := strings.Cut(word, "=")
		if !ok || !validEnvName(k) {
			bad = append(bad, i+1)
			continue
		}
		vars = append(vars, envAssignment{name: k, value: val})
	}
	return vars, bad, nil
}

// resetOrAppend implements list settings: an empty assignment clears the
// list, any other appends to it.
func resetOrAppend(list, add []string, raw string) []string {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	return append(list, add...)
}

// parseBool parses a systemd boolean.
func parseBool(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "yes", "y", "true", "t", "on":
		return true
	}
	return false
}

// specifiers returns a replacer for the unit specifiers roster can expand
// from the name alone: %n %N %p %P %i %I %j %J %%.
func specifiers(name, inst string) *strings.Replacer {
	stem := strings.TrimSuffix(name, path.Ext(name))
	prefix := stem
	if at := strings.IndexByte(stem, '@'); at >= 0 {
		prefix = stem[:at]
	}
	last := prefix
	if d := strings.LastIndexByte(prefix, '-'); d >= 0 {
		last = prefix[d+1:]
	}
	return strings.NewReplacer("%%", "%", "%n", name, "%N", stem, "%p", prefix, "%P", unescapeUnitName(prefix),
		"%i", inst, "%I", unescapeUnitName(inst), "%j", last, "%J", unescapeUnitName(last))
}

// unescapeUnitName undoes systemd-escape: "\xNN" is a byte, "-" is "/".
func unescapeUnitName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '-':
			b.WriteByte('/')
		case s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x':
			if n, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
			b.WriteByte(s[i])
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// unitEntry is one Key=Value assignment of a unit file.
type unitEntry struct {
	section, key, value string
	line                int
}

// lineProblem is a malformed line, described without quoting its content.
type lineProblem struct {
	line int
	msg  string
}

// parseUnitFile parses the systemd unit file syntax: [Section] headers,
// Key=Value assignments, "#" and ";" comments, and "\" continuations
// (comment lines inside a continuation are dropped, as systemd does).
func parseUnitFile(data []byte) ([]unitEntry, []lineProblem) {
	var entries []unitEntry
	var problems []lineProblem
	section := ""
	logicalLines(data, func(n int, line string) {
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				problems = append(problems, lineProblem{n, "malformed section header"})
				section = ""
				return
			}
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			k = strings.TrimSpace(k)
			switch {
			case !ok || k == "":
				problems = append(problems, lineProblem{n, "line is neither a section header nor Key=Value"})
			case section == "":
				problems = append(problems, lineProblem{n, fmt.Sprintf("assignment to %s outside of a section", clip(k))})
			default:
				entries = append(entries, unitEntry{section, k, strings.TrimSpace(v), n})
			}
		}
	})
	return entries, problems
}

// logicalLines calls fn with each trimmed logical line and the number of
// its first physical line, joining lines that end in a backslash. Comment
// lines inside a continuation are skipped.
func logicalLines(data []byte, fn func(n int, line string)) {
	var cont strings.Builder
	start := 0
	lines(data, func(n int, line string) {
		line = strings.TrimSpace(line)
		if cont.Len() > 0 && (strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			return
		}
		if start == 0 {
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			cont.WriteString(strings.TrimSuffix(line, "\\"))
			cont.WriteByte(' ')
			return
		}
		cont.WriteString(line)
		fn(start, strings.TrimSpace(cont.String()))
		cont.Reset()
		start = 0
	})
	if start != 0 {
		fn(start, strings.TrimSpace(cont.String()))
	}
}

// splitWords splits s into words as systemd and sshd do: whitespace
// separates words, "..." and '...' quote (anywhere in a word), and a
// backslash escapes the next character (\n, \t, \r, \\, \", \' and
// \xNN are decoded). An unterminated quote is an error.
func splitWords(s string) ([]string, error) {
	var words []string
	var b strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("trailing backslash")
			}
			i++
			inWord = true
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'x':
				if i+2 < len(s) {
					if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
						b.WriteByte(byte(n))
						i += 2
						continue
					}
				}
				b.WriteByte('x')
			default:
				b.WriteByte(s[i])
			}
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				b.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		words = append(words, b.String())
	}
	return words, nil
}

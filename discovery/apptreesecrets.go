package discovery

import (
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/scan"
	"go.yaml.in/yaml/v3"
)

// Bounds of the walk for application configuration files (.env,
// docker-compose*.yml, *.properties) under appConfigRoots: a hostile or
// merely huge tree costs at most this much.
const (
	appWalkDepth = 4    // directory levels below a root
	appWalkDirs  = 2000 // directories listed over the whole walk
	appWalkFiles = 500  // matching files read over the whole walk
)

// appConfigRoots are where applications keep their configuration.
var appConfigRoots = []string{"/srv", "/opt", "/etc"}

// appSkipDirs are trees that hold no deployment configuration but many
// files.
var appSkipDirs = map[string]bool{".git": true, "node_modules": true, "vendor": true, "__pycache__": true,
	".cache": true, "site-packages": true, "dist-packages": true, "ssl": true, "certs": true, "alternatives": true}

var composeName = regexp.MustCompile(`^(docker-)?compose([.-][A-Za-z0-9_.-]+)?\.ya?ml$`)

// appConfigKind returns the configSecretFile for a file name, or false.
func appConfigKind(name string) (configSecretFile, bool) {
	switch {
	case name == ".env" || strings.HasPrefix(name, ".env.") && !strings.HasSuffix(name, ".example") && !strings.HasSuffix(name, ".sample"):
		return configSecretFile{credType: scan.CredSecretEnv, parse: parseEnvironment}, true
	case composeName.MatchString(name):
		return configSecretFile{credType: scan.CredSecretEnv, parse: parseCompose}, true
	case strings.HasSuffix(name, ".properties"):
		return configSecretFile{credType: scan.CredSecretEnv, parse: parseProperties}, true
	}
	return configSecretFile{}, false
}

// appConfigFiles walks appConfigRoots breadth-first within the bounds and
// returns the matching files in walk order. Links to directories are not
// followed (the listing's type is the link's).
func appConfigFiles(r *Root, w *warnings) []string {
	type dir struct {
		p     string
		depth int
	}
	var queue []dir
	for _, root := range appConfigRoots {
		queue = append(queue, dir{root, 0})
	}
	var out []string
	listed := 0
	for len(queue) > 0 && len(out) < appWalkFiles {
		d := queue[0]
		queue = queue[1:]
		if listed == appWalkDirs {
			w.add(d.p, 0, "application configuration walk stopped after %d directories", appWalkDirs)
			break
		}
		listed++
		ents, err := r.ReadDir(d.p)
		if err != nil {
			continue // missing or unreadable: the other readers warn about what matters
		}
		for _, e := range ents {
			name := e.Name()
			switch {
			case e.IsDir():
				if d.depth < appWalkDepth && !appSkipDirs[name] {
					queue = append(queue, dir{path.Join(d.p, name), d.depth + 1})
				}
			case e.Type().IsRegular():
				if _, ok := appConfigKind(name); ok && len(out) < appWalkFiles {
					out = append(out, path.Join(d.p, name))
				}
			}
		}
	}
	if len(out) == appWalkFiles {
		w.add("/", 0, "application configuration walk stopped after %d files", appWalkFiles)
	}
	return out
}

// readAppConfigSecrets returns the secrets of the application
// configuration files under appConfigRoots, each owned by its file's uid.
func readAppConfigSecrets(r *Root, fp *Fingerprinter, w *warnings) []ownedCredential {
	var out []ownedCredential
	for _, p := range appConfigFiles(r, w) {
		f, _ := appConfigKind(path.Base(p))
		f.glob = p
		data, fi, err := readOptional(r, w, p, "unreadable application configuration file")
		if err != nil {
			continue
		}
		uid := fileUID(fi)
		if uid < 0 {
			uid = 0
		}
		for _, c := range configCredentials(p, data, fi, f, fp, w) {
			out = append(out, ownedCredential{UID: uid, Cred: c})
		}
	}
	return out
}

// parseCompose parses a docker-compose file for secret variables in every
// "environment:" block (a mapping, or a list of NAME=VALUE).
func parseCompose(data []byte) ([]foundSecret, []lineProblem) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		if line > strings.Count(string(data), "\n")+1 {
			line = 0 // YAML also breaks lines at a lone CR
		}
		return nil, []lineProblem{{line, "not valid YAML"}} // yaml errors may quote values
	}
	var vars []envAssignment
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if depth > 64 {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value != "environment" {
					continue
				}
				switch v.Kind {
				case yaml.MappingNode:
					for j := 0; j+1 < len(v.Content); j += 2 {
						if v.Content[j+1].Kind == yaml.ScalarNode {
							vars = append(vars, envAssignment{v.Content[j].Value, v.Content[j+1].Value, v.Content[j].Line})
						}
					}
				case yaml.SequenceNode:
					for _, e := range v.Content {
						if k, val, ok := strings.Cut(e.Value, "="); ok && e.Kind == yaml.ScalarNode {
							vars = append(vars, envAssignment{k, val, e.Line})
						}
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(&doc, 0)
	out := envSecrets(vars)
	maxLine := strings.Count(string(data), "\n") + 1
	for i := range out {
		if out[i].line < 1 || out[i].line > maxLine {
			out[i].line = 1 // YAML also breaks lines at a lone CR
		}
	}
	return out, nil
}

// parseProperties parses a Java .properties file (key=value, key: value
// or key value; "#" and "!" comments) for keys that name a password or
// other secret (db.password, spring.datasource.password).
func parseProperties(data []byte) ([]foundSecret, []lineProblem) {
	var vars []envAssignment
	cont := false
	lines(data, func(n int, line string) {
		t := strings.TrimSpace(line)
		wasCont := cont
		cont = strings.HasSuffix(t, "\\") && !strings.HasSuffix(t, "\\\\")
		if wasCont || t == "" || t[0] == '#' || t[0] == '!' {
			return
		}
		i := strings.IndexAny(t, "=: \t")
		if i < 0 {
			return
		}
		k := t[:i]
		v := strings.TrimLeft(t[i:], " \t")
		if v != "" && (v[0] == '=' || v[0] == ':') {
			v = strings.TrimLeft(v[1:], " \t")
		}
		if cont {
			v = strings.TrimSuffix(v, "\\")
		}
		vars = append(vars, envAssignment{k, v, n})
	})
	return envSecrets(vars), nil
}

package discovery

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/rosterhq/roster/scan"
)

// foundSecret is one secret value in a configuration file: the variable or
// option that holds it and its line.
type foundSecret struct {
	name, value string
	line        int
}

// lineSecretParser extracts the secrets of one kind of configuration file
// with their lines. It reports malformed lines without quoting them.
type lineSecretParser func(data []byte) ([]foundSecret, []lineProblem)

// configSecretFile is a configuration file (an absolute path or glob) that
// may hold secrets, the credential type its secrets are reported as, and
// the kind: the credential Name for files whose options are fixed
// (redis, pg_service); variables are reported by their own name.
type configSecretFile struct {
	glob, credType, kind string
	parse                lineSecretParser
}

// configSecretFiles are the system configuration files read for secrets.
var configSecretFiles = []configSecretFile{
	{"/etc/environment", scan.CredSecretEnv, "", parseEnvironment},
	{"/etc/redis.conf", scan.CredSecretFile, "redis", parseRedisConf},
	{"/etc/redis/*.conf", scan.CredSecretFile, "redis", parseRedisConf},
	{"/etc/pg_service.conf", scan.CredSecretFile, "pg_service", parsePgService},
	{"/etc/postgresql-common/pg_service.conf", scan.CredSecretFile, "pg_service", parsePgService},
	{"/etc/sysconfig/pgsql/pg_service.conf", scan.CredSecretFile, "pg_service", parsePgService},
}

// readConfigSecrets returns the secrets of configSecretFiles, each owned by
// the uid that owns its file.
func readConfigSecrets(r *Root, fp *Fingerprinter, w *warnings) []ownedCredential {
	var out []ownedCredential
	seen := map[string]bool{}
	for _, f := range configSecretFiles {
		paths := []string{f.glob}
		if strings.Contains(f.glob, "*") {
			paths = r.Glob(f.glob)
		}
		for _, p := range paths {
			if seen[p] {
				continue
			}
			seen[p] = true
			data, fi, err := readOptional(r, w, p, "unreadable "+kindLabel(f)+" file")
			if err != nil {
				continue
			}
			uid := fileUID(fi)
			if uid < 0 {
				uid = 0 // the platform does not say; count it as root
			}
			for _, c := range configCredentials(p, data, fi, f, fp, w) {
				out = append(out, ownedCredential{UID: uid, Cred: c})
			}
		}
	}
	return append(out, readAppConfigSecrets(r, fp, w)...)
}

func kindLabel(f configSecretFile) string {
	if f.kind != "" {
		return f.kind
	}
	return path.Base(f.glob)
}

// configCredentials parses one configuration file and returns one
// credential per secret, located at its line.
func configCredentials(p string, data []byte, fi fs.FileInfo, f configSecretFile, fp *Fingerprinter, w *warnings) []scan.Credential {
	secrets, problems := f.parse(data)
	for _, pr := range problems {
		w.add(p, pr.line, "%s: %s", kindLabel(f), pr.msg)
	}
	var out []scan.Credential
	for _, s := range secrets {
		name := f.kind
		if name == "" {
			name = s.name
		}
		c := scan.Credential{Type: f.credType, Name: name, Location: lineLoc(p, s.line), Fingerprint: fp.Secret([]byte(s.value))}
		setFileFacts(&c, fi)
		out = append(out, c)
	}
	return out
}

// envSecrets keeps the assignments that carry a secret (envSecret).
func envSecrets(vars []envAssignment) []foundSecret {
	var out []foundSecret
	for _, v := range vars {
		if v.name == "" {
			continue
		}
		if s, ok := envSecret(v.name, v.value); ok {
			out = append(out, foundSecret{v.name, s, v.line})
		}
	}
	return out
}

// parseEnvironment parses /etc/environment (pam_env's NAME=VALUE lines,
// the EnvironmentFile= syntax) for secret variables.
func parseEnvironment(data []byte) ([]foundSecret, []lineProblem) {
	vars, problems := parseEnvFile(data)
	return envSecrets(vars), problems
}

// parseCrontabEnv returns the secret variable assignments of a crontab
// (PGPASSWORD=..., API_TOKEN = "..."): cron's NAME=VALUE lines, the name
// and value optionally quoted. Job lines are parseCrontab's.
func parseCrontabEnv(data []byte) ([]foundSecret, []lineProblem) {
	var vars []envAssignment
	var problems []lineProblem
	lines(data, func(n int, line string) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || !cronEnv.MatchString(line) {
			return
		}
		k, v, _ := strings.Cut(line, "=")
		k = strings.Trim(strings.TrimSpace(k), `"'`)
		v = strings.TrimSpace(v)
		if len(v) > 1 && (v[0] == '"' || v[0] == '\'') {
			if v[len(v)-1] != v[0] {
				problems = append(problems, lineProblem{n, fmt.Sprintf("value of %s is not properly quoted", clip(k))})
				return
			}
			v = v[1 : len(v)-1]
		}
		vars = append(vars, envAssignment{k, v, n})
	})
	return envSecrets(vars), problems
}

// parseRedisConf parses redis.conf for requirepass and masterauth (the
// value optionally quoted).
func parseRedisConf(data []byte) ([]foundSecret, []lineProblem) {
	var out []foundSecret
	var problems []lineProblem
	lines(data, func(n int, line string) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			return
		}
		kw, rest, _ := strings.Cut(line, " ")
		kw = strings.ToLower(kw)
		if kw != "requirepass" && kw != "masterauth" {
			return
		}
		v := strings.TrimSpace(rest)
		if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
			words, err := splitWords(v)
			if err != nil || len(words) != 1 {
				problems = append(problems, lineProblem{n, kw + " value is not properly quoted"})
				return
			}
			v = words[0]
		}
		if v != "" {
			out = append(out, foundSecret{kw, v, n})
		}
	})
	return out, problems
}

// parsePgService parses a PostgreSQL connection service file
// (pg_service.conf, ~/.pg_service.conf): [service] sections with
// key=value lines; password= holds the secret.
func parsePgService(data []byte) ([]foundSecret, []lineProblem) {
	entries, problems := parseINI(data, false)
	var out []foundSecret
	for _, e := range entries {
		if strings.EqualFold(e.key, "password") && e.value != "" {
			out = append(out, foundSecret{"password", e.value, e.line})
		}
	}
	return out, problems
}

// readHomeConfigSecrets returns the secrets of configuration files at the
// top of a home (~/.pg_service.conf, .env, docker-compose*.yml,
// *.properties); present is the home's listing, so a home costs no extra
// lookups.
func readHomeConfigSecrets(r *Root, home string, present map[string]bool, fp *Fingerprinter, w *warnings) []scan.Credential {
	var out []scan.Credential
	if present[".config"] {
		out = readUserUnitSecrets(r, home, fp, w)
	}
	var names []string
	for name := range present {
		if _, ok := appConfigKind(name); ok || name == ".pg_service.conf" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		f, _ := appConfigKind(name)
		if name == ".pg_service.conf" {
			f = configSecretFile{credType: scan.CredSecretFile, kind: "pg_service", parse: parsePgService}
		}
		p := path.Join(home, name)
		f.glob = p
		data, fi, err := readOptional(r, w, p, "unreadable "+kindLabel(f)+" file")
		if err != nil {
			continue
		}
		out = append(out, configCredentials(p, data, fi, f, fp, w)...)
	}
	return out
}

// maxUserUnits bounds the systemd user units read per home.
const maxUserUnits = 100

// readUserUnitSecrets returns the secret variables of a home's systemd
// user units (~/.config/systemd/user/*.service): Environment= and the
// files EnvironmentFile= names. The units run as the home's account.
func readUserUnitSecrets(r *Root, home string, fp *Fingerprinter, w *warnings) []scan.Credential {
	units := r.Glob(path.Join(home, ".config/systemd/user/*.service"))
	if len(units) > maxUserUnits {
		w.add(path.Join(home, ".config/systemd/user"), 0, "%d user units, only the first %d read for secrets", len(units), maxUserUnits)
		units = units[:maxUserUnits]
	}
	var out []scan.Credential
	add := func(name, value, loc, unitName string, fi fs.FileInfo) {
		c := scan.Credential{Type: scan.CredSecretEnv, Name: name, Location: loc, Unit: unitName, Fingerprint: fp.Secret([]byte(value))}
		setFileFacts(&c, fi)
		out = append(out, c)
	}
	for _, p := range units {
		data, fi, err := readOptional(r, w, p, "unreadable user unit")
		if err != nil {
			continue
		}
		unitName := path.Base(p)
		entries, problems := parseUnitFile(data)
		for _, pr := range problems {
			w.add(p, pr.line, "%s", pr.msg)
		}
		for _, e := range entries {
			if e.section != "Service" {
				continue
			}
			switch e.key {
			case "Environment":
				vars, _, err := splitEnvironment(e.value)
				if err != nil {
					w.add(p, e.line, "Environment=: %v", err)
				}
				for _, v := range vars {
					if s, ok := envSecret(v.name, v.value); ok {
						add(v.name, s, lineLoc(p, e.line), unitName, fi)
					}
				}
			case "EnvironmentFile":
				ep := strings.TrimPrefix(e.value, "-")
				if strings.HasPrefix(ep, "%h/") {
					ep = path.Join(home, ep[3:])
				}
				if !path.IsAbs(ep) || strings.Contains(ep, "%") {
					continue
				}
				ef := readEnvFile(r, path.Clean(ep), w)
				if ef.err != nil {
					if !strings.HasPrefix(e.value, "-") || !errors.Is(ef.err, fs.ErrNotExist) {
						w.add(ep, 0, "environment file of %s: %v", unitName, ef.err)
					}
					continue
				}
				for _, v := range ef.vars {
					if s, ok := envSecret(v.name, v.value); ok {
						add(v.name, s, lineLoc(ep, v.line), unitName, ef.fi)
					}
				}
			}
		}
	}
	return out
}

package discovery

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/scan"
	"go.yaml.in/yaml/v3"
)

// secretParser extracts the secret values of one kind of credential file.
// It reports malformed lines without quoting them.
type secretParser func(data []byte) ([]string, []lineProblem)

// secretFile is a kind of credential file: where it is (a path relative to
// a home, or an absolute glob), the kind reported as the credential Name,
// and its parser.
type secretFile struct {
	path, kind string
	parse      secretParser
}

// homeSecretFiles are the credential files looked for in every home.
var homeSecretFiles = []secretFile{
	{".pgpass", "pgpass", parsePgpass},
	{".netrc", "netrc", parseNetrc},
	{".my.cnf", "mycnf", parseMyCnf},
	{".aws/credentials", "aws", parseAWS},
	{".aws/config", "aws", parseAWS},
	{".docker/config.json", "docker", parseDockerConfig},
	{".git-credentials", "git-credentials", parseGitCredentials},
	{".config/git/credentials", "git-credentials", parseGitCredentials},
	{".kube/config", "kubeconfig", parseKubeconfig},
}

// readSecretFiles returns one secret_file credential per credential file in
// home that holds at least one secret value, plus keytabs (*.keytab).
func readSecretFiles(r *Root, home string, fp *Fingerprinter, w *warnings) []scan.Credential {
	if home == "" || !path.IsAbs(home) {
		return nil
	}
	// One listing of the home saves a lookup per file on hosts where most
	// homes are missing or empty.
	ents, err := r.ReadDir(home)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			w.add(home, 0, "unreadable home directory, credential files not checked: %v", err)
		}
		return nil
	}
	present := map[string]bool{}
	var keytabs []string
	for _, e := range ents {
		present[e.Name()] = true
		if strings.HasSuffix(e.Name(), ".keytab") {
			keytabs = append(keytabs, e.Name())
		}
	}
	var out []scan.Credential
	add := func(p, kind string, parse secretParser) {
		if c, _ := readSecretFile(r, p, kind, parse, fp, w); c != nil {
			out = append(out, *c)
		}
	}
	for _, f := range homeSecretFiles {
		if first, _, _ := strings.Cut(f.path, "/"); present[first] {
			add(path.Join(home, f.path), f.kind, f.parse)
		}
	}
	for _, k := range keytabs {
		add(path.Join(home, k), "keytab", parseKeytab)
	}
	out = append(out, readHomeConfigSecrets(r, home, present, fp, w)...)
	return out
}

// ownedCredential is a credential in a system file, owned by the file's uid.
type ownedCredential struct {
	UID  int
	Cred scan.Credential
}

// systemSecretFiles are credential files outside homes, as globs: host
// and service keytabs, and Debian's MySQL maintenance account.
var systemSecretFiles = []secretFile{
	{"/etc/krb5.keytab", "keytab", parseKeytab},
	{"/etc/*.keytab", "keytab", parseKeytab},
	{"/etc/krb5/*.keytab", "keytab", parseKeytab},
	{"/etc/krb5kdc/kadm5.keytab", "keytab", parseKeytab},
	{"/var/kerberos/krb5kdc/kadm5.keytab", "keytab", parseKeytab},
	{"/etc/security/keytabs/*.keytab", "keytab", parseKeytab},
	{"/etc/sssd/*.keytab", "keytab", parseKeytab},
	{"/etc/mysql/debian.cnf", "mycnf", parseMyCnf},
}

// readSystemSecrets returns the credential files outside homes, each
// owned by the uid that owns the file.
func readSystemSecrets(r *Root, fp *Fingerprinter, w *warnings) []ownedCredential {
	var out []ownedCredential
	seen := map[string]bool{}
	for _, f := range systemSecretFiles {
		paths := []string{f.path}
		if strings.Contains(f.path, "*") {
			paths = r.Glob(f.path)
		}
		for _, p := range paths {
			if seen[p] {
				continue
			}
			seen[p] = true
			c, fi := readSecretFile(r, p, f.kind, f.parse, fp, w)
			if c == nil {
				continue
			}
			uid := fileUID(fi)
			if uid < 0 {
				uid = 0 // the platform does not say; count it as root
			}
			out = append(out, ownedCredential{UID: uid, Cred: *c})
		}
	}
	return out
}

// readSecretFile parses the credential file p. A missing file is not a
// warning; an unreadable or malformed one is. It returns nil when the file
// holds no secret value.
func readSecretFile(r *Root, p, kind string, parse secretParser, fp *Fingerprinter, w *warnings) (*scan.Credential, fs.FileInfo) {
	data, fi, err := readOptional(r, w, p, "unreadable "+kind+" file")
	if err != nil {
		return nil, nil
	}
	secrets, problems := parse(data)
	for _, pr := range problems {
		w.add(p, pr.line, "%s: %s", kind, pr.msg)
	}
	if len(secrets) == 0 {
		return nil, nil
	}
	c := &scan.Credential{Type: scan.CredSecretFile, Name: kind, Location: p, Fingerprint: fingerprintSet(fp, secrets)}
	setFileFacts(c, fi)
	return c, fi
}

// fingerprintSet fingerprints a set of secret values canonically: sorted
// and joined with NUL, so the order in the file does not matter.
func fingerprintSet(fp *Fingerprinter, secrets []string) string {
	s := append([]string(nil), secrets...)
	sort.Strings(s)
	return fp.Secret([]byte(strings.Join(s, "\x00")))
}

// setFileFacts records the mode, change time and age of the file holding a
// secret, and findings when group or others may read it.
func setFileFacts(c *scan.Credential, fi fs.FileInfo) {
	if fi == nil {
		return
	}
	c.Mode = fmt.Sprintf("%04o", fi.Mode().Perm())
	if fi.Mode()&0o004 != 0 {
		c.Findings = append(c.Findings, "readable by others")
	} else if fi.Mode()&0o040 != 0 {
		c.Findings = append(c.Findings, "readable by group")
	}
	t := fi.ModTime().UTC()
	age := max(int(time.Since(t).Hours()/24), 0)
	c.ChangedAt, c.AgeDays = &t, &age
}

// secretNameParts mark a variable name as secret wherever they appear.
var secretNameParts = []string{"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY", "API_KEY",
	"PRIVATE_KEY", "PRIVATEKEY", "ACCESS_KEY", "ACCESSKEY", "CREDENTIAL", "ENCRYPTION_KEY", "SIGNING_KEY",
	"MASTER_KEY", "AUTHORIZATION", "REQUIREPASS", "MASTERAUTH"}

// secretLastWords mark a name as secret when they are its last word
// (DB_PASS, SMTP_PWD, BASIC_AUTH, --pass); alone, "PWD" is the working
// directory.
var secretLastWords = map[string]bool{"PASS": true, "PWD": true, "AUTH": true}

// notSecretLastWords end names that describe a secret without holding it:
// PASSWORD_FILE, TOKEN_URL, AWS_ACCESS_KEY_ID, SECRET_NAME, ...
var notSecretLastWords = map[string]bool{"FILE": true, "FILENAME": true, "PATH": true, "DIR": true,
	"URL": true, "URI": true, "ENDPOINT": true, "HOST": true, "PORT": true, "TTL": true, "TIMEOUT": true,
	"EXPIRY": true, "EXPIRES": true, "EXPIRATION": true, "LIFETIME": true, "LENGTH": true, "LEN": true,
	"SIZE": true, "USER": true, "USERNAME": true, "NAME": true, "TYPE": true, "ID": true, "METHOD": true,
	"MODE": true, "ENABLED": true, "DISABLED": true, "REQUIRED": true, "HEADER": true, "PROVIDER": true,
	"COMMAND": true, "CMD": true}

// notTokenWords blanks plural or derived forms that name settings about
// tokens, not tokens: APACHE_SERVERTOKENS, MAX_TOKENS, TOKENIZER.
var notTokenWords = strings.NewReplacer("TOKENS", "_", "TOKENIZ", "_")

// secretName reports whether a variable or option name looks like it holds
// a secret. The match is case-insensitive; words are separated by "_",
// "-" or ".".
func secretName(name string) bool {
	up := strings.ToUpper(name)
	words := strings.FieldsFunc(up, func(c rune) bool { return c == '_' || c == '-' || c == '.' })
	if len(words) == 0 || notSecretLastWords[words[len(words)-1]] {
		return false
	}
	if last := words[len(words)-1]; secretLastWords[last] && (len(words) > 1 || last != "PWD") {
		return true
	}
	norm := strings.Join(words, "_")
	norm = notTokenWords.Replace(norm)
	for _, p := range secretNameParts {
		if strings.Contains(norm, p) {
			return true
		}
	}
	return false
}

// envSecret decides whether the variable name=value carries a secret and
// returns the secret: the whole value for a secret-looking name, else the
// password of a URL value (postgres://user:pw@host/db). Booleans and bare
// variable references are not secrets.
func envSecret(name, value string) (string, bool) {
	if value == "" {
		return "", false
	}
	if secretName(name) {
		switch strings.ToLower(value) {
		case "true", "false", "yes", "no", "on", "off":
			return "", false
		}
		if varRef.MatchString(value) {
			return "", false
		}
		return value, true
	}
	if pw := urlPassword(value); pw != "" {
		return pw, true
	}
	return "", false
}

var varRef = regexp.MustCompile(`^\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$`)

// urlPassword returns the password of a URL with userinfo, or "".
func urlPassword(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return ""
	}
	pw, _ := u.User.Password()
	return pw
}

// parsePgpass parses ~/.pgpass: host:port:database:user:password lines
// with "\:" and "\\" escapes.
func parsePgpass(data []byte) ([]string, []lineProblem) {
	var secrets []string
	var problems []lineProblem
	lines(data, func(n int, line string) {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			return
		}
		var fields []string
		var b strings.Builder
		for i := 0; i < len(line) && len(fields) < 5; i++ {
			switch {
			case line[i] == '\\' && i+1 < len(line):
				i++
				b.WriteByte(line[i])
			case line[i] == ':':
				fields = append(fields, b.String())
				b.Reset()
			default:
				b.WriteByte(line[i])
			}
		}
		if len(fields) < 5 {
			fields = append(fields, b.String())
		}
		if len(fields) != 5 {
			problems = append(problems, lineProblem{n, fmt.Sprintf("line has %d fields, want host:port:database:user:password", len(fields))})
			return
		}
		if fields[4] != "" {
			secrets = append(secrets, fields[4])
		}
	})
	return secrets, problems
}

// parseNetrc parses ~/.netrc: machine/default blocks with login, password
// and account tokens; macdef bodies run to the next empty line.
func parseNetrc(data []byte) ([]string, []lineProblem) {
	var secrets []string
	var problems []lineProblem
	expect, expectLine := "", 0 // a keyword waiting for its value
	inMacro := false
	lines(data, func(n int, line string) {
		if inMacro {
			inMacro = strings.TrimSpace(line) != ""
			return
		}
		words, err := splitWords(line)
		if err != nil {
			problems = append(problems, lineProblem{n, "unterminated quote"})
			return
		}
		for _, w := range words {
			if expect != "" {
				if (expect == "password" || expect == "account") && w != "" {
					secrets = append(secrets, w)
				}
				inMacro = expect == "macdef"
				expect = ""
				if inMacro {
					return
				}
				continue
			}
			switch {
			case strings.HasPrefix(w, "#"):
				return
			case w == "default":
			case w == "machine" || w == "login" || w == "password" || w == "account" || w == "macdef":
				expect, expectLine = w, n
			default:
				problems = append(problems, lineProblem{n, "unexpected token"})
			}
		}
	})
	if expect != "" {
		problems = append(problems, lineProblem{expectLine, fmt.Sprintf("%q has no value", expect)})
	}
	return secrets, problems
}

// iniEntry is one key=value of an INI-style file.
type iniEntry struct {
	section, key, value string
	line                int
}

// parseINI parses [section] headers and key=value lines; "#" and ";" start
// comment lines. Lines without "=" are flags when flagsOK, else malformed.
// Lines starting with "!" (MySQL's !include) are directives and skipped.
func parseINI(data []byte, flagsOK bool) ([]iniEntry, []lineProblem) {
	var entries []iniEntry
	var problems []lineProblem
	section := ""
	lines(data, func(n int, line string) {
		t := strings.TrimSpace(line)
		switch {
		case t == "" || t[0] == '#' || t[0] == ';' || t[0] == '!':
		case t[0] == '[':
			if !strings.HasSuffix(t, "]") {
				problems = append(problems, lineProblem{n, "malformed section header"})
				return
			}
			section = strings.TrimSpace(t[1 : len(t)-1])
		default:
			k, v, ok := strings.Cut(t, "=")
			if !ok && !flagsOK {
				problems = append(problems, lineProblem{n, "line is not key = value"})
				return
			}
			entries = append(entries, iniEntry{section, strings.TrimSpace(k), strings.TrimSpace(v), n})
		}
	})
	return entries, problems
}

// parseMyCnf parses a MySQL option file: password= (or a prefix of it such
// as pass=) in any group, values optionally quoted, "#" trailing comments.
func parseMyCnf(data []byte) ([]string, []lineProblem) {
	entries, problems := parseINI(data, true)
	var secrets []string
	for _, e := range entries {
		key := strings.ToLower(strings.ReplaceAll(e.key, "_", "-"))
		if len(key) < 4 || !strings.HasPrefix("password", key) {
			continue
		}
		if e.section == "" {
			problems = append(problems, lineProblem{e.line, "option outside of a [group]"})
			continue
		}
		v := e.value
		if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
			words, err := splitWords(v)
			if err != nil || len(words) == 0 {
				problems = append(problems, lineProblem{e.line, "unterminated quote"})
				continue
			}
			v = words[0]
		} else if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		if v != "" {
			secrets = append(secrets, v)
		}
	}
	return secrets, problems
}

// parseAWS parses ~/.aws/credentials and ~/.aws/config: the secret access
// keys and session tokens of every profile.
func parseAWS(data []byte) ([]string, []lineProblem) {
	entries, problems := parseINI(data, false)
	var secrets []string
	for _, e := range entries {
		switch strings.ToLower(e.key) {
		case "aws_secret_access_key", "aws_session_token", "aws_security_token":
			if e.value != "" {
				secrets = append(secrets, e.value)
			}
		}
	}
	return secrets, problems
}

// parseDockerConfig parses ~/.docker/config.json: auths.*.auth,
// identitytoken, registrytoken and password.
func parseDockerConfig(data []byte) ([]string, []lineProblem) {
	var cfg struct {
		Auths map[string]map[string]any `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, []lineProblem{{jsonErrorLine(data, err), "not a valid docker config.json"}}
	}
	var secrets []string
	for _, reg := range sortedKeys(cfg.Auths) {
		a := cfg.Auths[reg]
		for _, k := range []string{"auth", "identitytoken", "registrytoken", "password"} {
			if s, ok := a[k].(string); ok && s != "" {
				secrets = append(secrets, s)
			}
		}
	}
	return secrets, nil
}

// jsonErrorLine returns the line of a JSON syntax error, or 0.
func jsonErrorLine(data []byte, err error) int {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset <= int64(len(data)) {
		return 1 + strings.Count(string(data[:se.Offset]), "\n")
	}
	return 0
}

// parseGitCredentials parses git-credential-store's file: one URL with
// user:password per line.
func parseGitCredentials(data []byte) ([]string, []lineProblem) {
	var secrets []string
	var problems []lineProblem
	lines(data, func(n int, line string) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			return
		}
		u, err := url.Parse(line)
		if err != nil || u.Scheme == "" {
			problems = append(problems, lineProblem{n, "not a URL"}) // err quotes the line
			return
		}
		if pw, ok := u.User.Password(); ok && pw != "" {
			secrets = append(secrets, pw)
		}
	})
	return secrets, problems
}

// kubeSecretKeys are kubeconfig keys whose values are secrets.
var kubeSecretKeys = map[string]bool{"token": true, "client-key-data": true, "password": true,
	"client-secret": true, "id-token": true, "refresh-token": true, "access-token": true}

var yamlErrLine = regexp.MustCompile(`line (\d+)`)

// parseKubeconfig parses ~/.kube/config and returns the values of every
// secret key (token, client-key-data, password, auth-provider tokens).
func parseKubeconfig(data []byte) ([]string, []lineProblem) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return nil, []lineProblem{{line, "not valid YAML"}} // yaml errors may quote values
	}
	var secrets []string
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if depth > 64 {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Kind == yaml.ScalarNode && kubeSecretKeys[k.Value] && v.Value != "" {
					secrets = append(secrets, v.Value)
				}
			}
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(&doc, 0)
	return secrets, nil
}

// parseKeytab parses an MIT keytab (format 0x0502) and returns the key
// material of every entry. Problems carry line 0: the format is binary.
func parseKeytab(data []byte) ([]string, []lineProblem) {
	bad := func(msg string, args ...any) []lineProblem { return []lineProblem{{0, fmt.Sprintf(msg, args...)}} }
	if len(data) < 2 || data[0] != 5 || data[1] != 2 {
		return nil, bad("not a version 0x502 keytab")
	}
	var secrets []string
	rest := data[2:]
	for n := 1; len(rest) >= 4; n++ {
		size := int32(binary.BigEndian.Uint32(rest))
		rest = rest[4:]
		if size == 0 {
			break
		}
		abs := int(size)
		if size < 0 {
			abs = -int(size)
		}
		if abs > len(rest) {
			return secrets, bad("entry %d is truncated", n)
		}
		entry := rest[:abs]
		rest = rest[abs:]
		if size < 0 {
			continue // a hole left by a deleted entry
		}
		key, ok := keytabKey(entry)
		if !ok {
			return secrets, bad("entry %d is malformed", n)
		}
		secrets = append(secrets, string(key))
	}
	return secrets, nil
}

// keytabKey returns the key bytes of one keytab entry.
func keytabKey(e []byte) ([]byte, bool) {
	u16 := func() (int, bool) {
		if len(e) < 2 {
			return 0, false
		}
		v := int(binary.BigEndian.Uint16(e))
		e = e[2:]
		return v, true
	}
	skip := func(n int) bool {
		if n > len(e) {
			return false
		}
		e = e[n:]
		return true
	}
	counted := func() ([]byte, bool) {
		l, ok := u16()
		if !ok || l > len(e) {
			return nil, false
		}
		b := e[:l]
		e = e[l:]
		return b, true
	}
	comps, ok := u16()
	if !ok {
		return nil, false
	}
	for i := 0; i <= comps; i++ { // the realm, then the components
		if _, ok := counted(); !ok {
			return nil, false
		}
	}
	// name type (4), timestamp (4), kvno (1), key type (2)
	if !skip(4 + 4 + 1 + 2) {
		return nil, false
	}
	key, ok := counted()
	return key, ok && len(key) > 0
}

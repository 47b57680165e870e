package discovery

import (
	"math"
	"path"
	"regexp"
	"strings"
)

// Command lines (process arguments, cron commands, ExecStart=, an
// authorized_keys command=) are shown in the report so that an operator
// sees what runs; secrets in them are replaced by [REDACTED]. Redaction
// fails safe: when a word may be a secret it is hidden, and the command,
// flag names, user names and hosts stay visible. The rules, applied to
// each word:
//
//   - Flags whose name says secret (password, passwd, pass, pw, pwd,
//     passphrase, secret, token, key, apikey, auth, credential(s), private,
//     bearer, cookie, or any name the environment-variable rule of
//     [secretName] calls secret), with one or two dashes, in the forms
//     --flag=VALUE and --flag VALUE. Names ending in a word that describes a
//     secret without holding it (--password-file, --token-url,
//     --password-stdin, --auth-type) and --no-* flags are not secret.
//   - Short flags of known programs ([secretLetters]): "-p VALUE" and
//     "-pVALUE" for the mysql and mariadb clients, sshpass, mongo, 7z and
//     docker login; -a for redis-cli; -w for the ldap tools; -P for zip,
//     ipmitool and sqlcmd; -c/-A/-X for the snmp tools; and so on. psql's
//     and ssh's -p is a port and is kept. For other programs a glued
//     "-pVALUE" is hidden unless it is a known flag such as -print.
//   - User flags (-u, -U, --user, --proxy-user, --username) keep the user
//     and hide what follows ':' or '%' (curl's user:password, smbclient's
//     user%password).
//   - NAME=VALUE where NAME looks secret, also inside comma lists (mount
//     -o user=x,password=y) and URL queries (?token=x), and JSON members
//     ("password": "x").
//   - The password of URL userinfo (scheme://user:password@host), and
//     Oracle's user/password@db for sqlplus and its kin.
//   - Authorization, Cookie and other secret-looking HTTP headers
//     ("Name: value", also when the shell split it into words), and
//     openssl's pass:VALUE.
//   - Tokens recognisable on their own: JWTs, GitHub, GitLab, Slack, AWS,
//     Google, Stripe, Vault, npm and PyPI tokens, and long high-entropy
//     strings: at least 20 characters of base64 alphabet with capitals,
//     small letters and digits, or 32 hex digits, with enough entropy.
//   - A word that holds a whole command (sh -c '...') is redacted as one.
//
// A value that starts with '-' is taken for the next flag, not the value
// of a secret flag.

// redacted replaces a secret in displayed command lines.
const redacted = "[REDACTED]"

// redactCommand redacts secrets in a shell-like command line (a cron
// command, ExecStart=, an authorized_keys command=): words are split as a
// shell would, quotes kept, so a quoted secret is redacted whole.
func redactCommand(s string) string { return redactLine(s, 0) }

// redactArgs redacts the arguments of a process (/proc/PID/cmdline), which
// hold no shell quoting; see the rules above.
func redactArgs(args []string) []string { return redactWords(args, false, 0) }

// maxNesting bounds commands within commands (sh -c "su -c '...'").
const maxNesting = 4

func redactLine(s string, depth int) string {
	words := rawFields(s)
	if len(words) == 0 {
		return strings.TrimSpace(s)
	}
	return strings.Join(redactWords(words, true, depth), " ")
}

// redactWords redacts the words of one command; shell says they are
// shell words, quotes included.
func redactWords(args []string, shell bool, depth int) []string {
	out := make([]string, len(args))
	r := redactor{shell: shell, depth: depth}
	for i, a := range args {
		out[i] = r.word(a)
	}
	return out
}

// pending says what the previous word makes of the next one.
type pending int

const (
	plainNext  pending = iota
	secretNext         // the value of a secret flag
	userNext           // the value of a user flag: user[:password]
	headerNext         // the value of a secret header split off its name
)

// redactor carries the state of one command line from word to word.
type redactor struct {
	tool  string // the program the words belong to, as named in secretLetters
	next  pending
	shell bool // words are quoted as for a shell
	depth int  // of nested commands
}

func (r *redactor) word(a string) string {
	u := a
	if r.shell {
		u = unquote(a)
	}
	next := r.next
	r.next = plainNext
	isFlag := len(u) > 1 && u[0] == '-' && !strings.ContainsAny(strings.SplitN(u, "=", 2)[0], " \t\n")
	switch {
	case next == secretNext && !isFlag:
		return redacted
	case next == userNext && !isFlag:
		return requote(a, u, redactUser(u))
	case next == headerNext && !isFlag:
		if authSchemes[strings.ToLower(u)] {
			r.next = secretNext // "Authorization: Bearer TOKEN"
		}
		return redacted
	}
	switch u {
	case "|", "||", "&&", ";", "&":
		r.tool = "" // the next command
		return a
	}
	if isFlag {
		return requote(a, u, r.flag(u))
	}
	if base := path.Base(u); secretLetters[base] != "" || notPTools[base] || loginTools[base] || oracleTools[base] {
		r.tool = base
	} else if loginTools[r.tool] && u == "login" {
		r.tool = "docker login"
	}
	if out, ok, split := redactHeader(u); ok {
		if split {
			r.next = headerNext
		}
		return requote(a, u, out)
	}
	if words := rawFields(u); len(words) > 1 {
		// A whole command in one word: sh -c '...', su -c, ssh host '...'.
		if r.depth >= maxNesting {
			return redacted // fail safe
		}
		if out := strings.Join(redactWords(words, true, r.depth+1), " "); out != strings.Join(words, " ") {
			return displayQuote(out)
		}
		return a
	}
	if oracleTools[r.tool] {
		if m := oracleLogin.FindStringSubmatchIndex(u); m != nil {
			return requote(a, u, u[:m[3]+1]+redacted+u[m[5]:])
		}
	}
	return requote(a, u, redactValue(u))
}

// flag redacts a word that starts with '-'.
func (r *redactor) flag(u string) string {
	dashes := "-"
	if strings.HasPrefix(u, "--") {
		dashes = "--"
	}
	body := u[len(dashes):]
	if name, val, ok := strings.Cut(body, "="); ok {
		switch {
		case val == "":
			return u
		case secretFlag(name):
			return dashes + name + "=" + redacted
		case userFlag(name):
			return dashes + name + "=" + redactUser(val)
		}
		if out, ok, _ := redactHeader(val); ok { // --header=Authorization: x
			return dashes + name + "=" + out
		}
		return dashes + name + "=" + redactValue(val)
	}
	if body == "" {
		return u // "--" ends the flags
	}
	letter, rest := body[:1], body[1:]
	if dashes == "-" && strings.Contains(secretLetters[r.tool], letter) {
		// A short flag of a known program, alone or with its value
		// attached: mysql -p SECRET (fail-safe), mysql -pSECRET.
		if rest == "" {
			r.next = secretNext
			return u
		}
		return "-" + letter + redacted
	}
	if secretFlag(body) {
		r.next = secretNext
		return u
	}
	if userFlag(body) {
		r.next = userNext
		return u
	}
	if dashes == "-" {
		switch {
		case (letter == "u" || letter == "U") && rest != "":
			return "-" + letter + redactUser(rest) // curl -uuser:password
		case letter == "p" && rest != "" && secretLetters[r.tool] == "" && !notPTools[r.tool] && !notPasswordFlags[u]:
			// A program roster does not know: "-pVALUE" may be an
			// attached password, as for mysql.
			return "-p" + redacted
		}
	}
	return redactValue(u)
}

// requote returns out for the word a (whose unquoted form is u): a itself
// when nothing was redacted, so quoting is kept as written.
func requote(a, u, out string) string {
	if out == u {
		return a
	}
	if a != u && strings.ContainsAny(out, " \t") {
		return displayQuote(out)
	}
	return out
}

// displayQuote quotes a redacted word that holds spaces for display.
func displayQuote(s string) string {
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	if !strings.ContainsAny(s, "\"\\$`") {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// secretLetters are the short flags whose value is a secret, per program
// (the base name of the command word). "docker login" stands for the
// login subcommand of the programs in loginTools.
var secretLetters = map[string]string{
	"mysql": "p", "mysqldump": "p", "mysqladmin": "p", "mysqlcheck": "p", "mysqlimport": "p", "mysqlshow": "p",
	"mysqlpump": "p", "mysqlbinlog": "p", "mysqlslap": "p", "mysqlsh": "p", "mycli": "p",
	"mariadb": "p", "mariadb-dump": "p", "mariadb-admin": "p", "mariadb-check": "p", "mariadb-import": "p",
	"mariadb-show": "p", "mariadb-binlog": "p", "mariadb-slap": "p",
	"sshpass":   "p",
	"redis-cli": "a", "valkey-cli": "a", "keydb-cli": "a",
	"ldapsearch": "w", "ldapadd": "w", "ldapmodify": "w", "ldapdelete": "w", "ldapmodrdn": "w", "ldapcompare": "w",
	"ldapwhoami": "w", "ldapexop": "w", "ldappasswd": "was",
	"mongo": "p", "mongosh": "p", "mongodump": "p", "mongorestore": "p", "mongoexport": "p", "mongoimport": "p",
	"mongostat": "p", "mongotop": "p",
	"docker login": "p",
	"7z":           "p", "7za": "p", "7zr": "p",
	"zip": "P", "unzip": "P", "zipcloak": "P",
	"ipmitool": "Pky",
	"sqlcmd":   "P", "bcp": "P", "osql": "P",
	"snmpwalk": "AXc", "snmpget": "AXc", "snmpset": "AXc", "snmpbulkwalk": "AXc", "snmpgetnext": "AXc",
	"snmptable": "AXc", "snmptrap": "AXc", "snmpbulkget": "AXc",
	"openssl":       "k",
	"mosquitto_pub": "P", "mosquitto_sub": "P",
	"rabbitmqadmin": "p", "cqlsh": "p", "couchbase-cli": "p", "cypher-shell": "p", "rdesktop": "p",
}

// notPTools are programs whose "-pVALUE" is not a password (a port, a
// pid, a prefix, a path level): the rule for unknown programs skips them.
var notPTools = map[string]bool{
	"ssh": true, "scp": true, "sftp": true, "psql": true, "pg_dump": true, "pg_dumpall": true, "pg_restore": true,
	"pg_basebackup": true, "pg_isready": true, "redis-server": true, "nc": true, "ncat": true, "patch": true,
	"strace": true, "ltrace": true, "perf": true, "gdb": true, "ps": true, "pgrep": true, "pkill": true, "top": true,
	"lsof": true, "nginx": true, "php-fpm": true, "docker": true, "podman": true, "kubectl": true, "mkdir": true,
	"cp": true, "gcc": true, "g++": true, "cc": true, "clang": true, "git": true, "ssh-keygen": true, "taskset": true,
	"renice": true, "prlimit": true, "tar": true, "rsync": true,
}

// loginTools have a login subcommand that takes -p PASSWORD.
var loginTools = map[string]bool{"docker": true, "podman": true, "nerdctl": true, "buildah": true, "skopeo": true, "helm": true, "oras": true}

// oracleTools take a user/password@db login as an argument.
var oracleTools = map[string]bool{"sqlplus": true, "rman": true, "expdp": true, "impdp": true, "exp": true, "imp": true, "sqlldr": true, "dgmgrl": true}

var oracleLogin = regexp.MustCompile(`^([A-Za-z0-9_$#]+)/([^@/\s]+)(@.*)?$`)

// notPasswordFlags are common single-dash flags that start with "-p" but
// are not an attached password (find, gcc, Go programs, openssl).
var notPasswordFlags = map[string]bool{"-print": true, "-print0": true, "-printf": true, "-perm": true, "-prune": true,
	"-path": true, "-pthread": true, "-pipe": true, "-pid": true, "-pidfile": true, "-port": true, "-ports": true,
	"-passin": true, "-passout": true, "-pass": true, "-profile": true, "-plugin": true, "-proxy": true, "-pprof": true,
	"-parallel": true, "-pkg": true, "-prefix": true, "-pretty": true, "-priority": true, "-pedantic": true, "-pie": true,
	"-pg": true, "-preload": true, "-pool": true, "-protocol": true, "-proto": true, "-prompt": true, "-persistent": true}

// flagSecretWords make a flag secret when they are one of its words.
var flagSecretWords = map[string]bool{"password": true, "passwd": true, "pass": true, "pw": true, "pwd": true,
	"passphrase": true, "secret": true, "token": true, "key": true, "apikey": true, "auth": true, "credential": true,
	"credentials": true, "private": true, "privatekey": true, "bearer": true, "cookie": true, "storepass": true,
	"keypass": true, "srcstorepass": true, "deststorepass": true, "srckeypass": true, "destkeypass": true,
	"requirepass": true, "masterauth": true, "community": true}

// flagSecretSuffixes make a flag word secret when it ends with them
// (--dbpassword, --authtoken, --sshpass, --apisecret).
var flagSecretSuffixes = []string{"password", "passwd", "passphrase", "secret", "token", "pass", "apikey"}

// notSecretFlagWords are flag words that end like a secret but are not.
var notSecretFlagWords = map[string]bool{"bypass": true, "compass": true, "askpass": true}

// notSecretFlagLastWords end flag names that describe a secret without
// holding it, in addition to those of notSecretLastWords.
var notSecretFlagLastWords = map[string]bool{"stdin": true, "prompt": true, "env": true, "fd": true, "helper": true,
	"program": true, "policy": true, "algorithm": true, "algo": true, "min": true, "max": true, "hash": true, "ask": true}

// secretFlag reports whether a flag name (without dashes) takes a secret.
func secretFlag(name string) bool {
	if strings.IndexFunc(name, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
	}) >= 0 {
		return false // a value, not a flag name
	}
	n := strings.ToLower(name)
	words := strings.FieldsFunc(n, func(c rune) bool { return c == '-' || c == '_' || c == '.' })
	if len(words) == 0 || words[0] == "no" {
		return false
	}
	last := words[len(words)-1]
	if notSecretFlagLastWords[last] || notSecretLastWords[strings.ToUpper(last)] {
		return false
	}
	if secretName(name) {
		return true
	}
	for _, w := range words {
		if flagSecretWords[w] {
			return true
		}
		if notSecretFlagWords[w] {
			continue
		}
		for _, s := range flagSecretSuffixes {
			if strings.HasSuffix(w, s) {
				return true
			}
		}
	}
	return false
}

// userFlag reports whether a flag takes user[:password].
func userFlag(name string) bool {
	switch name {
	case "u", "U", "user", "proxy-user", "username", "auth-user":
		return true
	}
	return false
}

// redactUser keeps the user of "user:password" or "user%password" and
// hides the rest; a URL has its userinfo password hidden instead.
func redactUser(v string) string {
	if strings.Contains(v, "://") {
		return redactValue(v)
	}
	if i := strings.IndexAny(v, ":%"); i >= 0 {
		if i == len(v)-1 {
			return v // "user:" asks for the password
		}
		return v[:i+1] + redacted
	}
	return redactValue(v)
}

// authSchemes precede the credential in an Authorization header.
var authSchemes = map[string]bool{"bearer": true, "basic": true, "token": true, "digest": true, "negotiate": true,
	"apikey": true, "hmac": true, "aws4-hmac-sha256": true, "ntlm": true}

var headerLine = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_-]*):(\s*)(.*)$`)

// redactHeader redacts an HTTP header "Name: value" whose name looks
// secret. split is true for a bare "Name:" whose value is the next word.
func redactHeader(u string) (out string, ok, split bool) {
	m := headerLine.FindStringSubmatch(u)
	if m == nil || !secretHeader(m[1]) {
		return u, false, false
	}
	if m[3] == "" {
		return u, true, m[2] == ""
	}
	if m[2] == "" {
		if strings.HasPrefix(m[3], "//") {
			return u, false, false // a URL scheme, not a header
		}
		return m[1] + ":" + redacted, true, false
	}
	return m[1] + ": " + redacted, true, false
}

// secretHeader reports whether an HTTP header name carries a credential.
func secretHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"auth", "token", "key", "secret", "password", "cookie", "session", "signature", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// nameValue matches NAME=VALUE inside a word: at its start, after a comma
// (mount -o a=b,password=c) or in a URL query (?a=b&token=c).
var nameValue = regexp.MustCompile(`(^|[,?&;])([A-Za-z_][A-Za-z0-9_.-]*)=([^,&;]*)`)

// jsonPair matches a JSON member with a string value: "name": "value".
var jsonPair = regexp.MustCompile(`"([A-Za-z_][A-Za-z0-9_.-]*)"\s*:\s*"((?:[^"\\]|\\.)*)"`)

// colonPair matches name:value inside braces or lists, as YAML or JSON
// without its quotes: {db:{password:x}}. A value starting with "//" is a
// URL's, not a pair's.
var colonPair = regexp.MustCompile(`(^|[{,])([A-Za-z_][A-Za-z0-9_.-]*):([^,{}/\s][^,{}\s]*)`)

// redactValue redacts a word, or the value part of a flag, that is not
// secret by its position: openssl's pass:VALUE, NAME=VALUE with a secret
// NAME, URL passwords and recognisable tokens.
func redactValue(v string) string {
	if strings.HasPrefix(v, "pass:") && len(v) > len("pass:") {
		return "pass:" + redacted
	}
	if k, _, ok := strings.Cut(v, "="); ok && secretName(strings.TrimLeft(k, "-")) && !strings.ContainsAny(k, "/:@") {
		return k + "=" + redacted
	}
	v = redactURLPasswords(v)
	v = jsonPair.ReplaceAllStringFunc(v, func(m string) string {
		sub := jsonPair.FindStringSubmatch(m)
		if !secretName(sub[1]) {
			return m
		}
		return `"` + sub[1] + `":"` + redacted + `"`
	})
	v = colonPair.ReplaceAllStringFunc(v, func(m string) string {
		sub := colonPair.FindStringSubmatch(m)
		if !secretName(sub[2]) || sub[3] == redacted {
			return m
		}
		return sub[1] + sub[2] + ":" + redacted
	})
	v = nameValue.ReplaceAllStringFunc(v, func(m string) string {
		sub := nameValue.FindStringSubmatch(m)
		if sub[3] == "" || sub[3] == redacted || !secretName(sub[2]) {
			return m
		}
		return sub[1] + sub[2] + "=" + redacted
	})
	return redactTokens(v)
}

// redactURLPasswords replaces the password of every URL in s
// (scheme://user:password@host). When in doubt it redacts too much.
func redactURLPasswords(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		rest := s[i+3:]
		end := strings.IndexAny(rest, "?# \t,")
		if next := strings.Index(rest, "://"); next >= 0 && (end < 0 || next < end) {
			end = next // another URL follows
		}
		if end < 0 {
			end = len(rest)
		}
		at := strings.LastIndexByte(rest[:end], '@')
		colon := -1
		if at >= 0 {
			colon = strings.IndexByte(rest[:at], ':')
		}
		if colon < 0 {
			b.WriteString(rest[:end])
		} else {
			b.WriteString(rest[:colon+1] + redacted + rest[at:end])
		}
		s = rest[end:]
	}
}

// knownTokens match tokens by their documented formats.
var knownTokens = regexp.MustCompile(strings.Join([]string{
	`eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`, // JWT
	`gh[pousr]_[A-Za-z0-9]{20,}`, `github_pat_[A-Za-z0-9_]{20,}`, `glpat-[A-Za-z0-9_-]{20,}`,
	`xox[abposr]-[A-Za-z0-9-]{10,}`,
	`(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}`,
	`AIza[A-Za-z0-9_-]{35}`,
	`(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}`, `sk-[A-Za-z0-9_-]{20,}`,
	`hv[sbr]\.[A-Za-z0-9_-]{20,}`, `npm_[A-Za-z0-9]{30,}`, `pypi-[A-Za-z0-9_-]{20,}`,
	`dop_v1_[a-f0-9]{40,}`, `SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}`,
}, "|"))

// tokenRun matches candidate high-entropy strings: base64 (standard or
// URL alphabet) with optional padding.
var tokenRun = regexp.MustCompile(`[A-Za-z0-9+/_-]{20,}={0,2}`)

// redactTokens replaces recognisable tokens and long high-entropy strings.
func redactTokens(s string) string {
	if len(s) < 20 {
		return s
	}
	s = knownTokens.ReplaceAllString(s, redacted)
	return tokenRun.ReplaceAllStringFunc(s, func(run string) string {
		if !strings.Contains(run, "/") {
			if highEntropy(strings.TrimLeft(run, "-")) {
				return redacted
			}
			return run
		}
		// A path is judged by its parts: a token between slashes is
		// hidden, words are not. Base64 with slashes in it has no
		// lowercase words for parts.
		parts := strings.Split(run, "/")
		found, words := false, false
		for i, p := range parts {
			switch {
			case highEntropy(strings.TrimLeft(p, "-")):
				parts[i], found = redacted, true
			case plainWord.MatchString(p):
				words = true
			}
		}
		if !found && !words && highEntropy(run) {
			return redacted
		}
		return strings.Join(parts, "/")
	})
}

// plainWord matches a path part that reads as a word or a number:
// "usr", "x86_64-linux-gnu", "15".
var plainWord = regexp.MustCompile(`^(?:[a-z0-9_.-]*[a-z]{3}[a-z0-9_.-]*|[0-9]+)$`)

// highEntropy reports whether s looks like a random secret: at least 20
// characters with capitals, small letters and digits and at least 3.5
// bits of entropy per character, or at least 32 hex digits (dashes
// allowed, as in a UUID) with letters and digits and 3 bits per character.
func highEntropy(s string) bool {
	s = strings.TrimRight(s, "=")
	if len(s) < 20 {
		return false
	}
	var upper, lower, digit, hexDigits int
	hexOnly := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			upper++
		case c >= 'a' && c <= 'z':
			lower++
		case c >= '0' && c <= '9':
			digit++
		}
		switch {
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			hexDigits++
		case c != '-':
			hexOnly = false
		}
	}
	if hexOnly && hexDigits >= 32 && digit > 0 && upper+lower > 0 {
		return entropy(s) >= 3.0
	}
	return upper > 0 && lower > 0 && digit > 0 && entropy(s) >= 3.5
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h := 0.0
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// unquote removes shell quotes from a word (best effort, for matching):
// as a POSIX shell does (cron commands), else as systemd does (ExecStart=,
// where a backslash also escapes inside single quotes).
func unquote(s string) string {
	if !strings.ContainsAny(s, `"'\`) {
		return s
	}
	if w, ok := posixUnquote(s); ok {
		return w
	}
	if w, err := splitWords(s); err == nil && len(w) == 1 {
		return w[0]
	}
	return s
}

// posixUnquote decodes one shell word: '...' is literal, "..." keeps a
// backslash unless it precedes $ ` " \ or a newline, and a bare backslash
// escapes the next character. It fails on unquoted whitespace or an
// unterminated quote.
func posixUnquote(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", false
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return "", false
			}
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case ' ', '\t', '\n':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// rawFields splits s on whitespace outside quotes, keeping the quotes and
// backslashes in the words. An unterminated quote runs to the end.
func rawFields(s string) []string {
	var words []string
	start := -1
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' && i+1 < len(s) {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\\':
			if start < 0 {
				start = i
			}
			i++
		case c == '"' || c == '\'':
			if start < 0 {
				start = i
			}
			quote = c
		case c == ' ' || c == '\t' || c == '\n':
			if start >= 0 {
				words = append(words, s[start:i])
				start = -1
			}
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		words = append(words, s[start:])
	}
	return words
}

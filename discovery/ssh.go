package discovery

import (
	//lint:ignore SA1019 DSA (ssh-dss) keys still occur in authorized_keys files; the scanner only reads their size to report them as weak, it never uses DSA
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rosterhq/roster/scan"
	"golang.org/x/crypto/ssh"
)

// sshdConfigPaths are where sshd reads its configuration: the first that
// exists. openSUSE and SLE ship theirs in /usr/etc when /etc has none.
var sshdConfigPaths = []string{"/etc/ssh/sshd_config", "/usr/etc/ssh/sshd_config"}

// maxIncludeDepth bounds nested Include, as sshd does.
const maxIncludeDepth = 16

// sshdConfig is the part of sshd's configuration that decides who may log in.
type sshdConfig struct {
	AuthorizedKeysFiles                                                                           []string // raw patterns (%h %u %%); defaults applied when absent
	AuthorizedKeysCommand, AuthorizedKeysCommandUser, TrustedUserCAKeys, AuthorizedPrincipalsFile string
	PasswordAuthentication                                                                        bool
	PermitRootLogin                                                                               string
	Found                                                                                         bool // an sshd_config exists
	// Matches lists the Match blocks as "file:line criteria". Settings
	// inside them apply to some connections only and are not merged.
	Matches []string
	// RevokedKeys is the RevokedKeys path; HostCertificates every
	// HostCertificate path (sshd takes them all, not the first).
	RevokedKeys      string
	HostCertificates []string
	// MatchBlocks are the Match blocks with the certificate keywords each
	// sets (certKeywords): the report shows them, so that a Match block
	// giving some connections another CA or principals file is not hidden
	// behind the global values.
	MatchBlocks []scan.MatchBlock
}

// certKeywords are the sshd keywords about certificate logins that the
// report records, and that a Match block is noted for setting.
var certKeywords = map[string]bool{"trustedusercakeys": true, "authorizedprincipalsfile": true,
	"authorizedprincipalscommand": true, "revokedkeys": true, "hostcertificate": true}

// maxHostCertificates bounds the HostCertificate lines recorded.
const maxHostCertificates = 32

// readSSHDConfig reads sshd_config with its Includes. As in sshd, the first
// value of a keyword wins, and keywords inside a Match block do not change
// the global settings. Absent keywords take OpenSSH's defaults.
func readSSHDConfig(r *Root, w *warnings) sshdConfig {
	c := sshdConfig{}
	p := &sshdParser{r: r, w: w, c: &c, set: map[string]bool{}}
	for _, file := range sshdConfigPaths {
		data, _, err := readOptional(r, w, file, "unreadable sshd_config")
		if err == nil {
			c.Found = true
			p.parse(file, data, 0, false)
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			break // warned; do not fall back to the next path
		}
	}
	if !p.set["authorizedkeysfile"] {
		c.AuthorizedKeysFiles = []string{".ssh/authorized_keys", ".ssh/authorized_keys2"}
	}
	if !p.set["passwordauthentication"] {
		c.PasswordAuthentication = true
	}
	if !p.set["permitrootlogin"] {
		c.PermitRootLogin = "prohibit-password"
	}
	return c
}

type sshdParser struct {
	r   *Root
	w   *warnings
	c   *sshdConfig
	set map[string]bool // keywords already given a value
}

// parse reads one configuration file. inMatch is the Match state of the
// includer; a Match inside this file lasts to its end.
func (p *sshdParser) parse(file string, data []byte, depth int, inMatch bool) {
	lines(data, func(n int, line string) {
		kw, args, err := splitSSHDLine(line)
		if err != nil {
			p.w.add(file, n, "%v", err)
			return
		}
		switch kw {
		case "":
			return
		case "include":
			p.include(file, n, args, depth, inMatch)
			return
		case "match":
			p.c.Matches = append(p.c.Matches, lineLoc(file, n)+" "+strings.Join(args, " "))
			// "Match all" ends a block: what follows applies to everyone.
			inMatch = !(len(args) == 1 && strings.EqualFold(args[0], "all"))
			if inMatch {
				p.c.MatchBlocks = append(p.c.MatchBlocks, scan.MatchBlock{Location: lineLoc(file, n), Criteria: strings.Join(args, " ")})
			}
			return
		}
		if inMatch {
			if m := len(p.c.MatchBlocks) - 1; certKeywords[kw] && m >= 0 && !slices.Contains(p.c.MatchBlocks[m].Sets, kw) {
				p.c.MatchBlocks[m].Sets = append(p.c.MatchBlocks[m].Sets, kw)
			}
			return
		}
		if kw == "hostcertificate" {
			switch {
			case len(args) == 0:
				p.w.add(file, n, "%s has no value", kw)
			case len(p.c.HostCertificates) >= maxHostCertificates:
				p.w.add(file, n, "more than %d HostCertificate lines, the rest not recorded", maxHostCertificates)
			case !slices.Contains(p.c.HostCertificates, args[0]):
				p.c.HostCertificates = append(p.c.HostCertificates, args[0])
			}
			return
		}
		if p.set[kw] {
			return
		}
		if len(args) == 0 {
			p.w.add(file, n, "%s has no value", kw)
			return
		}
		p.set[kw] = true
		one := args[0]
		if strings.EqualFold(one, "none") {
			one = ""
		}
		switch kw {
		case "authorizedkeysfile":
			p.c.AuthorizedKeysFiles = args
		case "authorizedkeyscommand":
			if one != "" {
				p.c.AuthorizedKeysCommand = strings.Join(args, " ")
			}
		case "authorizedkeyscommanduser":
			p.c.AuthorizedKeysCommandUser = args[0]
		case "trustedusercakeys":
			p.c.TrustedUserCAKeys = one
		case "authorizedprincipalsfile":
			p.c.AuthorizedPrincipalsFile = one
		case "revokedkeys":
			p.c.RevokedKeys = one
		case "passwordauthentication":
			p.c.PasswordAuthentication = strings.EqualFold(args[0], "yes")
		case "permitrootlogin":
			p.c.PermitRootLogin = strings.ToLower(args[0])
		default:
			delete(p.set, kw) // not a keyword roster records
		}
	})
}

// include reads the files an Include line names: globs, relative to
// /etc/ssh, in lexical order.
func (p *sshdParser) include(file string, n int, patterns []string, depth int, inMatch bool) {
	if depth >= maxIncludeDepth {
		p.w.add(file, n, "Include nested deeper than %d levels", maxIncludeDepth)
		return
	}
	for _, pat := range patterns {
		if !path.IsAbs(pat) {
			pat = path.Join("/etc/ssh", pat)
		}
		if strings.ContainsAny(path.Dir(pat), "*?[") {
			p.w.add(file, n, "Include pattern with a wildcard directory is not supported")
			continue
		}
		matches := []string{pat}
		if strings.ContainsAny(path.Base(pat), "*?[") {
			matches = p.r.Glob(pat)
		}
		for _, m := range matches {
			// sshd globs Include patterns: a missing file is no error.
			data, _, err := readOptional(p.r, p.w, m, "unreadable included sshd config")
			if err != nil {
				continue
			}
			p.parse(m, data, depth+1, inMatch)
		}
	}
}

// splitSSHDLine splits an sshd_config line into its lower-cased keyword
// and arguments ("Keyword value", "Keyword=value", quoted arguments).
// Empty and comment lines give an empty keyword.
func splitSSHDLine(line string) (string, []string, error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", nil, nil
	}
	i := strings.IndexAny(line, " \t=")
	if i < 0 {
		return strings.ToLower(line), nil, nil
	}
	kw := strings.ToLower(line[:i])
	rest := strings.TrimLeft(line[i:], " \t")
	rest = strings.TrimLeft(strings.TrimPrefix(rest, "="), " \t")
	args, err := splitWords(rest)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", kw, err)
	}
	// A "#" starting an argument begins a trailing comment.
	for j, a := range args {
		if strings.HasPrefix(a, "#") {
			args = args[:j]
			break
		}
	}
	return kw, args, nil
}

// authorizedKeysPaths expands the AuthorizedKeysFile patterns for one
// account (expandPath); "none" and patterns that do not expand are left out.
func (c sshdConfig) authorizedKeysPaths(user, home string, uid int) []string {
	var out []string
	seen := map[string]bool{}
	for _, pat := range c.AuthorizedKeysFiles {
		if strings.EqualFold(pat, "none") {
			continue
		}
		if p, ok := expandPath(pat, user, home, uid); ok && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// expandPath expands an sshd file pattern (AuthorizedKeysFile,
// AuthorizedPrincipalsFile) for one account: %h is the home, %u the user
// name, %U the numeric uid, %% a percent sign; a relative path is relative
// to the home. It reports false for a pattern with other tokens, %U when
// the uid is unknown (negative), or one that needs a home the account does
// not have. The path is clean.
func expandPath(pat, user, home string, uid int) (string, bool) {
	var b strings.Builder
	ok := home != "" || !strings.Contains(pat, "%h")
	for i := 0; i < len(pat) && ok; i++ {
		if pat[i] != '%' {
			b.WriteByte(pat[i])
			continue
		}
		i++
		switch {
		case i < len(pat) && pat[i] == 'h':
			b.WriteString(home)
		case i < len(pat) && pat[i] == 'u':
			b.WriteString(user)
		case i < len(pat) && pat[i] == 'U' && uid >= 0:
			b.WriteString(strconv.Itoa(uid))
		case i < len(pat) && pat[i] == '%':
			b.WriteByte('%')
		default:
			ok = false
		}
	}
	p := b.String()
	if !ok || p == "" || !path.IsAbs(p) && home == "" {
		return "", false
	}
	if !path.IsAbs(p) {
		p = path.Join(home, p)
	}
	return path.Clean(p), true
}

// readAuthorizedKeys returns one ssh_authorized_key credential per valid
// line of an authorized_keys file. A missing file is not a warning.
func readAuthorizedKeys(r *Root, p string, w *warnings) []scan.Credential {
	data, fi, err := readOptional(r, w, p, "unreadable authorized keys file")
	if err != nil {
		return nil
	}
	var fileFindings []string
	if fi.Mode()&0o002 != 0 {
		fileFindings = append(fileFindings, "writable by others")
	} else if fi.Mode()&0o020 != 0 {
		fileFindings = append(fileFindings, "writable by group")
	}
	var out []scan.Credential
	now := time.Now()
	lines(data, func(n int, line string) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			return
		}
		k, err := parseAuthorizedKeyLine(line)
		if err != nil {
			w.add(p, n, "%v", err)
			return
		}
		c := k.credential(now)
		c.Location = lineLoc(p, n)
		c.Mode = fmt.Sprintf("%04o", fi.Mode().Perm())
		c.Findings = append(c.Findings, fileFindings...)
		out = append(out, c)
	})
	return out
}

// authorizedKey is one parsed authorized_keys line.
type authorizedKey struct {
	pub     ssh.PublicKey
	comment string
	options []keyOption
}

// keyOption is one authorized_keys option, its value unquoted.
type keyOption struct {
	name, value string
	hasValue    bool
}

// parseAuthorizedKeyLine parses "[options] keytype base64 [comment]" as
// sshd does: the line is first tried as a key, then as options and a key.
// Errors never quote the line.
func parseAuthorizedKeyLine(line string) (authorizedKey, error) {
	if k, err := parseKeyFields(line); err == nil {
		return k, nil
	}
	opts, rest, err := splitKeyOptions(line)
	if err != nil {
		return authorizedKey{}, err
	}
	k, err := parseKeyFields(rest)
	if err != nil {
		return authorizedKey{}, err
	}
	k.options = opts
	return k, nil
}

// parseKeyFields parses "keytype base64 [comment]".
func parseKeyFields(s string) (authorizedKey, error) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return authorizedKey{}, errors.New("line is not [options] keytype base64-key [comment]")
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return authorizedKey{}, errors.New("key is not valid base64")
	}
	pub, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return authorizedKey{}, errors.New("key blob does not parse as an SSH public key")
	}
	if pub.Type() != f[0] {
		return authorizedKey{}, fmt.Errorf("key type %s does not match the key's encoded type %s", clip(f[0]), pub.Type())
	}
	return authorizedKey{pub: pub, comment: strings.Join(f[2:], " ")}, nil
}

// splitKeyOptions splits the leading comma-separated options of an
// authorized_keys line, honouring "..." values with \" escapes, and returns
// the rest of the line.
func splitKeyOptions(line string) ([]keyOption, string, error) {
	var opts []keyOption
	var b strings.Builder
	inQuote := false
	flush := func() error {
		o := b.String()
		b.Reset()
		name, val, hasVal := strings.Cut(o, "=")
		if name == "" {
			return errors.New("empty authorized_keys option")
		}
		if hasVal {
			if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
				return fmt.Errorf("option %s: value is not quoted", clip(strings.ToLower(name)))
			}
			val = strings.ReplaceAll(val[1:len(val)-1], `\"`, `"`)
		}
		opts = append(opts, keyOption{strings.ToLower(name), val, hasVal})
		return nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(line) && line[i+1] == '"':
			b.WriteString(`\"`)
			i++
		case c == '"':
			inQuote = !inQuote
			b.WriteByte(c)
		case !inQuote && c == ',':
			if err := flush(); err != nil {
				return nil, "", err
			}
		case !inQuote && (c == ' ' || c == '\t'):
			if err := flush(); err != nil {
				return nil, "", err
			}
			return opts, line[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	if inQuote {
		return nil, "", errors.New("unterminated quote in options")
	}
	return nil, "", errors.New("line has options but no key")
}

// credential describes the key as an ssh_authorized_key credential,
// with its options (values of from=, command= (redacted), expiry-time=,
// principals=, permitopen=, permitlisten=, tunnel=; environment= shows
// only the variable name) and findings.
func (k authorizedKey) credential(now time.Time) scan.Credential {
	c := scan.Credential{Type: scan.CredSSHAuthorizedKey, Name: k.comment,
		Fingerprint: ssh.FingerprintSHA256(k.pub), Algorithm: k.pub.Type(), Bits: keyBits(k.pub)}
	hasFrom := false
	for _, o := range k.options {
		switch {
		case !o.hasValue:
			c.Options = append(c.Options, o.name)
		case o.name == "environment":
			name, _, _ := strings.Cut(o.value, "=")
			c.Options = append(c.Options, "environment="+name)
		case o.name == "command":
			c.Options = append(c.Options, "command="+redactCommand(o.value))
		default:
			c.Options = append(c.Options, o.name+"="+o.value)
		}
		switch o.name {
		case "from":
			hasFrom = true
		case "expiry-time":
			if t, ok := parseExpiryTime(o.value); !ok {
				c.Findings = append(c.Findings, "invalid expiry-time")
			} else if t.Before(now) {
				c.Findings = append(c.Findings, "expired")
			}
		}
	}
	if !hasFrom {
		c.Findings = append(c.Findings, "no from= restriction")
	}
	c.Findings = append(c.Findings, weakKeyFindings(k.pub.Type(), c.Bits)...)
	return c
}

// weakKeyFindings flags key types and sizes below current practice.
func weakKeyFindings(typ string, bits int) []string {
	switch {
	case strings.HasPrefix(typ, "ssh-dss"):
		return []string{"deprecated key type (DSA)"}
	case strings.HasPrefix(typ, "ssh-rsa") && bits < 2048:
		return []string{fmt.Sprintf("weak key (RSA %d bits)", bits)}
	}
	return nil
}

// parseExpiryTime parses sshd's expiry-time: YYYYMMDD[HHMM[SS]], local
// time, or UTC with a "Z" suffix.
func parseExpiryTime(s string) (time.Time, bool) {
	loc := time.Local
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		s, loc = s[:len(s)-1], time.UTC
	}
	for _, layout := range []string{"20060102", "200601021504", "20060102150405"} {
		if len(s) == len(layout) {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// keyBits returns the size that ssh-keygen -l prints: the RSA modulus or
// DSA prime bits, the ECDSA curve size, 256 for Ed25519.
func keyBits(pub ssh.PublicKey) int {
	if cert, ok := pub.(*ssh.Certificate); ok {
		pub = cert.Key
	}
	cpk, ok := pub.(ssh.CryptoPublicKey)
	if !ok {
		return 0
	}
	switch k := cpk.CryptoPublicKey().(type) {
	case *rsa.PublicKey:
		return k.N.BitLen()
	case *ecdsa.PublicKey:
		return k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return 256
	case *dsa.PublicKey:
		return k.P.BitLen()
	}
	return 0
}

// notKeyFile reports whether a name in ~/.ssh is one of OpenSSH's own
// files that never hold a private key.
func notKeyFile(name string) bool {
	switch name {
	case "config", "environment", "rc", "known_hosts.old":
		return true
	}
	return strings.HasSuffix(name, ".pub") || strings.HasPrefix(name, "authorized_keys") ||
		strings.HasPrefix(name, "authorized_principals") || strings.HasPrefix(name, "known_hosts")
}

// readPrivateKeys returns an ssh_private_key credential for every
// unencrypted private key file in home/.ssh. Its fingerprint is the SHA256
// fingerprint of the public key, so it matches authorized_keys entries of
// the same key (no keyed fingerprint: a public fingerprint reveals nothing).
// Encrypted keys are not credentials: they need a passphrase.
func readPrivateKeys(r *Root, home string, w *warnings) []scan.Credential {
	if home == "" {
		return nil
	}
	dir := path.Join(home, ".ssh")
	ents, err := r.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			w.add(dir, 0, "unreadable .ssh directory, private keys not checked: %v", err)
		}
		return nil
	}
	var out []scan.Credential
	for _, e := range ents {
		if e.IsDir() || notKeyFile(e.Name()) {
			continue
		}
		p := path.Join(dir, e.Name())
		data, fi, err := r.ReadFileInfo(p)
		if err != nil || !strings.Contains(string(data), "PRIVATE KEY-----") {
			continue // sockets, large files and non-keys are not private keys
		}
		signer, err := ssh.ParsePrivateKey(data)
		var missing *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &missing):
			continue
		case err != nil:
			w.add(p, 0, "looks like a private key but does not parse (unsupported type or damaged)")
			continue
		}
		pub := signer.PublicKey()
		c := scan.Credential{Type: scan.CredSSHPrivateKey, Location: p, Name: e.Name(),
			Fingerprint: ssh.FingerprintSHA256(pub), Algorithm: pub.Type(), Bits: keyBits(pub)}
		setFileFacts(&c, fi)
		out = append(out, c)
	}
	return out
}

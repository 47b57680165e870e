package discovery

import (
	"bytes"
	"errors"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/scan"
	"golang.org/x/crypto/ssh"
)

// Bounds on what the certificate side of sshd's configuration records:
// files are already capped by Root.MaxFileBytes.
const (
	maxCAKeys       = 64  // keys recorded from the TrustedUserCAKeys file
	maxPrincipals   = 256 // principals recorded per account
	maxPrincipalLen = scan.MaxShort
)

// krlMagic starts an OpenSSH key revocation list (PROTOCOL.krl: KRL_MAGIC
// 0x5353484b524c0a00, "SSHKRL\n\0"). The scanner only recognises the
// header; it does not parse the list.
var krlMagic = []byte("SSHKRL\n\x00")

// sshdReport is the host's scan.SSHD: the global certificate settings of
// c with the CA keys and the revocation list read from the root. It is
// nil when sshd has no configuration or sets none of them.
func (c sshdConfig) sshdReport(r *Root, w *warnings) *scan.SSHD {
	if !c.Found || c.TrustedUserCAKeys == "" && c.AuthorizedPrincipalsFile == "" && c.RevokedKeys == "" &&
		len(c.HostCertificates) == 0 && !c.matchSetsCert() {
		return nil
	}
	s := &scan.SSHD{TrustedUserCAKeysFile: c.TrustedUserCAKeys, AuthorizedPrincipalsFile: c.AuthorizedPrincipalsFile,
		HostCertificates: c.HostCertificates}
	for _, m := range c.MatchBlocks {
		if len(m.Sets) > 0 {
			s.MatchBlocks = append(s.MatchBlocks, m)
		}
	}
	if c.TrustedUserCAKeys != "" {
		s.TrustedUserCAKeys = readCAKeys(r, c.TrustedUserCAKeys, w)
	}
	if c.RevokedKeys != "" {
		s.RevokedKeys = readRevokedKeys(r, c.RevokedKeys, w)
	}
	return s
}

func (c sshdConfig) matchSetsCert() bool {
	for _, m := range c.MatchBlocks {
		if len(m.Sets) > 0 {
			return true
		}
	}
	return false
}

// readCAKeys reads a TrustedUserCAKeys file: one public key per line in
// authorized_keys form (options are allowed and ignored), comments and
// blank lines skipped. A missing file is warned about: sshd then accepts
// no certificate.
func readCAKeys(r *Root, p string, w *warnings) []scan.SSHKey {
	data, _, err := readOptional(r, w, p, "unreadable TrustedUserCAKeys file")
	if errors.Is(err, fs.ErrNotExist) {
		w.add(p, 0, "TrustedUserCAKeys file does not exist: no user certificate is accepted")
	}
	if err != nil {
		return nil
	}
	return parseCAKeys(p, data, w)
}

// parseCAKeys parses the lines of a TrustedUserCAKeys file named p.
func parseCAKeys(p string, data []byte, w *warnings) []scan.SSHKey {
	var out []scan.SSHKey
	seen := map[string]bool{}
	full := false
	lines(data, func(n int, line string) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || full {
			return
		}
		k, err := parseAuthorizedKeyLine(line)
		if err != nil {
			w.add(p, n, "%v", err)
			return
		}
		if _, isCert := k.pub.(*ssh.Certificate); isCert {
			w.add(p, n, "a certificate is not a CA key")
			return
		}
		fp := ssh.FingerprintSHA256(k.pub)
		switch {
		case seen[fp]:
		case len(out) >= maxCAKeys:
			w.add(p, n, "more than %d CA keys, the rest not recorded", maxCAKeys)
			full = true
		default:
			seen[fp] = true
			out = append(out, scan.SSHKey{Type: k.pub.Type(), Fingerprint: fp, Location: lineLoc(p, n)})
		}
	})
	return out
}

// readRevokedKeys describes sshd's RevokedKeys file: whether it exists,
// its size, and whether it is a KRL (by its magic header), a list of
// keys or empty. A missing file is warned about: sshd then refuses every
// public key and certificate login.
func readRevokedKeys(r *Root, p string, w *warnings) *scan.RevokedKeys {
	rk := &scan.RevokedKeys{Path: p}
	data, _, err := readOptional(r, w, p, "unreadable RevokedKeys file")
	if errors.Is(err, fs.ErrNotExist) {
		w.add(p, 0, "RevokedKeys file does not exist: sshd refuses every key login")
		return rk
	}
	if fi, serr := r.Stat(p); serr == nil {
		// Also when too large to read: it exists, and has a size.
		rk.Exists, rk.Size = true, fi.Size()
	}
	if err != nil {
		return rk
	}
	switch {
	case len(data) == 0:
		rk.Format = scan.RevokedEmpty
	case bytes.HasPrefix(data, krlMagic):
		rk.Format = scan.RevokedKRL
	default:
		rk.Format = scan.RevokedKeyList
	}
	return rk
}

// principalsPath is the AuthorizedPrincipalsFile of one account, or ""
// when there is none or it does not expand.
func (c sshdConfig) principalsPath(user, home string, uid int) string {
	if c.AuthorizedPrincipalsFile == "" {
		return ""
	}
	p, ok := expandPath(c.AuthorizedPrincipalsFile, user, home, uid)
	if !ok {
		return ""
	}
	return p
}

// readPrincipals returns the principals an AuthorizedPrincipalsFile
// lists. A missing file is normal (the account has none).
func readPrincipals(r *Root, p string, w *warnings) []string {
	data, _, err := readOptional(r, w, p, "unreadable principals file")
	if err != nil {
		return nil
	}
	return parsePrincipals(p, data, w)
}

// parsePrincipals parses an AuthorizedPrincipalsFile named p: one
// principal a line, optionally after authorized_keys options; blank lines
// and # comments skipped; repeats dropped; at most maxPrincipals kept.
func parsePrincipals(p string, data []byte, w *warnings) []string {
	var out []string
	full := false
	lines(data, func(n int, line string) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || full {
			return
		}
		if strings.ContainsAny(line, " \t") {
			_, rest, err := splitKeyOptions(line)
			if err != nil {
				w.add(p, n, "%v", err)
				return
			}
			if line = strings.TrimSpace(rest); line == "" || strings.ContainsAny(line, " \t") {
				w.add(p, n, "line is not [options] principal")
				return
			}
		}
		switch {
		case len(line) > maxPrincipalLen:
			w.add(p, n, "principal longer than %d bytes, not recorded", maxPrincipalLen)
		case slices.Contains(out, line):
		case len(out) >= maxPrincipals:
			w.add(p, n, "more than %d principals, the rest not recorded", maxPrincipals)
			full = true
		default:
			out = append(out, line)
		}
	})
	return out
}

// certLogin is the account's SSH certificate login: principals from its
// principals file under a trusted user CA. nil when the host trusts no CA
// key, has no AuthorizedPrincipalsFile, or the file lists nobody.
//
// Without an AuthorizedPrincipalsFile sshd accepts a certificate whose
// principal is the user name: every account could log in so, and none is
// known to; the scanner records logins only where a principals file says
// who may.
func certLogin(sshd *scan.SSHD, file string, principals []string) *scan.SSHCertLogin {
	if sshd == nil || len(sshd.TrustedUserCAKeys) == 0 || file == "" || len(principals) == 0 {
		return nil
	}
	l := &scan.SSHCertLogin{PrincipalsFile: file, Principals: principals}
	for _, k := range sshd.TrustedUserCAKeys {
		l.CAFingerprints = append(l.CAFingerprints, k.Fingerprint)
	}
	return l
}

// matchOverrides returns where a Match block names the user outright
// ("Match User a,b", no patterns or other criteria) and sets the CA keys
// or the principals file: such an account's certificate login is not the
// global one, and the scanner does not evaluate Match blocks, so it
// records none for it and warns. Other Match blocks are listed in the
// report (scan.SSHD.MatchBlocks) and the global values stand.
func (c sshdConfig) matchOverrides(user string) string {
	for _, m := range c.MatchBlocks {
		if !slices.Contains(m.Sets, "authorizedprincipalsfile") && !slices.Contains(m.Sets, "trustedusercakeys") &&
			!slices.Contains(m.Sets, "authorizedprincipalscommand") {
			continue
		}
		f := strings.Fields(m.Criteria)
		if len(f) != 2 || !strings.EqualFold(f[0], "user") || strings.ContainsAny(f[1], "*?!") {
			continue
		}
		if slices.Contains(strings.Split(f[1], ","), user) {
			return m.Location
		}
	}
	return ""
}

// splitLoc splits a lineLoc "FILE:LINE".
func splitLoc(loc string) (string, int) {
	i := strings.LastIndexByte(loc, ':')
	if i < 0 {
		return loc, 0
	}
	n, err := strconv.Atoi(loc[i+1:])
	if err != nil {
		return loc, 0
	}
	return loc[:i], n
}

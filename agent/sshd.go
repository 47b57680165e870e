package agent

// The sshd loop of the host identity. Every refresh it fetches
// GET /v1/ssh/host-config (over the host's mTLS) and GET /ssh/krl and
// keeps, in the sshd directory (default /etc/ssh/roster):
//
//	user_ca.pub                 sshd's TrustedUserCAKeys
//	principals/ACCOUNT          sshd's AuthorizedPrincipalsFile .../principals/%u
//	revoked.krl                 sshd's RevokedKeys
//	ssh_host_X_key-cert.pub     sshd's HostCertificate, one per host key
//	principals.manifest         the principals files this loop wrote
//
// The host certificates are asked for with POST /v1/ssh/sign (type host),
// one per /etc/ssh/ssh_host_*_key.pub (the private keys are never read),
// and renewed at two thirds of their life. Every write is atomic and only
// happens when the content changes; the sshd reload actions run only after
// some file changed (and again at the next refresh if they failed). What
// the server sends is bounded and validated: an account name that is not a
// plain user name or a principal that would not be one line of a
// principals file is refused and logged; nothing is ever written outside
// the sshd directory, and only files named in the manifest are removed.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/internal/fsutil"
	"github.com/rosterhq/roster/sshkrl"
)

// Names in the sshd directory.
const (
	UserCAFile        = "user_ca.pub"
	PrincipalsDir     = "principals"
	KRLFile           = "revoked.krl"
	principalsListing = "principals.manifest"
)

// Bounds on what a host-config may hold.
const (
	maxCAKeys       = 16
	maxAccounts     = 4096
	maxPrincipals   = 1024 // per account
	maxPrincipalLen = 256
	maxHostKeys     = 16
)

// accountName is what a principals file may be named after: a plain Linux
// user name, so that it can be neither a path nor a hidden file.
var accountName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)

// sshdState is what the sshd loop remembers between refreshes.
type sshdState struct {
	reloadPending bool                // files changed but the reload failed
	hostPlans     map[string]hostPlan // host certificate file -> plan
}

// hostPlan is when the host certificate with serial is due.
type hostPlan struct {
	serial  uint64
	renewAt time.Time
}

func (o *SshdOptions) dir() string {
	if o.Dir == "" {
		return DefaultSshdDir
	}
	return o.Dir
}

func (o *SshdOptions) hostKeys() string {
	if o.HostKeys == "" {
		return DefaultHostKeysDir
	}
	return o.HostKeys
}

func (o *SshdOptions) refresh() time.Duration {
	if o.Refresh > 0 {
		return o.Refresh
	}
	return defaultSshdRefresh
}

// sshdLoop refreshes sshd's files every refresh (less up to a tenth of
// it, so that hosts started together do not poll together) until ctx is
// done; the first refresh is at once.
func (r *runner) sshdLoop(ctx context.Context) {
	st := &sshdState{hostPlans: map[string]hostPlan{}}
	refresh := r.id.Sshd.refresh()
	for {
		r.sshdOnce(ctx, st)
		if !sleep(ctx, refresh-time.Duration(r.cfg.rnd(int64(refresh/10)+1))) {
			return
		}
	}
}

// sshdOnce does one refresh. A failing part (server down, a bad answer)
// leaves its files as they are and is tried again at the next refresh.
func (r *runner) sshdOnce(ctx context.Context, st *sshdState) {
	cred, err := r.store.Load(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("sshd files not refreshed: no usable host certificate", slog.String(keyError, err.Error()))
		}
		return
	}
	if host, account := spiffeNames(identityURI(cred.Leaf().URIs)); host == "" || account != "" {
		r.log.Error("sshd files need the host identity (spiffe://TD/host/HOST)", slog.String(keyDir, r.id.Dir))
		return
	}
	client, err := r.client()
	if err != nil {
		r.log.Warn("sshd files not refreshed", slog.String(keyError, err.Error()))
		return
	}
	dir := r.id.Sshd.dir()
	if err := os.MkdirAll(filepath.Join(dir, PrincipalsDir), 0o755); err != nil {
		r.log.Error("cannot create the sshd directory", slog.String(keyDir, dir), slog.String(keyError, err.Error()))
		return
	}
	changed := false
	steps := []struct {
		what string
		run  func() (bool, error)
	}{
		{"host config", func() (bool, error) { return r.refreshHostConfig(ctx, client, cred, dir) }},
		{"krl", func() (bool, error) { return r.refreshKRL(ctx, client, dir) }},
		{"host certificates", func() (bool, error) { return r.refreshHostCerts(ctx, client, cred, dir, st) }},
	}
	for _, s := range steps {
		c, err := s.run()
		changed = changed || c
		if err != nil && ctx.Err() == nil {
			r.log.Warn("sshd "+s.what+" not refreshed; the current files stay in place", slog.String(keyError, err.Error()))
		}
	}
	if ctx.Err() != nil || !(changed || st.reloadPending) {
		return
	}
	st.reloadPending = true
	if err := r.reloadActions(ctx, r.id.Sshd.Reload); err == nil {
		st.reloadPending = false
	}
}

// refreshHostConfig installs user_ca.pub and the principals files.
func (r *runner) refreshHostConfig(ctx context.Context, client *Client, cred *Credential, dir string) (bool, error) {
	hc, err := client.SSHHostConfig(ctx, cred)
	if err != nil {
		return false, err
	}
	cas, principals, problems, err := cleanHostConfig(hc)
	for _, p := range problems {
		r.log.Warn("sshd host config: entry refused", slog.String(keyError, p))
	}
	if err != nil {
		return false, err
	}
	changed, err := writeIfChanged(filepath.Join(dir, UserCAFile), []byte(strings.Join(cas, "\n")+"\n"))
	if err != nil {
		return changed, err
	}
	listing := filepath.Join(dir, principalsListing)
	old, err := readListing(listing)
	if err != nil {
		return changed, err
	}
	accounts := make([]string, 0, len(principals))
	for a := range principals {
		accounts = append(accounts, a)
	}
	slices.Sort(accounts)
	// The manifest lists old and new accounts while files change, so that
	// a crash in between leaves nothing this loop would not remove later.
	if c, err := writeIfChanged(listing, listingBytes(union(old, accounts))); err != nil {
		return changed || c, err
	}
	for _, a := range accounts {
		c, err := writeIfChanged(filepath.Join(dir, PrincipalsDir, a), []byte(strings.Join(principals[a], "\n")+"\n"))
		changed = changed || c
		if err != nil {
			return changed, err
		}
	}
	for _, a := range old {
		if _, keep := principals[a]; keep {
			continue
		}
		err := os.Remove(filepath.Join(dir, PrincipalsDir, a))
		switch {
		case err == nil:
			changed = true
		case !errors.Is(err, fs.ErrNotExist):
			return changed, err
		}
	}
	_, err = writeIfChanged(listing, listingBytes(accounts))
	return changed, err
}

// cleanHostConfig validates a host-config: the CA keys (plain public keys,
// re-encoded), and per account the principals. An account whose name is
// not a plain user name, or a principal that is empty, too long, not UTF-8
// or holds a space, control character or a leading '#', is dropped and
// described in problems. It fails when no CA key is usable or the answer
// exceeds the bounds.
func cleanHostConfig(hc *api.SSHHostConfig) (cas []string, principals map[string][]string, problems []string, err error) {
	if len(hc.TrustedUserCAKeys) > maxCAKeys {
		return nil, nil, nil, fmt.Errorf("host config lists %d CA keys, at most %d accepted", len(hc.TrustedUserCAKeys), maxCAKeys)
	}
	if len(hc.Principals) > maxAccounts {
		return nil, nil, nil, fmt.Errorf("host config lists %d accounts, at most %d accepted", len(hc.Principals), maxAccounts)
	}
	for i, line := range hc.TrustedUserCAKeys {
		k, err := parsePlainKey(line)
		if err != nil {
			problems = append(problems, fmt.Sprintf("trusted_user_ca_keys[%d]: %v", i, err))
			continue
		}
		cas = append(cas, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))))
	}
	if len(cas) == 0 {
		return nil, nil, problems, errors.New("host config names no usable user CA key")
	}
	principals = map[string][]string{}
	for account, ps := range hc.Principals {
		if !accountName.MatchString(account) {
			problems = append(problems, fmt.Sprintf("account %q: not a user name", clip(account)))
			continue
		}
		if len(ps) > maxPrincipals {
			problems = append(problems, fmt.Sprintf("account %s: %d principals, at most %d accepted", account, len(ps), maxPrincipals))
			continue
		}
		var good []string
		for _, p := range ps {
			if why := badPrincipal(p); why != "" {
				problems = append(problems, fmt.Sprintf("account %s: principal %q: %s", account, clip(p), why))
				continue
			}
			good = append(good, p)
		}
		if len(good) > 0 {
			slices.Sort(good)
			principals[account] = slices.Compact(good)
		}
	}
	slices.Sort(problems)
	return cas, principals, problems, nil
}

// badPrincipal says why p cannot be a line of a principals file, or "".
func badPrincipal(p string) string {
	switch {
	case p == "":
		return "empty"
	case len(p) > maxPrincipalLen:
		return "too long"
	case !utf8.ValidString(p):
		return "not UTF-8"
	case strings.HasPrefix(p, "#"):
		return "starts with #"
	case strings.IndexFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return "holds a space or control character"
	}
	return ""
}

// refreshKRL installs the server's KRL after checking that it parses.
func (r *runner) refreshKRL(ctx context.Context, client *Client, dir string) (bool, error) {
	b, err := client.SSHKRL(ctx)
	if err != nil {
		return false, err
	}
	if _, err := sshkrl.Parse(b); err != nil {
		return false, fmt.Errorf("ssh krl: %w", err)
	}
	return writeIfChanged(filepath.Join(dir, KRLFile), b)
}

// refreshHostCerts keeps a certificate for each host public key, renewing
// it at two thirds of its life.
func (r *runner) refreshHostCerts(ctx context.Context, client *Client, cred *Credential, dir string, st *sshdState) (bool, error) {
	keys, err := filepath.Glob(filepath.Join(r.id.Sshd.hostKeys(), "ssh_host_*_key.pub"))
	if err != nil {
		return false, err
	}
	if len(keys) > maxHostKeys {
		return false, fmt.Errorf("%d host keys in %s, at most %d accepted", len(keys), r.id.Sshd.hostKeys(), maxHostKeys)
	}
	changed := false
	var errs []error
	for _, pubPath := range keys {
		c, err := r.refreshHostCert(ctx, client, cred, pubPath, dir, st)
		changed = changed || c
		if err != nil {
			errs = append(errs, err)
		}
	}
	return changed, errors.Join(errs...)
}

func (r *runner) refreshHostCert(ctx context.Context, client *Client, cred *Credential, pubPath, dir string, st *sshdState) (bool, error) {
	b, err := readSmall(pubPath)
	if err != nil {
		return false, err
	}
	pub, err := parsePlainKey(string(b))
	if err != nil {
		return false, fmt.Errorf("%s: %w", pubPath, err)
	}
	certPath := filepath.Join(dir, strings.TrimSuffix(filepath.Base(pubPath), ".pub")+"-cert.pub")
	now := r.cfg.now()
	if cur, err := readSSHCert(certPath); err == nil && bytes.Equal(cur.Key.Marshal(), pub.Marshal()) &&
		cur.CertType == ssh.HostCert && now.Before(certTime(cur.ValidBefore)) {
		p, ok := st.hostPlans[certPath]
		if !ok || p.serial != cur.Serial {
			p = hostPlan{serial: cur.Serial, renewAt: now.Add(next(certTime(cur.ValidAfter), certTime(cur.ValidBefore), now, r.cfg.rnd))}
			st.hostPlans[certPath] = p
		}
		if now.Before(p.renewAt) {
			return false, nil
		}
	}
	resp, err := client.SSHSign(ctx, cred, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))), api.SSHCertHost)
	if err != nil {
		return false, fmt.Errorf("host certificate for %s: %w", pubPath, err)
	}
	// Checked at the time the answer arrived: the certificate's start,
	// in whole seconds, may be later than now.
	cert, err := checkSSHCert(resp.Certificate, pub, ssh.HostCert, resp.HostCA, r.cfg.now())
	if err != nil {
		return false, fmt.Errorf("host certificate for %s: %w", pubPath, err)
	}
	changed, err := writeIfChanged(certPath, ssh.MarshalAuthorizedKey(cert))
	if err != nil {
		return changed, err
	}
	va, vb := certTime(cert.ValidAfter), certTime(cert.ValidBefore)
	st.hostPlans[certPath] = hostPlan{serial: cert.Serial, renewAt: now.Add(nextAfterRenewal(va, vb, now, r.cfg.rnd))}
	r.log.Info("ssh host certificate renewed", slog.String("host_key", pubPath),
		slog.String(keySerial, strconv.FormatUint(cert.Serial, 10)), slog.Time(keyNotAfter, vb))
	return changed, nil
}

// writeIfChanged writes data to path (0644, atomically) unless the file
// holds it already, and reports whether it wrote.
func writeIfChanged(path string, data []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == 0o644 {
			return false, nil
		}
	}
	if err := fsutil.WriteFile(path, data, 0o644); err != nil {
		return false, err
	}
	return true, nil
}

// readListing reads the principals manifest: account names, one a line.
// Names that are not account names are ignored (never removed).
func readListing(path string) ([]string, error) {
	b, err := readSmall(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if accountName.MatchString(line) {
			out = append(out, line)
		}
	}
	return out, nil
}

func listingBytes(accounts []string) []byte {
	var b strings.Builder
	b.WriteString("# Principals files written by roster-agent; the others are left alone.\n")
	for _, a := range accounts {
		b.WriteString(a + "\n")
	}
	return []byte(b.String())
}

func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// reloadActions runs actions in order; each failing one is retried a few
// times with backoff, then given up on and reported. The identity's reload
// actions and the sshd reload actions both run through it.
func (r *runner) reloadActions(ctx context.Context, actions []ReloadAction) error {
	var errs []error
	for _, a := range actions {
		var err error
		for attempt := 0; attempt < reloadAttempts; attempt++ {
			if err = r.rel.run(ctx, a); err == nil {
				r.log.Info("reload action ran", slog.String(keyAction, a.String()))
				break
			}
			level := slog.LevelWarn
			if attempt == reloadAttempts-1 {
				level = slog.LevelError
			}
			r.log.Log(ctx, level, "reload action failed", slog.String(keyAction, a.String()),
				slog.String(keyError, err.Error()), slog.Int(keyAttempt, attempt+1))
			if attempt < reloadAttempts-1 && !sleep(ctx, backoff(attempt, r.cfg.rnd)) {
				return ctx.Err()
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reload %s: %w", a, err))
		}
	}
	return errors.Join(errs...)
}

package agent

// SSH user certificates. An identity with an ssh section keeps, in
// DIR/ssh, a key generated here (id_ed25519 or id_ecdsa, 0600, owned by the
// identity's user), the certificate POST /v1/ssh/sign returns for it
// (id_ed25519-cert.pub), a known_hosts file trusting the host CA
// (@cert-authority * HOSTCA) and an ssh_config snippet naming all three
// (ssh -F DIR/ssh/config ACCOUNT@HOST). The certificate is renewed at two
// thirds of its life by the identity's renewal loop, after the X.509
// certificate when both are due, with the same schedule functions; the key
// is kept across renewals and replaced only when the identity rekeys.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/internal/fsutil"
)

// Names in an identity directory's ssh subdirectory.
const (
	SSHDir            = "ssh"
	SSHConfigFile     = "config"
	SSHKnownHostsFile = "known_hosts"
)

// sshKeyName is the key file's name for a key type: id_ed25519 or id_ecdsa,
// as ssh-keygen names them; the certificate is NAME-cert.pub.
func sshKeyName(keyType string) string {
	if keyType == KeyECDSA {
		return "id_ecdsa"
	}
	return "id_ed25519"
}

// sshState is the SSH half of a runner: the plan of the current
// certificate and the failures in a row.
type sshState struct {
	attempt    int
	renewAt    time.Time
	plannedFor uint64 // serial of the certificate renewAt is about
	state      string // last steady problem logged
}

// sshFiles are the paths of an identity's SSH files.
type sshFiles struct {
	dir, key, pending, cert, config, knownHosts string
}

func sshPaths(identityDir, keyType string) sshFiles {
	dir := filepath.Join(identityDir, SSHDir)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	name := sshKeyName(keyType)
	return sshFiles{
		dir:        dir,
		key:        filepath.Join(dir, name),
		pending:    filepath.Join(dir, name+".pending"),
		cert:       filepath.Join(dir, name+"-cert.pub"),
		config:     filepath.Join(dir, SSHConfigFile),
		knownHosts: filepath.Join(dir, SSHKnownHostsFile),
	}
}

// sshStep does what is due for the identity's SSH certificate, with cred
// (the identity's current X.509 credential) for the request, and returns
// how long to wait before looking again.
func (r *runner) sshStep(ctx context.Context, cred *Credential, forced bool) time.Duration {
	now := r.cfg.now()
	files := sshPaths(r.id.Dir, r.id.SSH.KeyType)
	key, cert, loadErr := loadSSH(files)
	valid := cert != nil && now.Before(certTime(cert.ValidBefore))
	if valid && !forced && r.ssh.attempt == 0 {
		if r.ssh.plannedFor != cert.Serial {
			r.planSSH(cert, next(certTime(cert.ValidAfter), certTime(cert.ValidBefore), now, r.cfg.rnd), now)
		}
		if d := wake(r.ssh.renewAt, now); d > 0 {
			r.updateStatus(func(st *Status) { st.SSH = sshWaiting(st.SSH, cert, r.ssh.renewAt) })
			return d
		}
	}
	if loadErr != nil && r.ssh.state != loadErr.Error() {
		r.ssh.state = loadErr.Error()
		r.log.Warn("ssh files unusable; asking for a new certificate", slog.String(keyError, loadErr.Error()))
	}
	fresh, err := r.sshRenew(ctx, cred, key, files)
	switch {
	case err != nil && ctx.Err() != nil:
		return 0
	case err != nil:
		notAfter := now.Add(4 * maxBackoff) // no certificate: plain backoff
		if valid {
			notAfter = certTime(cert.ValidBefore)
		}
		wait := retryWait(r.ssh.attempt, notAfter, now, r.cfg.rnd)
		r.ssh.attempt++
		attrs := failureAttrs(err, r.ssh.attempt, wait, notAfter, failureHint(err, cred.Leaf(), r.id))
		r.log.Warn("ssh certificate renewal failed; the current files stay in place", attrs...)
		r.updateStatus(func(st *Status) { st.SSH = sshFailed(st.SSH, cert, err, now, wait) })
		return wait
	}
	r.ssh.attempt, r.ssh.state = 0, ""
	va, vb := certTime(fresh.ValidAfter), certTime(fresh.ValidBefore)
	r.planSSH(fresh, nextAfterRenewal(va, vb, now, r.cfg.rnd), now)
	r.log.Info("ssh certificate renewed", slog.String(keySerial, strconv.FormatUint(fresh.Serial, 10)),
		slog.Time(keyNotAfter, vb), slog.Time(keyNextRenewal, r.ssh.renewAt))
	r.updateStatus(func(st *Status) {
		st.SSH = SSHStatus{Serial: strconv.FormatUint(fresh.Serial, 10), NotAfter: vb, NextRenewal: r.ssh.renewAt, LastRenewal: now}
	})
	r.askReload()
	return wake(r.ssh.renewAt, now)
}

func (r *runner) planSSH(cert *ssh.Certificate, d time.Duration, now time.Time) {
	r.ssh.plannedFor = cert.Serial
	r.ssh.renewAt = now.Add(d).Round(0)
}

// sshRenew asks for a certificate for key (a new key when there is none,
// or when the identity rekeys), verifies it and installs the files.
func (r *runner) sshRenew(ctx context.Context, cred *Credential, key crypto.Signer, files sshFiles) (*ssh.Certificate, error) {
	client, err := r.client()
	if err != nil {
		return nil, err
	}
	newKey := key == nil || r.id.Rekey
	if newKey {
		keyType := r.id.SSH.KeyType
		if keyType == "" {
			keyType = KeyEd25519
		}
		if key, err = GenerateKey(keyType); err != nil {
			return nil, err
		}
	}
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("ssh public key: %w", err)
	}
	resp, err := client.SSHSign(ctx, cred, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))), api.SSHCertUser)
	if err != nil {
		return nil, err
	}
	cert, err := checkSSHCert(resp.Certificate, pub, ssh.UserCert, resp.UserCA, r.cfg.now())
	if err != nil {
		return nil, err
	}
	hostCA, err := parsePlainKey(resp.HostCA)
	if err != nil {
		return nil, fmt.Errorf("ssh sign: host_ca: %w", err)
	}
	if err := r.saveSSH(files, key, newKey, cert, hostCA); err != nil {
		return nil, fmt.Errorf("install ssh certificate: %w", err)
	}
	return cert, nil
}

// saveSSH writes the SSH files. A new key goes first to NAME.pending, then
// the certificate replaces the old one and the pending key is renamed over
// the old key, so that loadSSH can finish a change a crash interrupted
// (the same three steps as [DirStore.Save]).
func (r *runner) saveSSH(f sshFiles, key crypto.Signer, newKey bool, cert *ssh.Certificate, hostCA ssh.PublicKey) error {
	if err := r.sshMkdir(f.dir); err != nil {
		return err
	}
	o := r.store.owner
	write := func(path string, data []byte, perm fs.FileMode) error {
		return fsutil.WriteFile(path, data, perm, fsutil.Owner(o.UID, o.GID))
	}
	if newKey {
		block, err := ssh.MarshalPrivateKey(key, r.id.Name)
		if err != nil {
			return fmt.Errorf("encode ssh key: %w", err)
		}
		if err := write(f.pending, pem.EncodeToMemory(block), 0o600); err != nil {
			return err
		}
	}
	if err := write(f.cert, ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		return err
	}
	if newKey {
		if err := fsutil.Rename(f.pending, f.key); err != nil {
			return err
		}
	}
	known := "@cert-authority * " + string(ssh.MarshalAuthorizedKey(hostCA))
	if err := write(f.knownHosts, []byte(known), 0o644); err != nil {
		return err
	}
	return write(f.config, sshConfig(r.id.Name, f), 0o644)
}

// sshMkdir creates DIR/ssh like the identity directory: 0750 and given to
// the user's group when the identity has a user, 0700 otherwise.
func (r *runner) sshMkdir(dir string) error {
	mode := fs.FileMode(0o700)
	if r.store.owner.UID >= 0 {
		mode = 0o750
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	if err := os.Chmod(dir, mode); err != nil {
		return err
	}
	if o := r.store.owner; o.UID >= 0 {
		return os.Chown(dir, os.Geteuid(), o.GID)
	}
	return nil
}

// sshConfig is the ssh_config snippet of an identity: ssh -F FILE uses
// the identity's key, its certificate, and trusts only hosts whose
// certificate the roster host CA signed.
func sshConfig(name string, f sshFiles) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# roster-agent: SSH certificate of identity %s; rewritten at every renewal.\n", sshQuote(name))
	fmt.Fprintf(&b, "# Use: ssh -F %s ACCOUNT@HOST\n", sshQuote(f.config))
	fmt.Fprintf(&b, "IdentityFile %s\n", sshQuote(f.key))
	fmt.Fprintf(&b, "CertificateFile %s\n", sshQuote(f.cert))
	fmt.Fprintf(&b, "IdentitiesOnly yes\n")
	fmt.Fprintf(&b, "UserKnownHostsFile %s\n", sshQuote(f.knownHosts))
	fmt.Fprintf(&b, "GlobalKnownHostsFile none\n")
	fmt.Fprintf(&b, "StrictHostKeyChecking yes\n")
	return []byte(b.String())
}

// sshQuote quotes a path for ssh_config when it holds a space; newlines
// and quotes cannot occur (the identity's directory comes from the
// operator's configuration) but are replaced to keep the file one option a
// line.
func sshQuote(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
	if strings.ContainsAny(s, " \t") {
		return `"` + s + `"`
	}
	return s
}

// loadSSH reads the SSH key and certificate. A missing key gives a nil key
// (a new one is generated); a certificate that is missing, unreadable or
// not for the key gives a nil certificate (a new one is asked for). It
// finishes a key change that a crash interrupted.
func loadSSH(f sshFiles) (crypto.Signer, *ssh.Certificate, error) {
	cert, certErr := readSSHCert(f.cert)
	key, keyErr := readSSHKey(f.key)
	if cert != nil && key != nil && sshKeyMatches(cert, key) {
		_ = os.Remove(f.pending)
		return key, cert, nil
	}
	if pk, err := readSSHKey(f.pending); err == nil && cert != nil && sshKeyMatches(cert, pk) {
		if err := fsutil.Rename(f.pending, f.key); err != nil {
			return pk, nil, fmt.Errorf("complete interrupted ssh key change: %w", err)
		}
		return pk, cert, nil
	}
	switch {
	case keyErr != nil && errors.Is(keyErr, fs.ErrNotExist):
		return nil, nil, nil
	case keyErr != nil:
		return nil, nil, keyErr
	case certErr != nil && errors.Is(certErr, fs.ErrNotExist):
		return key, nil, nil
	case certErr != nil:
		return key, nil, certErr
	}
	return key, nil, fmt.Errorf("%s does not certify %s", f.cert, f.key)
}

func sshKeyMatches(cert *ssh.Certificate, key crypto.Signer) bool {
	pub, err := ssh.NewPublicKey(key.Public())
	return err == nil && bytes.Equal(pub.Marshal(), cert.Key.Marshal())
}

func readSSHKey(path string) (crypto.Signer, error) {
	b, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	k, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// ParseRawPrivateKey returns ed25519 keys by pointer.
	if p, ok := k.(*ed25519.PrivateKey); ok {
		k = *p
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: unsupported key type %T", path, k)
	}
	return s, nil
}

// readSSHCert reads and parses a certificate file (one -cert.pub line).
func readSSHCert(path string) (*ssh.Certificate, error) {
	b, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c, ok := pk.(*ssh.Certificate)
	if !ok {
		return nil, fmt.Errorf("%s: not a certificate", path)
	}
	return c, nil
}

// maxSSHFile bounds every SSH key, certificate or public key file read.
const maxSSHFile = 64 << 10

// readSmall reads a file of at most maxSSHFile bytes.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSSHFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxSSHFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxSSHFile)
	}
	return b, nil
}

// checkSSHCert verifies a certificate line the server returned: it is a
// certificate of certType for pub, signed by the CA key in caLine, valid
// at now, with at least one principal.
func checkSSHCert(line string, pub ssh.PublicKey, certType uint32, caLine string, now time.Time) (*ssh.Certificate, error) {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, fmt.Errorf("ssh certificate: %w", err)
	}
	cert, ok := pk.(*ssh.Certificate)
	if !ok {
		return nil, errors.New("ssh certificate: the server returned a plain key")
	}
	if cert.CertType != certType {
		return nil, fmt.Errorf("ssh certificate: type %d, want %d", cert.CertType, certType)
	}
	if !bytes.Equal(cert.Key.Marshal(), pub.Marshal()) {
		return nil, errors.New("ssh certificate: it certifies another key than ours")
	}
	ca, err := parsePlainKey(caLine)
	if err != nil {
		return nil, fmt.Errorf("ssh certificate: CA key: %w", err)
	}
	if !bytes.Equal(cert.SignatureKey.Marshal(), ca.Marshal()) {
		return nil, errors.New("ssh certificate: not signed by the CA the server names")
	}
	if len(cert.ValidPrincipals) == 0 {
		return nil, errors.New("ssh certificate: no principal")
	}
	checker := ssh.CertChecker{
		Clock:                    func() time.Time { return now },
		SupportedCriticalOptions: []string{"source-address", "force-command", "verify-required"},
	}
	if err := checker.CheckCert(cert.ValidPrincipals[0], cert); err != nil {
		return nil, fmt.Errorf("ssh certificate: %w", err)
	}
	return cert, nil
}

// parsePlainKey parses an authorized_keys line holding a plain public key
// (not a certificate).
func parsePlainKey(line string) (ssh.PublicKey, error) {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, err
	}
	if _, ok := pk.(*ssh.Certificate); ok {
		return nil, errors.New("a certificate, want a public key")
	}
	return pk, nil
}

// certTime converts an SSH certificate time (seconds; CertTimeInfinity for
// forever) to a time.Time.
func certTime(t uint64) time.Time {
	if t > 1<<62 {
		return time.Unix(1<<62, 0)
	}
	return time.Unix(int64(t), 0)
}

// askReload asks the reload loop to run the identity's reload actions.
func (r *runner) askReload() {
	if len(r.id.Reload) == 0 {
		return
	}
	select {
	case r.reload <- struct{}{}:
	default: // a reload is pending already
	}
}

// SSHStatus is the SSH certificate's part of status.json.
type SSHStatus struct {
	Serial      string    `json:"serial,omitempty"`
	NotAfter    time.Time `json:"not_after,omitzero"`
	NextRenewal time.Time `json:"next_renewal,omitzero"`
	LastRenewal time.Time `json:"last_renewal,omitzero"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	Refused     bool      `json:"refused,omitempty"`
}

// sshWaiting: cert is valid and due at renewAt.
func sshWaiting(st SSHStatus, cert *ssh.Certificate, renewAt time.Time) SSHStatus {
	serial := strconv.FormatUint(cert.Serial, 10)
	if st.Serial != serial {
		st = SSHStatus{}
	}
	st.Serial, st.NotAfter, st.NextRenewal = serial, certTime(cert.ValidBefore), renewAt
	return st
}

// sshFailed: asking for a certificate failed; cert (nil when there is
// none) stays.
func sshFailed(st SSHStatus, cert *ssh.Certificate, err error, now time.Time, wait time.Duration) SSHStatus {
	if cert != nil {
		st.Serial, st.NotAfter = strconv.FormatUint(cert.Serial, 10), certTime(cert.ValidBefore)
	}
	st.LastAttempt, st.LastError, st.Refused, st.NextRenewal = now, err.Error(), isRefused(err), now.Add(wait)
	return st
}

package agent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/fsutil"
)

// Names of the files in an identity directory.
const (
	CertFile     = "cert.pem"      // leaf then intermediate
	KeyFile      = "key.pem"       // PKCS #8, mode 0600
	RootFile     = "root.pem"      // the pinned root
	IdentityFile = "identity.json" // server URL and root fingerprint
	StatusFile   = "status.json"   // outcome of the last attempt
	pendingKey   = "key.pem.pending"
)

// ErrNotEnrolled is returned by [DirStore.Load] when the directory holds no
// certificate.
var ErrNotEnrolled = errors.New("not enrolled")

// Credential is a certificate chain and the private key of its leaf.
type Credential struct {
	Chain []*x509.Certificate // leaf first, then the intermediate
	Key   crypto.Signer
}

// Leaf returns the end-entity certificate.
func (c *Credential) Leaf() *x509.Certificate { return c.Chain[0] }

// TLSCertificate is the credential as a TLS client certificate.
func (c *Credential) TLSCertificate() tls.Certificate {
	raw := make([][]byte, len(c.Chain))
	for i, x := range c.Chain {
		raw[i] = x.Raw
	}
	return tls.Certificate{Certificate: raw, PrivateKey: c.Key, Leaf: c.Leaf()}
}

// DirStore keeps an identity's files in one directory. Use [OpenDir].
type DirStore struct {
	// mu serialises Load and Save within the process: Load may finish an
	// interrupted key change, which must not race a Save in progress.
	mu    sync.Mutex
	dir   string
	owner owner // who owns cert.pem and key.pem
	// writeOpts are added to every file write; tests inject failures.
	writeOpts []fsutil.Option
	// step, when set, is called after each durable step of a key and
	// certificate change; an error stops Save there, as a crash would.
	step func(name string) error
}

// owner says who a written file belongs to; a negative UID leaves the file
// owned by the writing process.
type owner struct{ UID, GID int }

var noOwner = owner{UID: -1, GID: -1}

// OpenDir returns the store for dir. When userName is not empty, the
// certificate and key files are owned by that user and the directory is
// given to the user's primary group with mode 0750, so the service can read
// them and nobody else can; otherwise the files belong to the calling
// process and the directory has mode 0700. With create, a missing directory
// is created and an existing one gets those permissions.
func OpenDir(dir, userName string, create bool) (*DirStore, error) {
	if dir == "" {
		return nil, errors.New("identity directory is empty")
	}
	s := &DirStore{dir: dir, owner: noOwner}
	dirMode := os.FileMode(0o700)
	dirOwner := noOwner
	if userName != "" {
		u, err := user.Lookup(userName)
		if err != nil {
			return nil, fmt.Errorf("look up user %q: %w", userName, err)
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("user %q has a non-numeric uid or gid", userName)
		}
		if euid := os.Geteuid(); euid != 0 && euid != uid {
			return nil, fmt.Errorf("giving the files to user %q needs root: run as root or as %s", userName, userName)
		}
		s.owner = owner{UID: uid, GID: gid}
		dirMode = 0o750
		dirOwner = owner{UID: os.Geteuid(), GID: gid}
	}
	if !create {
		return s, nil
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("create identity directory: %w", err)
	}
	if err := os.Chmod(dir, dirMode); err != nil {
		return nil, fmt.Errorf("set mode of %s: %w", dir, err)
	}
	if dirOwner.UID >= 0 {
		if err := os.Chown(dir, dirOwner.UID, dirOwner.GID); err != nil {
			return nil, fmt.Errorf("set owner of %s: %w", dir, err)
		}
	}
	return s, nil
}

func (s *DirStore) path(name string) string { return filepath.Join(s.dir, name) }

// write replaces the file name with data, mode perm, owned by o, atomically
// and durably (see [fsutil.WriteFile]).
func (s *DirStore) write(name string, data []byte, perm fs.FileMode, o owner) error {
	opts := append([]fsutil.Option{fsutil.Owner(o.UID, o.GID)}, s.writeOpts...)
	return fsutil.WriteFile(s.path(name), data, perm, opts...)
}

// Load reads the certificate and key. It completes a key change that a
// crash interrupted (see [DirStore.Save]) and fails when the key does not
// belong to the certificate. It returns an error wrapping [ErrNotEnrolled]
// when there is no certificate.
func (s *DirStore) Load(ctx context.Context) (*Credential, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	chain, err := s.readChain()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", s.path(CertFile), ErrNotEnrolled)
	}
	if err != nil {
		return nil, err
	}
	key, keyErr := s.readKey(KeyFile)
	if keyErr == nil && publicKeyEqual(chain[0].PublicKey, key.Public()) {
		s.dropPending()
		return &Credential{Chain: chain, Key: key}, nil
	}
	// cert.pem was replaced but key.pem not yet: finish the change.
	if pk, err := s.readKey(pendingKey); err == nil && publicKeyEqual(chain[0].PublicKey, pk.Public()) {
		if err := fsutil.Rename(s.path(pendingKey), s.path(KeyFile)); err != nil {
			return nil, fmt.Errorf("complete interrupted key change: %w", err)
		}
		return &Credential{Chain: chain, Key: pk}, nil
	}
	if keyErr != nil {
		return nil, keyErr
	}
	return nil, fmt.Errorf("%s does not belong to %s", s.path(KeyFile), s.path(CertFile))
}

// readChain reads and parses cert.pem. A read error is returned as is (it
// wraps [fs.ErrNotExist] when there is no certificate); a parse error is
// prefixed with the file's path.
func (s *DirStore) readChain() ([]*x509.Certificate, error) {
	b, err := os.ReadFile(s.path(CertFile))
	if err != nil {
		return nil, err
	}
	chain, err := ParseCertificates(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.path(CertFile), err)
	}
	return chain, nil
}

// dropPending removes a leftover pending key from a change that never
// reached cert.pem.
func (s *DirStore) dropPending() {
	if err := os.Remove(s.path(pendingKey)); err == nil {
		_ = fsutil.SyncDir(s.dir)
	}
}

func (s *DirStore) readKey(name string) (crypto.Signer, error) {
	b, err := os.ReadFile(s.path(name))
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.path(name), err)
	}
	return k, nil
}

// Save installs c. The caller has verified the chain; Save checks again
// that the key belongs to the leaf and refuses otherwise.
//
// When the key is the one already in key.pem (a renewal), only cert.pem is
// replaced, atomically. A new key is installed in three durable steps:
//
//  1. the key is written to key.pem.pending;
//  2. cert.pem is replaced;
//  3. key.pem.pending is renamed to key.pem.
//
// A crash before step 2 leaves the old pair, and Load removes the pending
// key; a crash after step 2 leaves the new certificate with its key in
// key.pem.pending, and Load finishes step 3. So cert.pem and key.pem are a
// matching pair whenever Load returns.
func (s *DirStore) Save(ctx context.Context, c *Credential) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(c.Chain) == 0 || c.Key == nil {
		return errors.New("save: empty credential")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !publicKeyEqual(c.Leaf().PublicKey, c.Key.Public()) {
		return errors.New("save: the certificate does not belong to the key")
	}
	certPEM := EncodeCertificates(c.Chain)
	if old, err := s.readKey(KeyFile); err == nil && publicKeyEqual(old.Public(), c.Key.Public()) {
		return s.write(CertFile, certPEM, 0o644, s.owner)
	}
	keyPEM, err := EncodePrivateKey(c.Key)
	if err != nil {
		return err
	}
	if err := s.write(pendingKey, keyPEM, 0o600, s.owner); err != nil {
		return err
	}
	if err := s.crashPoint("key-pending"); err != nil {
		return err
	}
	if err := s.write(CertFile, certPEM, 0o644, s.owner); err != nil {
		return err
	}
	if err := s.crashPoint("cert"); err != nil {
		return err
	}
	if err := fsutil.Rename(s.path(pendingKey), s.path(KeyFile)); err != nil {
		return fmt.Errorf("install %s: %w", s.path(KeyFile), err)
	}
	return nil
}

func (s *DirStore) crashPoint(name string) error {
	if s.step == nil {
		return nil
	}
	return s.step(name)
}

// SaveRoot writes the pinned root certificate.
func (s *DirStore) SaveRoot(root *x509.Certificate) error {
	return s.write(RootFile, EncodeCertificates([]*x509.Certificate{root}), 0o644, s.owner)
}

// LoadRoot reads the pinned root certificate.
func (s *DirStore) LoadRoot() (*x509.Certificate, error) {
	b, err := os.ReadFile(s.path(RootFile))
	if err != nil {
		return nil, err
	}
	certs, err := ParseCertificates(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.path(RootFile), err)
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("%s: holds %d certificates, want 1", s.path(RootFile), len(certs))
	}
	return certs[0], nil
}

// IdentityInfo is what enrollment remembers in identity.json so that `run`
// needs less configuration. None of it is secret.
type IdentityInfo struct {
	Server          string    `json:"server"`
	RootFingerprint string    `json:"root_fingerprint"`
	EnrolledAt      time.Time `json:"enrolled_at"`
}

// SaveIdentity writes identity.json.
func (s *DirStore) SaveIdentity(info IdentityInfo) error {
	return s.writeJSON(IdentityFile, info)
}

// LoadIdentity reads identity.json.
func (s *DirStore) LoadIdentity() (IdentityInfo, error) {
	var info IdentityInfo
	err := s.readJSON(IdentityFile, &info)
	return info, err
}

// Status is the outcome of an identity's last renewal attempt, kept in
// status.json for `roster-agent status`.
type Status struct {
	Identity    string    `json:"identity"`
	Serial      string    `json:"serial,omitempty"`
	NotAfter    time.Time `json:"not_after,omitzero"`
	NextRenewal time.Time `json:"next_renewal,omitzero"`
	LastRenewal time.Time `json:"last_renewal,omitzero"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	// ReloadError is the failure of the last reload actions, if any.
	ReloadError string `json:"reload_error,omitempty"`
	// Hint says what to do about the last failed renewal, when the server
	// or the agent knows.
	Hint string `json:"hint,omitempty"`
	// Refused is true when the server refused the last renewal (revoked,
	// expired or no longer eligible), as opposed to being unreachable.
	Refused bool `json:"refused,omitempty"`
	// NeedsReenrollment is true when the certificate expired and only a
	// new enrollment can bring the identity back.
	NeedsReenrollment bool `json:"needs_reenrollment,omitempty"`
	// SSH is the SSH user certificate's, for an identity with one.
	SSH SSHStatus `json:"ssh,omitzero"`
}

// SaveStatus writes status.json.
func (s *DirStore) SaveStatus(st Status) error { return s.writeJSON(StatusFile, st) }

// LoadStatus reads status.json.
func (s *DirStore) LoadStatus() (Status, error) {
	var st Status
	err := s.readJSON(StatusFile, &st)
	return st, err
}

func (s *DirStore) writeJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return s.write(name, append(b, '\n'), 0o644, noOwner)
}

func (s *DirStore) readJSON(name string, v any) error {
	b, err := os.ReadFile(s.path(name))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", s.path(name), err)
	}
	return nil
}

// ParseCertificates parses every CERTIFICATE block of a PEM bundle. It
// fails on any other block type or trailing garbage and when there is no
// certificate.
func ParseCertificates(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for n := 1; ; n++ {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, want CERTIFICATE", n, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	if len(bytes.TrimSpace(b)) != 0 {
		return nil, errors.New("unexpected data after the last PEM certificate")
	}
	return certs, nil
}

// EncodeCertificates returns certs as a PEM bundle.
func EncodeCertificates(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// EncodePrivateKey returns key as an unencrypted PKCS #8 PEM block, the
// form OpenSSL, libpq and Go all read.
func EncodePrivateKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKey reads a PEM private key: PKCS #8, or the older SEC 1 (EC)
// and PKCS #1 (RSA) forms.
func ParsePrivateKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM private key found")
	}
	var (
		k   any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %q, want PRIVATE KEY", block.Type)
	}
	if err != nil {
		// The parser's message never includes key material.
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
	return s, nil
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

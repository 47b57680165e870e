package ca

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.step.sm/crypto/keyutil"
	"go.step.sm/crypto/pemutil"
	"go.step.sm/crypto/x509util"

	"github.com/rosterhq/roster/internal/certutil"
	"github.com/rosterhq/roster/internal/fsutil"
	"github.com/rosterhq/roster/spiffeid"
)

// File names inside the data directory.
const (
	manifestFile       = "ca.json"
	rootCertFile       = "root.crt"
	interCertFile      = "intermediate.crt"
	secretsDir         = "secrets"
	rootKeyFile        = "secrets/root.key"
	interKeyFile       = "secrets/intermediate.key"
	serverCertFile     = "server.crt"
	serverKeyFile      = "secrets/server.key"
	databaseFile       = "ca.db"
	manifestVersion    = 1
	manifestKind       = "roster-ca"
	rootValidity       = 10 * 365 * 24 * time.Hour
	interValidity      = 5 * 365 * 24 * time.Hour
	DefaultTrustDomain = "roster.local"
)

// ErrNotInitialized is returned by [Open] for a directory that [Init] has
// not set up.
var ErrNotInitialized = errors.New("ca: data directory is not initialised")

// InitOptions configure [Init].
type InitOptions struct {
	// TrustDomain is the SPIFFE trust domain of every identity this CA
	// issues for; default "roster.local".
	TrustDomain string
	// Passphrase, when set, encrypts the private keys on disk. The same
	// passphrase must be given to [Open].
	Passphrase []byte
	// ServerNames are the DNS names or IP addresses of the first server
	// certificate (see [CA.ServerCertificate]); default localhost and
	// 127.0.0.1.
	ServerNames []string
	// SSHKeyType is the algorithm of the SSH user and host CA keys
	// ("": Ed25519; or ECDSA P-256).
	SSHKeyType SSHKeyType
}

// manifest is DIR/ca.json.
type manifest struct {
	Kind            string    `json:"kind"`
	Version         int       `json:"version"`
	TrustDomain     string    `json:"trust_domain"`
	RootFingerprint string    `json:"root_fingerprint"`
	Encrypted       bool      `json:"keys_encrypted"`
	ServerNames     []string  `json:"server_names,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
}

// IsInitialized reports whether dir holds a CA manifest. A directory with CA
// files but no manifest is not initialised, and [Init] refuses it as damaged.
func IsInitialized(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, manifestFile))
	return err == nil
}

// Init creates a new CA in dir: an ECDSA P-256 root and intermediate, their
// keys (0600, in DIR/secrets, 0700), the manifest and an empty database. It
// refuses a directory that already holds any CA file.
func Init(dir string, opts InitOptions) error {
	td := opts.TrustDomain
	if td == "" {
		td = DefaultTrustDomain
	}
	if err := spiffeid.ValidateTrustDomain(td); err != nil {
		return err
	}
	if err := opts.SSHKeyType.check(); err != nil {
		return err
	}
	for _, name := range []string{manifestFile, rootCertFile, interCertFile, rootKeyFile, interKeyFile, databaseFile, sshUserKeyFile, sshHostKeyFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("ca: init %s: %s already exists (refusing to overwrite an existing CA)", dir, name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("ca: init %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, secretsDir), 0o700); err != nil {
		return fmt.Errorf("ca: init: %w", err)
	}
	// MkdirAll keeps the mode of an existing directory; the secrets must not
	// be readable by others whatever was there before.
	if err := os.Chmod(filepath.Join(dir, secretsDir), 0o700); err != nil {
		return fmt.Errorf("ca: init: %w", err)
	}

	now := time.Now()
	rootKey, err := keyutil.GenerateSigner("EC", "P-256", 0)
	if err != nil {
		return fmt.Errorf("ca: generate root key: %w", err)
	}
	rootTpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "roster root CA " + td, Organization: []string{"roster"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(rootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	if rootTpl.SerialNumber, err = randomSerial(); err != nil {
		return err
	}
	root, err := x509util.CreateCertificate(rootTpl, rootTpl, rootKey.Public(), rootKey)
	if err != nil {
		return fmt.Errorf("ca: create root certificate: %w", err)
	}

	interKey, err := keyutil.GenerateSigner("EC", "P-256", 0)
	if err != nil {
		return fmt.Errorf("ca: generate intermediate key: %w", err)
	}
	interTpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "roster intermediate CA " + td, Organization: []string{"roster"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(interValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	if interTpl.SerialNumber, err = randomSerial(); err != nil {
		return err
	}
	inter, err := x509util.CreateCertificate(interTpl, root, interKey.Public(), rootKey)
	if err != nil {
		return fmt.Errorf("ca: create intermediate certificate: %w", err)
	}

	if err := writeKey(filepath.Join(dir, rootKeyFile), rootKey, opts.Passphrase); err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, interKeyFile), interKey, opts.Passphrase); err != nil {
		return err
	}
	if _, _, err := ensureSSHKeys(dir, opts.SSHKeyType, opts.Passphrase); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, rootCertFile), certPEM(root), 0o644); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, interCertFile), certPEM(inter), 0o644); err != nil {
		return err
	}
	m := manifest{
		Kind:            manifestKind,
		Version:         manifestVersion,
		TrustDomain:     td,
		RootFingerprint: Fingerprint(root),
		Encrypted:       len(opts.Passphrase) > 0,
		ServerNames:     opts.ServerNames,
		CreatedAt:       now.UTC().Truncate(time.Second),
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("ca: encode manifest: %w", err)
	}
	// The manifest is written last: a crash before this point leaves a
	// directory that Init refuses and Open reports as not initialised.
	return writeFile(filepath.Join(dir, manifestFile), append(b, '\n'), 0o644)
}

// readManifest loads and checks DIR/ca.json.
func readManifest(dir string) (manifest, error) {
	var m manifest
	path := filepath.Join(dir, manifestFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("%w: %s is missing", ErrNotInitialized, path)
	}
	if err != nil {
		return m, fmt.Errorf("ca: read manifest: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("ca: %s is damaged: %w", path, err)
	}
	switch {
	case m.Kind != manifestKind:
		return m, fmt.Errorf("ca: %s: kind %q is not a roster CA manifest", path, m.Kind)
	case m.Version != manifestVersion:
		return m, fmt.Errorf("ca: %s: unsupported version %d (this roster knows %d)", path, m.Version, manifestVersion)
	case m.RootFingerprint == "":
		return m, fmt.Errorf("ca: %s: field root_fingerprint is empty", path)
	}
	if err := spiffeid.ValidateTrustDomain(m.TrustDomain); err != nil {
		return m, fmt.Errorf("ca: %s: field trust_domain: %w", path, err)
	}
	return m, nil
}

// Fingerprint is the lowercase hex SHA-256 of a certificate's DER, as
// `step certificate fingerprint` prints it: [certutil.Fingerprint], which
// the agent uses too, so that both sides name a root the same way.
func Fingerprint(c *x509.Certificate) string { return certutil.Fingerprint(c) }

func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("ca: serial number: %w", err)
	}
	return n, nil
}

func certPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// writeKey stores a private key as PKCS#8 PEM, encrypted when pass is set.
func writeKey(path string, key crypto.PrivateKey, pass []byte) error {
	opts := []pemutil.Options{pemutil.WithPKCS8(true)}
	if len(pass) > 0 {
		opts = append(opts, pemutil.WithPassword(pass))
	}
	block, err := pemutil.Serialize(key, opts...)
	if err != nil {
		return fmt.Errorf("ca: encode key %s: %w", filepath.Base(path), err)
	}
	return writeFile(path, pem.EncodeToMemory(block), 0o600)
}

// readKey loads a private key written by writeKey. The error never includes
// the passphrase or key material.
func readKey(path string, pass []byte) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ca: read key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("ca: %s: no PEM block", path)
	}
	// PKCS #8 encryption shows in the block type ("ENCRYPTED PRIVATE KEY");
	// the legacy RFC 1423 form, which pemutil also decrypts, in a DEK-Info
	// header. Testing the header is what the deprecated
	// x509.IsEncryptedPEMBlock did; nothing here decrypts with it.
	_, legacy := block.Headers["DEK-Info"]
	encrypted := strings.Contains(block.Type, "ENCRYPTED") || legacy
	if encrypted && len(pass) == 0 {
		return nil, fmt.Errorf("ca: %s is encrypted: a key passphrase is required", path)
	}
	var opts []pemutil.Options
	if encrypted {
		opts = append(opts, pemutil.WithPassword(pass))
	}
	k, err := pemutil.ParseKey(b, opts...)
	if err != nil {
		if encrypted {
			return nil, fmt.Errorf("ca: %s: cannot decrypt key (wrong passphrase?)", path)
		}
		return nil, fmt.Errorf("ca: %s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("ca: %s: key of type %T cannot sign", path, k)
	}
	return s, nil
}

// writeFile replaces path with data, mode perm, atomically and durably:
// [fsutil.WriteFile], which fsyncs the directory after the rename too.
func writeFile(path string, data []byte, perm os.FileMode) error {
	if err := fsutil.WriteFile(path, data, perm); err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	return nil
}

package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smallstep/certificates/authority"
	"github.com/smallstep/certificates/authority/config"
	"github.com/smallstep/certificates/authority/provisioner"
	"github.com/smallstep/certificates/db"
	"go.step.sm/crypto/pemutil"
	"go.step.sm/crypto/x509util"
	"golang.org/x/crypto/ssh"
)

// Validity defaults; see [Options].
const (
	DefaultValidity = time.Hour
	DefaultMin      = 5 * time.Minute
	DefaultMax      = 24 * time.Hour
	DefaultBackdate = time.Minute
)

// Options configure [Open]. Zero fields take the defaults.
type Options struct {
	// Passphrase decrypts the keys when [Init] encrypted them.
	Passphrase []byte
	// DefaultValidity is used when [CA.Sign] is given no validity (1h).
	DefaultValidity time.Duration
	// MinValidity and MaxValidity bound every requested validity (5m, 24h).
	MinValidity, MaxValidity time.Duration
	// Backdate moves NotBefore into the past for clock skew (1m).
	Backdate time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// SSHKeyType is the algorithm of SSH CA keys created on the first
	// start of a data directory that has none ("": Ed25519).
	SSHKeyType SSHKeyType
	// StoreURL, if set (postgres://…), keeps the certificate records in
	// that PostgreSQL database, in roster's own tables (storedb.go says
	// why not smallstep's driver), instead of the bbolt file in dir.
	StoreURL string

	// storage selects the database; tests and benchmarks compare modes.
	storage storageMode
}

type storageMode int

const (
	storageGroup storageMode = iota // groupDB: durable, group commit
	storageNaive                    // smallstep's *db.DB: one transaction per certificate
	storageNone                     // the authority's in-memory default: nothing persisted
)

// Identity is what a certificate names. It comes from the inventory, never
// from the CSR.
type Identity struct {
	// URI is the SPIFFE ID, the certificate's only URI SAN.
	URI *url.URL
	// CommonName is the subject CN (the account, or the host for a host
	// identity).
	CommonName string
	// ServerAuth adds the serverAuth extended key usage to clientAuth.
	ServerAuth bool
}

// CA is an open certificate authority. It is safe for concurrent use.
type CA struct {
	dir       string
	m         manifest
	opts      Options
	auth      *authority.Authority
	store     interface{ Shutdown() error }
	issued    *groupDB // nil unless the durable database is in use
	root      *x509.Certificate
	inter     *x509.Certificate
	serverMu  sync.Mutex
	sshUser   ssh.Signer // SSH user CA, see ssh.go
	sshHost   ssh.Signer // SSH host CA
	sshMu     sync.Mutex // serialises SSH revocations; guards krl
	krl       []byte
	krlListed int // serials in krl
	crl       crlSchedule
	closeMu   sync.Once
	closeErr  error
}

// ErrValidity is returned by [CA.Sign] for a validity outside the
// configured bounds.
var ErrValidity = errors.New("validity out of bounds")

// Open loads the CA in dir (see [Init]) and starts the embedded authority.
func Open(dir string, opts Options) (*CA, error) {
	if opts.DefaultValidity == 0 {
		opts.DefaultValidity = DefaultValidity
	}
	if opts.MinValidity == 0 {
		opts.MinValidity = DefaultMin
	}
	if opts.MaxValidity == 0 {
		opts.MaxValidity = DefaultMax
	}
	if opts.Backdate == 0 {
		opts.Backdate = DefaultBackdate
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MinValidity <= 0 || opts.MinValidity > opts.MaxValidity ||
		opts.DefaultValidity < opts.MinValidity || opts.DefaultValidity > opts.MaxValidity {
		return nil, fmt.Errorf("ca: validity options: need 0 < min (%s) <= default (%s) <= max (%s)",
			opts.MinValidity, opts.DefaultValidity, opts.MaxValidity)
	}

	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	root, err := pemutil.ReadCertificate(filepath.Join(dir, rootCertFile))
	if err != nil {
		return nil, fmt.Errorf("ca: %s: %w", rootCertFile, err)
	}
	if got := Fingerprint(root); got != m.RootFingerprint {
		return nil, fmt.Errorf("ca: %s does not match the manifest (fingerprint %s, manifest says %s): foreign or replaced root",
			filepath.Join(dir, rootCertFile), got, m.RootFingerprint)
	}
	inter, err := pemutil.ReadCertificate(filepath.Join(dir, interCertFile))
	if err != nil {
		return nil, fmt.Errorf("ca: %s: %w", interCertFile, err)
	}
	if err := inter.CheckSignatureFrom(root); err != nil {
		return nil, fmt.Errorf("ca: %s is not signed by %s: %w", interCertFile, rootCertFile, err)
	}
	signer, err := readKey(filepath.Join(dir, interKeyFile), opts.Passphrase)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(signer.Public(), inter.PublicKey) {
		return nil, fmt.Errorf("ca: %s does not belong to %s", interKeyFile, interCertFile)
	}

	c := &CA{dir: dir, m: m, opts: opts, root: root, inter: inter}

	cfg := &config.Config{
		DNSNames: m.ServerNames,
		AuthorityConfig: &config.AuthConfig{
			Backdate: &provisioner.Duration{Duration: opts.Backdate},
		},
		// Enabled once the authority has started: roster reissues the
		// CRL itself (crl.go).
		CRL: &config.CRLConfig{
			CacheDuration: &provisioner.Duration{Duration: crlLifetime},
		},
	}
	authOpts := []authority.Option{
		authority.WithConfig(cfg),
		authority.WithX509Signer(inter, signer),
		authority.WithX509RootCerts(root),
		authority.WithQuietInit(),
	}
	switch opts.storage {
	case storageGroup:
		open := func() (*groupDB, error) { return openGroupDB(filepath.Join(dir, databaseFile)) }
		if opts.StoreURL != "" {
			open = func() (*groupDB, error) { return openStoreGroupDB(opts.StoreURL) }
		}
		g, err := open()
		if err != nil {
			return nil, err
		}
		c.store, c.issued = g, g
		c.crl.cluster = g.cluster
		authOpts = append(authOpts, authority.WithDatabase(g))
	case storageNaive:
		adb, err := db.New(&db.Config{Type: "bbolt", DataSource: filepath.Join(dir, databaseFile)})
		if err != nil {
			return nil, fmt.Errorf("ca: open database: %w", err)
		}
		c.store = adb
		authOpts = append(authOpts, authority.WithDatabase(adb))
	case storageNone:
		cfg.CRL = nil // the in-memory default database cannot hold a CRL
	}
	// After the database: its file lock keeps a second server from
	// creating the SSH keys at the same time.
	var sshPass []byte
	if m.Encrypted {
		sshPass = opts.Passphrase
	}
	sshUser, sshHost, err := ensureSSHKeys(dir, opts.SSHKeyType, sshPass)
	if err == nil {
		c.sshUser, err = ssh.NewSignerFromSigner(sshUser)
	}
	if err == nil {
		c.sshHost, err = ssh.NewSignerFromSigner(sshHost)
	}
	if err != nil {
		if c.store != nil {
			_ = c.store.Shutdown()
		}
		return nil, fmt.Errorf("ca: ssh keys: %w", err)
	}
	authOpts = append(authOpts, authority.WithSSHUserSigner(sshUser), authority.WithSSHHostSigner(sshHost))
	c.auth, err = authority.NewEmbedded(authOpts...)
	if err != nil {
		if c.store != nil {
			_ = c.store.Shutdown()
		}
		return nil, fmt.Errorf("ca: start authority: %w", err)
	}
	c.sshMu.Lock()
	err = c.rebuildKRL()
	c.sshMu.Unlock()
	if err == nil && cfg.CRL != nil {
		cfg.CRL.Enabled = true // the authority reads the config it was given
		err = c.startCRL()
	}
	if err != nil {
		_ = c.auth.Shutdown()
		return nil, err
	}
	return c, nil
}

// Close stops the authority and closes its database.
func (c *CA) Close() error {
	c.closeMu.Do(func() {
		c.stopCRL()
		c.closeErr = c.auth.Shutdown()
	})
	return c.closeErr
}

// Root returns the root certificate.
func (c *CA) Root() *x509.Certificate { return c.root }

// Intermediate returns the intermediate (issuing) certificate.
func (c *CA) Intermediate() *x509.Certificate { return c.inter }

// RootFingerprint is the lowercase hex SHA-256 of the root's DER.
func (c *CA) RootFingerprint() string { return c.m.RootFingerprint }

// TrustDomain is the SPIFFE trust domain set at [Init].
func (c *CA) TrustDomain() string { return c.m.TrustDomain }

// Dir is the data directory.
func (c *CA) Dir() string { return c.dir }

// RootPath is DIR/root.crt, for clients that pin the root.
func (c *CA) RootPath() string { return filepath.Join(c.dir, rootCertFile) }

// Validity bounds as configured: default, minimum, maximum.
func (c *CA) Validity() (def, lo, hi time.Duration) {
	return c.opts.DefaultValidity, c.opts.MinValidity, c.opts.MaxValidity
}

func (c *CA) now() time.Time { return c.opts.Now() }

// leafTemplate is the x509util template for every identity certificate.
// Its data (.Subject, .SANs, .ServerAuth) comes from the [Identity] only;
// nothing from the CSR but its public key reaches the certificate.
const leafTemplate = `{
	"subject": {"commonName": {{ toJson .Subject.CommonName }}},
	"sans": {{ toJson .SANs }},
{{- if typeIs "*rsa.PublicKey" .Insecure.CR.PublicKey }}
	"keyUsage": ["digitalSignature", "keyEncipherment"],
{{- else }}
	"keyUsage": ["digitalSignature"],
{{- end }}
{{- if .ServerAuth }}
	"extKeyUsage": ["clientAuth", "serverAuth"],
{{- else }}
	"extKeyUsage": ["clientAuth"],
{{- end }}
	"basicConstraints": {"isCA": false}
}`

// templateOption hands the authority a template and its data. The data is
// built for one request: x509util.WithTemplate writes the CSR into it, so
// sharing it between requests races.
type templateOption struct {
	text string
	data x509util.TemplateData
}

func (o templateOption) Options(provisioner.SignOptions) []x509util.Option {
	return []x509util.Option{x509util.WithTemplate(o.text, o.data)}
}

// validityModifier sets explicit NotBefore and NotAfter. Without them the
// authority computes a negative lifetime from the zero times and issues a
// certificate with NotBefore == NotAfter (see TestSignWithoutValidityPitfall).
type validityModifier struct {
	notBefore, notAfter time.Time
}

func (v validityModifier) Modify(cert *x509.Certificate, _ provisioner.SignOptions) error {
	cert.NotBefore = v.notBefore
	cert.NotAfter = v.notAfter
	return nil
}

// Sign issues a certificate for id with the CSR's public key and the given
// validity (0 means the default; outside [min, max] is [ErrValidity]). It
// returns the leaf and the intermediate. The CSR's signature and key type
// are checked; its names are ignored.
func (c *CA) Sign(ctx context.Context, csr *x509.CertificateRequest, id Identity, validity time.Duration) ([]*x509.Certificate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if validity == 0 {
		validity = c.opts.DefaultValidity
	}
	if validity < c.opts.MinValidity || validity > c.opts.MaxValidity {
		return nil, fmt.Errorf("ca: sign: %w: %s not within [%s, %s]", ErrValidity, validity, c.opts.MinValidity, c.opts.MaxValidity)
	}
	if err := c.checkIdentity(id); err != nil {
		return nil, err
	}
	// The authority verifies the CSR's signature (and so does x509util):
	// not repeated here, each verification costs more than the signing.
	if err := CheckPublicKey(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("ca: sign: %w", err)
	}

	data := x509util.CreateTemplateData(id.CommonName, []string{id.URI.String()})
	data.Set("ServerAuth", id.ServerAuth)
	now := c.now()
	chain, err := c.auth.SignWithContext(ctx, csr, provisioner.SignOptions{},
		templateOption{text: leafTemplate, data: data},
		validityModifier{notBefore: now.Add(-c.opts.Backdate), notAfter: now.Add(validity)},
	)
	if err != nil {
		return nil, fmt.Errorf("ca: sign %s: %w", id.URI, err)
	}
	if err := checkIssued(chain[0], id); err != nil {
		return nil, err
	}
	return chain, nil
}

// checkIdentity refuses an identity outside this CA's trust domain.
func (c *CA) checkIdentity(id Identity) error {
	switch {
	case id.URI == nil:
		return errors.New("ca: identity has no URI")
	case id.URI.Scheme != "spiffe" || id.URI.Host != c.m.TrustDomain:
		return fmt.Errorf("ca: identity %s is not in trust domain %s", id.URI, c.m.TrustDomain)
	case id.CommonName == "":
		return fmt.Errorf("ca: identity %s has no common name", id.URI)
	}
	return nil
}

// checkIssued is a last guard that the template did its job.
func checkIssued(leaf *x509.Certificate, id Identity) error {
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != id.URI.String() ||
		len(leaf.DNSNames)+len(leaf.EmailAddresses)+len(leaf.IPAddresses) != 0 ||
		leaf.Subject.CommonName != id.CommonName || leaf.IsCA || !leaf.NotBefore.Before(leaf.NotAfter) {
		return fmt.Errorf("ca: issued certificate %s does not match identity %s", leaf.SerialNumber, id.URI)
	}
	return nil
}

// ErrKeyType wraps every [CheckPublicKey] refusal, e.g. "key type not
// accepted: ECDSA P-384 (ECDSA keys must use P-256; ...)".
var ErrKeyType = errors.New("key type not accepted")

// CheckPublicKey accepts the keys roster documents: ECDSA P-256 (the
// default), Ed25519 and RSA of at least 3072 bits. Other curves (P-384,
// P-521) are refused: nothing roster runs makes them, and one accepted set
// is what the README, the agent and these messages can all state. Errors
// wrap [ErrKeyType] and say what to use instead.
func CheckPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("%w: ECDSA %s (ECDSA keys must use P-256; Ed25519 and RSA >= 3072 are accepted too)", ErrKeyType, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	case *rsa.PublicKey:
		if k.N.BitLen() < 3072 {
			return fmt.Errorf("%w: RSA %d (RSA needs at least 3072 bits; ECDSA P-256 is the default)", ErrKeyType, k.N.BitLen())
		}
	default:
		return fmt.Errorf("%w: %T (use ECDSA P-256, Ed25519 or RSA >= 3072)", ErrKeyType, pub)
	}
	return nil
}

// Renew issues a new certificate with the same names and key as cert,
// starting now. Its lifetime is cert's, brought within the validity bounds
// in force ([Options] as given to this [Open], not those cert was issued
// under). Like the authority's RenewContext it checks only revocation: call
// [CA.Verify] first. [CA.Reissue] takes an explicit validity.
func (c *CA) Renew(ctx context.Context, cert *x509.Certificate) ([]*x509.Certificate, error) {
	return c.Reissue(ctx, cert, nil, c.clamp(cert.NotAfter.Sub(cert.NotBefore)-c.opts.Backdate))
}

// Rekey is [CA.Renew] with a new public key (checked with
// [CheckPublicKey]). Call [CA.Verify] first.
func (c *CA) Rekey(ctx context.Context, cert *x509.Certificate, pub crypto.PublicKey) ([]*x509.Certificate, error) {
	if pub == nil {
		return nil, fmt.Errorf("ca: rekey %s: no public key", cert.SerialNumber)
	}
	return c.Reissue(ctx, cert, pub, c.clamp(cert.NotAfter.Sub(cert.NotBefore)-c.opts.Backdate))
}

// clamp brings a lifetime within the configured bounds.
func (c *CA) clamp(d time.Duration) time.Duration {
	return min(max(d, c.opts.MinValidity), c.opts.MaxValidity)
}

// Reissue issues the successor of cert through the authority's renewal:
// the same names and extensions, the public key pub (nil keeps cert's),
// valid from now (minus the backdate) for validity (0 means the default;
// outside [min, max] is [ErrValidity], as for [CA.Sign]). The key is
// checked with [CheckPublicKey] whether it is new or cert's own, so a
// renewal cannot carry a key the CA no longer accepts. Like the authority's
// RenewContext it checks only revocation: call [CA.Verify] first.
func (c *CA) Reissue(ctx context.Context, cert *x509.Certificate, pub crypto.PublicKey, validity time.Duration) ([]*x509.Certificate, error) {
	op := "renew"
	if pub != nil {
		op = "rekey"
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if validity == 0 {
		validity = c.opts.DefaultValidity
	}
	if validity < c.opts.MinValidity || validity > c.opts.MaxValidity {
		return nil, fmt.Errorf("ca: %s %s: %w: %s not within [%s, %s]", op, cert.SerialNumber, ErrValidity, validity, c.opts.MinValidity, c.opts.MaxValidity)
	}
	key := pub
	if key == nil {
		key = cert.PublicKey
	}
	if err := CheckPublicKey(key); err != nil {
		return nil, fmt.Errorf("ca: %s %s: %w", op, cert.SerialNumber, err)
	}
	// RenewContext gives the new certificate the old one's lifetime
	// (NotAfter - NotBefore, less the backdate) and reads nothing else of
	// those two fields: hand it a copy whose NotBefore makes that lifetime
	// the validity in force.
	tpl := *cert
	tpl.NotBefore = cert.NotAfter.Add(-(validity + c.opts.Backdate))
	chain, err := c.auth.RenewContext(ctx, &tpl, pub)
	if err != nil {
		return nil, fmt.Errorf("ca: %s %s: %w", op, cert.SerialNumber, err)
	}
	return chain, nil
}

// Verification failures of [CA.Verify]; test with errors.Is.
var (
	ErrUntrusted = errors.New("certificate is not issued by this CA")
	ErrExpired   = errors.New("certificate has expired")
	ErrRevoked   = errors.New("certificate has been revoked")
)

// Verify checks what the authority's renewal does not: that cert chains to
// this CA's root through its intermediate, is within its validity (no
// grace), is a leaf for client authentication, and is not revoked.
//
// The intermediate's own chain to the root was verified by [Open], so only
// the leaf is checked here: x509.Certificate.Verify would check the
// unchanging intermediate-to-root signature again on every renewal. And a
// leaf whose exact DER is in this CA's table of issued certificates needs
// no signature check at all (a database read costs a fraction of an ECDSA
// verification); any other leaf must carry the intermediate's signature.
func (c *CA) Verify(_ context.Context, cert *x509.Certificate) error {
	now := c.now()
	switch {
	case !bytes.Equal(cert.RawIssuer, c.inter.RawSubject):
		return fmt.Errorf("ca: certificate %s: %w: issuer is %q", cert.SerialNumber, ErrUntrusted, cert.Issuer.String())
	case !c.issuedHere(cert) && cert.CheckSignatureFrom(c.inter) != nil:
		return fmt.Errorf("ca: certificate %s: %w: signature does not verify with the intermediate", cert.SerialNumber, ErrUntrusted)
	case cert.IsCA:
		return fmt.Errorf("ca: certificate %s is a CA certificate: %w", cert.SerialNumber, ErrUntrusted)
	case len(cert.UnhandledCriticalExtensions) > 0:
		return fmt.Errorf("ca: certificate %s: %w: unhandled critical extension", cert.SerialNumber, ErrUntrusted)
	case !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth):
		return fmt.Errorf("ca: certificate %s: %w: not for client authentication", cert.SerialNumber, ErrUntrusted)
	case now.Before(cert.NotBefore) || now.Before(c.inter.NotBefore) || now.After(c.inter.NotAfter):
		return fmt.Errorf("ca: certificate %s is not valid before %s: %w", cert.SerialNumber, cert.NotBefore.UTC().Format(time.RFC3339), ErrUntrusted)
	case now.After(cert.NotAfter):
		return fmt.Errorf("ca: certificate %s expired at %s: %w", cert.SerialNumber, cert.NotAfter.UTC().Format(time.RFC3339), ErrExpired)
	}
	revoked, err := c.IsRevoked(cert.SerialNumber.String())
	if err != nil {
		return err
	}
	if revoked {
		return fmt.Errorf("ca: certificate %s: %w", cert.SerialNumber, ErrRevoked)
	}
	return nil
}

// issuedHere reports whether cert is byte for byte a certificate this CA
// recorded as issued.
func (c *CA) issuedHere(cert *x509.Certificate) bool {
	if c.issued == nil {
		return false
	}
	raw, err := c.issued.DB.Get(certsTable, []byte(cert.SerialNumber.String()))
	return err == nil && bytes.Equal(raw, cert.Raw)
}

// IsRevoked reports whether the certificate with this decimal serial number
// has been revoked.
func (c *CA) IsRevoked(serial string) (bool, error) {
	r, err := c.auth.IsRevoked(serial)
	if err != nil {
		return false, fmt.Errorf("ca: revocation check %s: %w", serial, err)
	}
	return r, nil
}

// Certificate returns an issued certificate by decimal serial number.
func (c *CA) Certificate(serial string) (*x509.Certificate, error) {
	crt, err := c.auth.GetDatabase().GetCertificate(serial)
	if err != nil {
		return nil, fmt.Errorf("ca: certificate %s: %w", serial, ErrUnknownSerial)
	}
	return crt, nil
}

// ErrUnknownSerial: no certificate with that serial was issued here.
var ErrUnknownSerial = errors.New("no certificate with this serial was issued by this CA")

// ErrAlreadyRevoked is returned when revoking a revoked certificate.
var ErrAlreadyRevoked = errors.New("certificate is already revoked")

// reasonCodes maps RFC 5280 reason names to codes.
var reasonCodes = map[string]int{
	"unspecified":          0,
	"keycompromise":        1,
	"affiliationchanged":   3,
	"superseded":           4,
	"cessationofoperation": 5,
	"certificatehold":      6,
	"privilegewithdrawn":   9,
}

// Revoke revokes the certificate with this decimal serial number (it must
// have been issued by this CA) and reissues the CRL. reason is free text;
// an RFC 5280 reason name (keyCompromise, superseded, ...) also sets the
// CRL reason code.
func (c *CA) Revoke(ctx context.Context, serial, reason string) error {
	crt, err := c.Certificate(serial)
	if err != nil {
		return err
	}
	revoked, err := c.IsRevoked(serial)
	if err != nil {
		return err
	}
	if revoked {
		return fmt.Errorf("ca: revoke %s: %w", serial, ErrAlreadyRevoked)
	}
	code := reasonCodes[strings.ToLower(strings.ReplaceAll(reason, " ", ""))]
	ctx = provisioner.NewContextWithMethod(ctx, provisioner.RevokeMethod)
	if err := c.auth.Revoke(ctx, &authority.RevokeOptions{
		Serial:     serial,
		Reason:     reason,
		ReasonCode: code,
		MTLS:       true, // no one-time token: the caller is the operator API
		Crt:        crt,
	}); err != nil {
		if r, _ := c.IsRevoked(serial); r {
			return fmt.Errorf("ca: revoke %s: %w", serial, ErrAlreadyRevoked)
		}
		return fmt.Errorf("ca: revoke %s: %w", serial, err)
	}
	if err := c.reissueCRL(ctx, true); err != nil {
		return fmt.Errorf("ca: %s is revoked, but the CRL is not reissued yet (the next check, within %v, tries again): %w", serial, crlCheck, err)
	}
	return nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

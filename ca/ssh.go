package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smallstep/certificates/authority/provisioner"
	"github.com/smallstep/nosql/database"
	"go.step.sm/crypto/keyutil"
	"go.step.sm/crypto/sshutil"
	"golang.org/x/crypto/ssh"

	"github.com/rosterhq/roster/sshkrl"
	"github.com/rosterhq/roster/store"
)

// SSH CA key files and tables.
const (
	sshUserKeyFile = "secrets/ssh_user_ca.key"
	sshHostKeyFile = "secrets/ssh_host_ca.key"
)

// sshRecordsTable is roster's own index of issued SSH certificates (JSON
// [SSHCertRecord] by decimal serial), written with smallstep's ssh_certs
// record in the same transaction.
//
// sshRevokedTable holds the revoked ones again, so that rebuilding the KRL
// reads only revoked certificates, not every certificate ever issued.
var (
	sshRecordsTable = []byte("roster_ssh_certs")
	sshRevokedTable = []byte("roster_ssh_revoked")
	sshCertsTable   = []byte("ssh_certs") // smallstep's (see db.go's certsTable)
)

// SSH validity bounds: a user certificate lives at most MaxSSHUserValidity,
// a host certificate at most MaxSSHHostValidity; both at least
// MinSSHValidity.
const (
	MaxSSHUserValidity = 24 * time.Hour
	MaxSSHHostValidity = 7 * 24 * time.Hour
	MinSSHValidity     = time.Minute
)

// SSHKeyType selects the algorithm of new SSH CA keys.
type SSHKeyType string

// Accepted SSH CA key types; "" is Ed25519.
const (
	SSHKeyEd25519   SSHKeyType = "ed25519"
	SSHKeyECDSAP256 SSHKeyType = "ecdsa-p256"
)

func (t SSHKeyType) check() error {
	switch t {
	case "", SSHKeyEd25519, SSHKeyECDSAP256:
		return nil
	}
	return fmt.Errorf("ca: ssh key type %q: use %s or %s", t, SSHKeyEd25519, SSHKeyECDSAP256)
}

func generateSSHKey(t SSHKeyType) (crypto.Signer, error) {
	switch t {
	case "", SSHKeyEd25519:
		return keyutil.GenerateSigner("OKP", "Ed25519", 0)
	case SSHKeyECDSAP256:
		return keyutil.GenerateSigner("EC", "P-256", 0)
	default:
		return nil, t.check()
	}
}

// ensureSSHKeys creates whichever SSH CA key is missing in dir (at Init, and
// once on the first start of a data directory made before roster had SSH
// certificates), then loads both.
func ensureSSHKeys(dir string, t SSHKeyType, pass []byte) (user, host crypto.Signer, err error) {
	load := func(name string) (crypto.Signer, error) {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			k, err := generateSSHKey(t)
			if err != nil {
				return nil, fmt.Errorf("ca: generate %s: %w", name, err)
			}
			if err := writeKey(path, k, pass); err != nil {
				return nil, err
			}
		} else if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		return readKey(path, pass)
	}
	if user, err = load(sshUserKeyFile); err != nil {
		return nil, nil, err
	}
	if host, err = load(sshHostKeyFile); err != nil {
		return nil, nil, err
	}
	return user, host, nil
}

// SSHRequest is what an SSH certificate says besides its public key. The
// caller (the issuer, from the inventory) decides every field; nothing comes
// from the key holder.
type SSHRequest struct {
	// KeyID names the identity: its SPIFFE ID, so that sshd's log names it
	// and [CA.RevokeSSHKeyID] finds every certificate of the identity.
	KeyID string
	// Principals: the account name(s) for a user certificate, the host
	// names for a host certificate. At least one; none empty.
	Principals []string
	// Validity is the lifetime from now (0: [DefaultSSHValidity]); the
	// certificate starts Backdate earlier ([Options]).
	Validity time.Duration
	// Extensions for a user certificate, e.g. "permit-pty": "". None unless
	// set: no pty, no port, agent or X11 forwarding, no user rc. Host
	// certificates take none.
	Extensions map[string]string
	// CriticalOptions for a user certificate, e.g. "source-address":
	// "192.0.2.1/32,2001:db8::1/128" or "force-command".
	CriticalOptions map[string]string
}

// DefaultSSHValidity is the lifetime of an SSH certificate whose request
// gives none.
const DefaultSSHValidity = time.Hour

// SSHCertRecord is what the CA keeps of every SSH certificate it issued.
type SSHCertRecord struct {
	Serial      uint64     `json:"serial"`
	Type        string     `json:"type"` // "user" or "host"
	KeyID       string     `json:"key_id"`
	Principals  []string   `json:"principals"`
	ValidAfter  time.Time  `json:"valid_after"`
	ValidBefore time.Time  `json:"valid_before"`
	CAKey       string     `json:"ca_key"` // SHA256 fingerprint of the signing CA key
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	Reason      string     `json:"reason,omitempty"`
}

// ErrSSHRequest wraps every refusal of an SSH request (no principal,
// validity out of bounds, an extension on a host certificate).
var ErrSSHRequest = errors.New("ssh certificate request refused")

// sshTemplate is the sshutil template of every SSH certificate: the data
// (.Type, .KeyID, .Principals, .Extensions, .CriticalOptions) comes from the
// SSHRequest only.
const sshTemplate = `{
	"type": {{ toJson .Type }},
	"keyId": {{ toJson .KeyID }},
	"principals": {{ toJson .Principals }},
	"extensions": {{ toJson .Extensions }},
	"criticalOptions": {{ toJson .CriticalOptions }}
}`

// sshTemplateOption hands the authority the template and its data (one per
// request: sshutil.WithTemplate writes the request into the data).
type sshTemplateOption struct{ data sshutil.TemplateData }

func (o sshTemplateOption) Options(provisioner.SignSSHOptions) []sshutil.Option {
	return []sshutil.Option{sshutil.WithTemplate(sshTemplate, o.data)}
}

// sshBounds sets the serial and the validity, and checks the result after
// signing: without it the authority enforces no validity bounds (there is
// no provisioner).
type sshBounds struct {
	serial             uint64
	validAfter, before time.Time
	max                time.Duration
	backdate           time.Duration
}

func (b sshBounds) Modify(cert *ssh.Certificate, _ provisioner.SignSSHOptions) error {
	cert.Serial = b.serial
	cert.ValidAfter = uint64(b.validAfter.Unix())
	cert.ValidBefore = uint64(b.before.Unix())
	return nil
}

func (b sshBounds) Valid(cert *ssh.Certificate, _ provisioner.SignSSHOptions) error {
	life := time.Duration(cert.ValidBefore-cert.ValidAfter) * time.Second
	switch {
	case cert.ValidBefore <= cert.ValidAfter || cert.ValidAfter == 0:
		return errors.New("ca: ssh certificate has no validity")
	case life > b.max+b.backdate:
		return fmt.Errorf("ca: ssh certificate valid for %s, more than %s", life, b.max)
	case len(cert.ValidPrincipals) == 0:
		return errors.New("ca: ssh certificate has no principal")
	case cert.Serial != b.serial:
		return errors.New("ca: ssh certificate serial was changed")
	}
	return nil
}

// SignSSHUser issues an SSH user certificate for pub (see [SSHRequest]).
// The validity is at most [MaxSSHUserValidity]; extensions and critical
// options are exactly the request's. The certificate is recorded (see
// [CA.SSHCertificates]) before it is returned.
func (c *CA) SignSSHUser(ctx context.Context, pub ssh.PublicKey, req SSHRequest) (*ssh.Certificate, error) {
	return c.signSSH(ctx, pub, sshutil.UserCert, req, MaxSSHUserValidity)
}

// SignSSHHost issues an SSH host certificate for the host key pub:
// principals are the host's names, validity at most [MaxSSHHostValidity],
// no extensions or critical options.
func (c *CA) SignSSHHost(ctx context.Context, pub ssh.PublicKey, req SSHRequest) (*ssh.Certificate, error) {
	if len(req.Extensions)+len(req.CriticalOptions) > 0 {
		return nil, fmt.Errorf("ca: sign ssh host certificate: %w: host certificates take no extensions or critical options", ErrSSHRequest)
	}
	return c.signSSH(ctx, pub, sshutil.HostCert, req, MaxSSHHostValidity)
}

func (c *CA) signSSH(ctx context.Context, pub ssh.PublicKey, ct sshutil.CertType, req SSHRequest, maxValidity time.Duration) (*ssh.Certificate, error) {
	op := "ca: sign ssh " + ct.String() + " certificate"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.issued == nil {
		return nil, fmt.Errorf("%s: needs the CA's durable database", op)
	}
	switch {
	case pub == nil:
		return nil, fmt.Errorf("%s: %w: no public key", op, ErrSSHRequest)
	case len(req.Principals) == 0:
		return nil, fmt.Errorf("%s: %w: at least one principal is needed", op, ErrSSHRequest)
	case req.KeyID == "":
		return nil, fmt.Errorf("%s: %w: no key id", op, ErrSSHRequest)
	}
	if _, ok := pub.(*ssh.Certificate); ok {
		return nil, fmt.Errorf("%s: %w: the key is a certificate", op, ErrSSHRequest)
	}
	if slices.Contains(req.Principals, "") {
		return nil, fmt.Errorf("%s: %w: empty principal", op, ErrSSHRequest)
	}
	validity := req.Validity
	if validity == 0 {
		validity = DefaultSSHValidity
	}
	if validity < MinSSHValidity || validity > maxValidity {
		return nil, fmt.Errorf("%s: %w: %w: %s not within [%s, %s]", op, ErrSSHRequest, ErrValidity, validity, MinSSHValidity, maxValidity)
	}
	serial, err := c.newSSHSerial()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}

	data := sshutil.CreateTemplateData(ct, req.KeyID, slices.Clone(req.Principals))
	data.SetExtensions(stringMap(req.Extensions))
	data.SetCriticalOptions(stringMap(req.CriticalOptions))
	now := c.now()
	bounds := sshBounds{serial: serial, validAfter: now.Add(-c.opts.Backdate), before: now.Add(validity),
		max: maxValidity, backdate: c.opts.Backdate}
	cert, err := c.auth.SignSSH(ctx, pub, provisioner.SignSSHOptions{CertType: ct.String(), KeyID: req.KeyID, Principals: req.Principals},
		sshTemplateOption{data: data}, bounds, bounds)
	if err != nil {
		return nil, fmt.Errorf("%s for %s: %w", op, req.KeyID, err)
	}
	return cert, nil
}

// stringMap gives the template an empty object rather than null.
func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// newSSHSerial is a random non-zero 64-bit serial not yet used here.
func (c *CA) newSSHSerial() (uint64, error) {
	for range 8 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("serial: %w", err)
		}
		n := binary.BigEndian.Uint64(b[:])
		if n == 0 {
			continue
		}
		if _, err := c.issued.DB.Get(sshRecordsTable, []byte(strconv.FormatUint(n, 10))); err != nil {
			return n, nil
		}
	}
	return 0, errors.New("serial: no unused serial found")
}

// StoreSSHCertificate is what the authority calls after signing an SSH
// certificate: smallstep's ssh_certs record and roster's [SSHCertRecord],
// in one group commit.
func (g *groupDB) StoreSSHCertificate(crt *ssh.Certificate) error {
	rec := recordOf(crt)
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("ca: store ssh certificate %d: %w", crt.Serial, err)
	}
	key := []byte(strconv.FormatUint(crt.Serial, 10))
	raw := crt.Marshal()
	err = g.group.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.Put(string(sshCertsTable), key, raw); err != nil {
			return err
		}
		return tx.Put(string(sshRecordsTable), key, b)
	})
	if err != nil {
		return fmt.Errorf("ca: store ssh certificate %d: %w", crt.Serial, err)
	}
	return nil
}

func recordOf(crt *ssh.Certificate) SSHCertRecord {
	typ := "user"
	if crt.CertType == ssh.HostCert {
		typ = "host"
	}
	return SSHCertRecord{
		Serial:      crt.Serial,
		Type:        typ,
		KeyID:       crt.KeyId,
		Principals:  slices.Clone(crt.ValidPrincipals),
		ValidAfter:  time.Unix(int64(crt.ValidAfter), 0).UTC(),
		ValidBefore: time.Unix(int64(crt.ValidBefore), 0).UTC(),
		CAKey:       ssh.FingerprintSHA256(crt.SignatureKey),
	}
}

// SSHCertificates lists every SSH certificate issued here, expired and
// revoked ones included, in no particular order.
func (c *CA) SSHCertificates() ([]SSHCertRecord, error) {
	if c.issued == nil {
		return nil, nil
	}
	return listRecords(c.issued, sshRecordsTable)
}

func listRecords(g *groupDB, table []byte) ([]SSHCertRecord, error) {
	entries, err := g.DB.List(table)
	if err != nil {
		return nil, fmt.Errorf("ca: list %s: %w", table, err)
	}
	out := make([]SSHCertRecord, 0, len(entries))
	for _, e := range entries {
		var r SSHCertRecord
		if err := json.Unmarshal(e.Value, &r); err != nil {
			return nil, fmt.Errorf("ca: ssh certificate record %s is damaged: %w", e.Key, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// SSHCertificate returns the record of one SSH certificate, or
// [ErrUnknownSerial].
func (c *CA) SSHCertificate(serial uint64) (SSHCertRecord, error) {
	var r SSHCertRecord
	if c.issued == nil {
		return r, fmt.Errorf("ca: ssh certificate %d: %w", serial, ErrUnknownSerial)
	}
	b, err := c.issued.DB.Get(sshRecordsTable, []byte(strconv.FormatUint(serial, 10)))
	if err != nil {
		return r, fmt.Errorf("ca: ssh certificate %d: %w", serial, ErrUnknownSerial)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("ca: ssh certificate record %d is damaged: %w", serial, err)
	}
	return r, nil
}

// RevokeSSH revokes one SSH certificate by serial and rebuilds the KRL.
// Revoking a revoked certificate is [ErrAlreadyRevoked]; an unknown serial
// [ErrUnknownSerial].
func (c *CA) RevokeSSH(ctx context.Context, serial uint64, reason string) error {
	c.sshMu.Lock()
	defer c.sshMu.Unlock()
	r, err := c.SSHCertificate(serial)
	if err != nil {
		return err
	}
	if r.RevokedAt != nil {
		return fmt.Errorf("ca: revoke ssh certificate %d: %w", serial, ErrAlreadyRevoked)
	}
	if err := c.markSSHRevoked(&r, reason); err != nil {
		return err
	}
	return c.rebuildKRL()
}

// RevokeSSHKeyID revokes every unrevoked SSH certificate issued with this key
// id (an identity's SPIFFE ID) and rebuilds the KRL. It returns the serials
// revoked (none is not an error). Revocation is by serial, not by key id in
// the KRL, so the identity enrolled again gets working certificates.
func (c *CA) RevokeSSHKeyID(ctx context.Context, keyID, reason string) ([]uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.sshMu.Lock()
	defer c.sshMu.Unlock()
	recs, err := c.SSHCertificates()
	if err != nil {
		return nil, err
	}
	var done []uint64
	for i := range recs {
		if recs[i].KeyID != keyID || recs[i].RevokedAt != nil {
			continue
		}
		if err := c.markSSHRevoked(&recs[i], reason); err != nil {
			return done, err
		}
		done = append(done, recs[i].Serial)
	}
	slices.Sort(done)
	if len(done) == 0 {
		return nil, nil
	}
	return done, c.rebuildKRL()
}

func (c *CA) markSSHRevoked(r *SSHCertRecord, reason string) error {
	now := c.now().UTC()
	r.RevokedAt, r.Reason = &now, reason
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("ca: revoke ssh certificate %d: %w", r.Serial, err)
	}
	// Both writes in one transaction: a crash leaves neither.
	key := []byte(strconv.FormatUint(r.Serial, 10))
	tx := new(database.Tx)
	tx.Set(sshRecordsTable, key, b)
	tx.Set(sshRevokedTable, key, b)
	if err := c.issued.DB.Update(tx); err != nil {
		return fmt.Errorf("ca: revoke ssh certificate %d: %w", r.Serial, err)
	}
	return nil
}

// SSHKRL returns the current OpenSSH key revocation list (package sshkrl):
// the serials of revoked, unexpired certificates under the user and the
// host CA key. It is rebuilt at [Open] and on every revocation.
func (c *CA) SSHKRL() []byte {
	c.sshMu.Lock()
	defer c.sshMu.Unlock()
	return bytes.Clone(c.krl)
}

// revokedSSH lists the revoked SSH certificates.
func (c *CA) revokedSSH() ([]SSHCertRecord, error) {
	if c.issued == nil {
		return nil, nil
	}
	return listRecords(c.issued, sshRevokedTable)
}

// SweepSSHKRL rebuilds the KRL so that revoked certificates which have
// expired since leave it (sshd refuses them anyway). It returns how many
// left. The server runs it in its sweep.
func (c *CA) SweepSSHKRL(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c.sshMu.Lock()
	defer c.sshMu.Unlock()
	before := c.krlListed
	if err := c.rebuildKRL(); err != nil {
		return 0, err
	}
	return max(before-c.krlListed, 0), nil
}

// rebuildKRL is called with sshMu held.
func (c *CA) rebuildKRL() error {
	recs, err := c.revokedSSH()
	if err != nil {
		return err
	}
	now := c.now()
	var user, host []uint64
	var version uint64
	for _, r := range recs {
		if r.RevokedAt == nil {
			continue
		}
		version++ // records are never deleted: the count only grows
		if !r.ValidBefore.After(now) {
			continue // expired: sshd refuses it anyway
		}
		if r.Type == "host" {
			host = append(host, r.Serial)
		} else {
			user = append(user, r.Serial)
		}
	}
	k := sshkrl.KRL{
		Version:   version,
		Generated: now,
		Comment:   "roster " + c.m.TrustDomain,
		Certs: []sshkrl.CertSection{
			{CA: c.sshUser.PublicKey(), Serials: user},
			{CA: c.sshHost.PublicKey(), Serials: host},
		},
	}
	b, err := k.Marshal()
	if err != nil {
		return fmt.Errorf("ca: ssh krl: %w", err)
	}
	c.krl, c.krlListed = b, len(user)+len(host)
	return nil
}

// UserCAPublicKey is the SSH user CA key in authorized_keys form (one line,
// no newline), for sshd's TrustedUserCAKeys.
func (c *CA) UserCAPublicKey() string { return authorizedLine(c.sshUser.PublicKey()) }

// HostCAPublicKey is the SSH host CA key in authorized_keys form; a
// known_hosts file trusts it as "@cert-authority * " + this line.
func (c *CA) HostCAPublicKey() string { return authorizedLine(c.sshHost.PublicKey()) }

// SSHUserCA and SSHHostCA are the SSH CA public keys.
func (c *CA) SSHUserCA() ssh.PublicKey { return c.sshUser.PublicKey() }

// SSHHostCA: see [CA.SSHUserCA].
func (c *CA) SSHHostCA() ssh.PublicKey { return c.sshHost.PublicKey() }

func authorizedLine(k ssh.PublicKey) string {
	return strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(k)), "\n")
}

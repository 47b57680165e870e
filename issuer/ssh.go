package issuer

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/inventory"
)

// SSH certificate types of [Issuer.SignSSH] (the same strings as
// api.SSHCertUser and api.SSHCertHost).
const (
	SSHUser = "user"
	SSHHost = "host"
)

// MinSSHRSABits is the smallest RSA host key signed.
const MinSSHRSABits = 2048

// maxSSHKeyLine bounds the authorized_keys line of a signing request.
const maxSSHKeyLine = 16 << 10

// SSHStore is what SSH signing and the host configuration need from the
// inventory besides [Store]; *inventory.Inventory implements it.
type SSHStore interface {
	SSHPolicyOf(ctx context.Context, key string) (inventory.SSHPolicy, error)
	SSHPrincipals(ctx context.Context, host string) (string, map[string][]string, error)
}

// ParseSSHPublicKey parses the authorized_keys line of a signing request
// for a certificate of type typ ("" is [SSHUser]) and checks its key type:
// Ed25519 and ECDSA (P-256, P-384, P-521) for user keys, and RSA of at
// least [MinSSHRSABits] bits besides for host keys (the host keys sshd
// already has). Security-key (sk-) types, DSA, certificates and options are
// refused. Refusals are *RequestError.
func ParseSSHPublicKey(line, typ string) (ssh.PublicKey, error) {
	bad := func(format string, args ...any) error {
		return &RequestError{Reason: "public_key: " + fmt.Sprintf(format, args...),
			HintText: "send the key's authorized_keys line (the .pub file), e.g. of ssh-keygen -t ed25519"}
	}
	if typ != "" && typ != SSHUser && typ != SSHHost {
		return nil, &RequestError{Reason: fmt.Sprintf("type %q: want %q or %q", typ, SSHUser, SSHHost)}
	}
	line = strings.TrimSpace(line)
	switch {
	case line == "":
		return nil, bad("missing")
	case len(line) > maxSSHKeyLine:
		return nil, bad("longer than %d bytes", maxSSHKeyLine)
	case strings.ContainsAny(line, "\n\r"):
		return nil, bad("one line only")
	}
	pub, _, opts, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	switch {
	case err != nil:
		return nil, bad("not an OpenSSH public key")
	case len(opts) > 0 || len(rest) > 0:
		return nil, bad("a bare key, without authorized_keys options")
	}
	if _, ok := pub.(*ssh.Certificate); ok {
		return nil, bad("a certificate, not a key")
	}
	switch pub.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return pub, nil
	case ssh.KeyAlgoRSA:
		if typ != SSHHost {
			return nil, bad("an RSA key is accepted for host certificates only; generate the user key with ssh-keygen -t ed25519")
		}
		ck, ok := pub.(ssh.CryptoPublicKey)
		if !ok {
			return nil, bad("unreadable RSA key")
		}
		if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); !ok || rk.N.BitLen() < MinSSHRSABits {
			return nil, bad("RSA keys need at least %d bits", MinSSHRSABits)
		}
		return pub, nil
	}
	return nil, bad("key type %s is not accepted (Ed25519, ECDSA P-256/P-384/P-521; RSA >= %d bits for host keys)", pub.Type(), MinSSHRSABits)
}

// SignSSH signs pub as an SSH certificate for the identity of the client
// certificate peer (peer[0]), after every gate of a renewal: the
// certificate verified (chain, expiry, revocation), the identity eligible
// ([Issuer.eligible]: owner, retired, gone, shared across environments,
// pending review, vendor hold, revoked), and peer[0] its current
// certificate (or the one that was renewed to it; an older one is a
// [*ReuseError], recorded as for a renewal).
//
// typ [SSHUser] ("" too): an account identity only. Principal: the
// identity's service account key NAME@ENV, from the inventory. Key id: the
// SPIFFE ID. Validity: what the identity's X.509 renewal would get (its
// tier's validity, else the CA's default), at most
// [ca.MaxSSHUserValidity]. Extensions: the account's SSH policy's (none by
// default).
//
// typ [SSHHost]: the host identity only. Principals: the host's inventory
// name (and the identity's name when it differs). Validity
// [ca.MaxSSHHostValidity] (7 days). No extensions.
//
// Signed certificates are recorded by the CA and audited as ssh.sign;
// refusals are audited with their reason.
func (i *Issuer) SignSSH(ctx context.Context, peer []*x509.Certificate, pub ssh.PublicKey, typ string) (*ssh.Certificate, error) {
	return i.signSSHPeer(ctx, peer, typ, func() (ssh.PublicKey, error) { return pub, nil })
}

// SignSSHLine is [Issuer.SignSSH] for the authorized_keys line of a
// request, parsed by [ParseSSHPublicKey] once the client certificate is
// verified (so a caller without one learns that first).
func (i *Issuer) SignSSHLine(ctx context.Context, peer []*x509.Certificate, line, typ string) (*ssh.Certificate, error) {
	return i.signSSHPeer(ctx, peer, typ, func() (ssh.PublicKey, error) { return ParseSSHPublicKey(line, typ) })
}

func (i *Issuer) signSSHPeer(ctx context.Context, peer []*x509.Certificate, typ string, key func() (ssh.PublicKey, error)) (*ssh.Certificate, error) {
	if typ == "" {
		typ = SSHUser
	}
	id, leaf, err := i.verifyPeer(ctx, peer)
	if err != nil {
		serial := ""
		if len(peer) > 0 {
			serial = peer[0].SerialNumber.String()
		}
		i.refused(ctx, audit.ActionSSHSign, id, serial, err)
		return nil, err
	}
	ctx = audit.WithActor(ctx, id.String())
	pub, err := key()
	var cert *ssh.Certificate
	if err == nil {
		cert, err = i.signSSH(ctx, id, leaf, pub, typ)
	}
	var reuse *ReuseError
	switch {
	case errors.As(err, &reuse):
		i.recordReuse(ctx, reuse)
		return nil, err
	case err != nil:
		i.refused(ctx, audit.ActionSSHSign, id, leaf.SerialNumber.String(), err)
		return nil, err
	}
	serial := strconv.FormatUint(cert.Serial, 10)
	until := time.Unix(int64(cert.ValidBefore), 0).UTC().Format(time.RFC3339)
	i.audit(ctx, audit.Event{Action: audit.ActionSSHSign, Host: id.Host, Account: id.Account, Serial: serial, Outcome: audit.OutcomeOK,
		Detail: fmt.Sprintf("%s certificate, principals %s, valid until %s", typ, strings.Join(cert.ValidPrincipals, ","), until)})
	i.log.InfoContext(ctx, "ssh certificate signed", slog.String("host", id.Host), slog.String("account", id.Account),
		slog.String("type", typ), slog.String("serial", serial), slog.String("valid_before", until))
	return cert, nil
}

func (i *Issuer) signSSH(ctx context.Context, id ID, leaf *x509.Certificate, pub ssh.PublicKey, typ string) (*ssh.Certificate, error) {
	if pub == nil {
		return nil, &RequestError{Reason: "public_key: missing"}
	}
	switch {
	case typ != SSHUser && typ != SSHHost:
		return nil, &RequestError{Reason: fmt.Sprintf("type %q: want %q or %q", typ, SSHUser, SSHHost)}
	case typ == SSHHost && !id.IsHost():
		return nil, &DeniedError{Host: id.Host, Account: id.Account,
			Reason:   fmt.Sprintf("%s is an account identity: host certificates are for the host identity only", id.Label()),
			HintText: "ask with the host identity's certificate (roster enroll --host " + id.Host + ")"}
	case typ == SSHUser && id.IsHost():
		return nil, &DeniedError{Host: id.Host,
			Reason:   fmt.Sprintf("%s is a host identity: user certificates are for account identities", id.Label()),
			HintText: "ask with the account identity's certificate (roster enroll ACCOUNT --host " + id.Host + ")"}
	}
	st, ok := i.store.(SSHStore)
	if !ok {
		return nil, errors.New("issuer: sign ssh: the inventory keeps no SSH policy")
	}
	s, err := i.eligible(ctx, id)
	if err != nil {
		return nil, err
	}
	serial := leaf.SerialNumber.String()
	if s.Cert != nil && s.Cert.Serial != serial && s.Cert.Previous != serial {
		return nil, reuseError(id, serial, s.Cert.Serial)
	}
	req := ca.SSHRequest{KeyID: id.String()}
	var cert *ssh.Certificate
	if typ == SSHHost {
		req.Principals = []string{s.Host}
		if id.Host != s.Host {
			req.Principals = append(req.Principals, id.Host)
		}
		req.Validity = ca.MaxSSHHostValidity
		cert, err = i.ca.SignSSHHost(ctx, pub, req)
	} else {
		if s.ServiceAccount == "" {
			return nil, fmt.Errorf("issuer: sign ssh for %s: the inventory names no service account", id.Label())
		}
		pol, perr := st.SSHPolicyOf(ctx, s.ServiceAccount)
		if perr != nil {
			return nil, fmt.Errorf("issuer: sign ssh for %s: %w", id.Label(), perr)
		}
		req.Principals = []string{s.ServiceAccount}
		req.Validity = i.sshUserValidity(s.Tier)
		req.Extensions = pol.Extensions()
		cert, err = i.ca.SignSSHUser(ctx, pub, req)
	}
	if errors.Is(err, ca.ErrSSHRequest) {
		return nil, &RequestError{Reason: err.Error()}
	}
	if err != nil {
		return nil, i.diskFull(ctx, "signing an SSH certificate for "+id.Label(), audit.ActionSSHSign, id, serial, err)
	}
	return cert, nil
}

// sshUserValidity is the lifetime of a user certificate for an identity of
// tier t: what its X.509 renewal would get, within the SSH bounds.
func (i *Issuer) sshUserValidity(t inventory.Tier) time.Duration {
	d, ok := i.tiers[t]
	if !ok {
		d, _, _ = i.ca.Validity()
	}
	return min(max(d, ca.MinSSHValidity), ca.MaxSSHUserValidity)
}

// SSHHostConfig is what a host's sshd needs: the host's inventory name,
// the user CA key, and per local account the principals granted on it
// (grants on the host or its environment).
type SSHHostConfig struct {
	Host       string
	UserCA     string
	Principals map[string][]string
}

// SSHHostConfig answers the host identity of the client certificate peer,
// after the gates of a renewal; an account identity is refused (a
// *DeniedError).
func (i *Issuer) SSHHostConfig(ctx context.Context, peer []*x509.Certificate) (SSHHostConfig, error) {
	id, leaf, err := i.verifyPeer(ctx, peer)
	if err != nil {
		return SSHHostConfig{}, err
	}
	if !id.IsHost() {
		return SSHHostConfig{}, &DeniedError{Host: id.Host, Account: id.Account,
			Reason:   fmt.Sprintf("%s is an account identity: the sshd configuration is for the host identity only", id.Label()),
			HintText: "ask with the host identity's certificate (roster enroll --host " + id.Host + ")"}
	}
	st, ok := i.store.(SSHStore)
	if !ok {
		return SSHHostConfig{}, errors.New("issuer: ssh host config: the inventory keeps no SSH grants")
	}
	s, err := i.eligible(ctx, id)
	if err != nil {
		return SSHHostConfig{}, err
	}
	serial := leaf.SerialNumber.String()
	if s.Cert != nil && s.Cert.Serial != serial && s.Cert.Previous != serial {
		return SSHHostConfig{}, reuseError(id, serial, s.Cert.Serial)
	}
	name, p, err := st.SSHPrincipals(ctx, s.Host)
	if err != nil {
		return SSHHostConfig{}, fmt.Errorf("issuer: ssh host config for %s: %w", id.Label(), err)
	}
	return SSHHostConfig{Host: name, UserCA: i.ca.UserCAPublicKey(), Principals: p}, nil
}

package issuer

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/inventory"
)

// RevokeRequest names what to revoke: a serial (decimal, as roster prints
// it), or an identity: Account on Host, the host identity (Host only), or
// Account on every host it has a certificate on (Account only).
type RevokeRequest struct {
	Host, Account string
	Serial        string
	Reason        string
}

// RevokeResult lists the serials revoked: X.509, and the SSH certificates
// of the identities revoked (decimal).
type RevokeResult struct {
	Serials    []string `json:"serials"`
	SSHSerials []string `json:"ssh_serials,omitempty"`
}

// ErrNothingToRevoke: the identity holds no unrevoked certificate.
var ErrNothingToRevoke = errors.New("no unrevoked certificate to revoke")

// Revoke revokes certificates: the serial given, or the current
// certificate of the identity. Renewal is refused from then on (also for an
// older certificate of a revoked identity, until it is enrolled again) and
// the CRL is reissued. Revoking an identity (not a serial) also revokes
// every SSH certificate issued to it (key id: its SPIFFE ID) and rebuilds
// the KRL.
func (i *Issuer) Revoke(ctx context.Context, req RevokeRequest) (RevokeResult, error) {
	var res RevokeResult
	type target struct {
		id     ID
		serial string
	}
	var targets []target
	switch {
	case req.Serial != "":
		crt, err := i.ca.Certificate(req.Serial)
		if errors.Is(err, ca.ErrUnknownSerial) {
			return res, &RequestError{Reason: fmt.Sprintf("serial %s was not issued by this CA", req.Serial)}
		}
		if err != nil {
			return res, fmt.Errorf("issuer: revoke %s: %w", req.Serial, err)
		}
		// The server's own certificate names no identity: id stays empty.
		id, _ := idFromCert(crt)
		targets = append(targets, target{id: id, serial: req.Serial})
	case req.Host != "":
		// ACCOUNT may be NAME@ENV, as every command takes it: the
		// instance on the host must be in that environment.
		name, env, qualified := strings.Cut(req.Account, "@")
		id, err := NewID(i.ca.TrustDomain(), req.Host, name)
		if err != nil {
			return res, &RequestError{Reason: err.Error()}
		}
		if qualified {
			if err := i.checkEnv(ctx, id, env, true); err != nil {
				return res, err
			}
		}
		s, err := i.store.Identity(ctx, req.Host, name)
		if err != nil {
			return res, fmt.Errorf("issuer: revoke %s: %w", id.Label(), err)
		}
		if s.Cert == nil || s.Cert.RevokedAt != nil {
			return res, fmt.Errorf("issuer: revoke %s: %w", id.Label(), ErrNothingToRevoke)
		}
		targets = append(targets, target{id: id, serial: s.Cert.Serial})
	case req.Account != "":
		a, err := i.store.GetAccount(ctx, req.Account)
		if err != nil {
			return res, fmt.Errorf("issuer: revoke account %s: %w", req.Account, err)
		}
		for _, in := range a.Instances {
			if in.Cert != nil && in.Cert.RevokedAt == nil {
				targets = append(targets, target{id: ID{Host: in.Host, Account: in.Account}, serial: in.Cert.Serial})
			}
		}
		if len(targets) == 0 {
			return res, fmt.Errorf("issuer: revoke account %s: %w", req.Account, ErrNothingToRevoke)
		}
	default:
		return res, &RequestError{Reason: "nothing to revoke: give a serial, or an account and/or host",
			HintText: "roster revoke ACCOUNT --host HOST, or roster revoke --serial SERIAL"}
	}
	for _, t := range targets {
		if err := i.ca.Revoke(ctx, t.serial, req.Reason); err != nil {
			if errors.Is(err, ca.ErrUnknownSerial) {
				return res, &RequestError{Reason: fmt.Sprintf("serial %s was not issued by this CA", t.serial)}
			}
			if !errors.Is(err, ca.ErrAlreadyRevoked) {
				return res, i.diskFull(ctx, opText(audit.ActionCertRevoke, t.id), audit.ActionCertRevoke, t.id, t.serial,
					fmt.Errorf("issuer: revoke %s: %w", t.serial, err))
			}
			// Revoked in the CA but perhaps not yet in the inventory (a
			// crash in between): carry on and record it.
		}
		err := inventory.ErrNotFound
		if t.id.Host != "" {
			err = i.store.RecordRevoked(ctx, t.id.Host, t.id.Account, t.serial, req.Reason)
		}
		if err != nil {
			if !errors.Is(err, inventory.ErrNotFound) {
				// Revoked in the CA, not yet in the inventory: the same
				// request again records it (see above).
				return res, i.diskFull(ctx, opText(audit.ActionCertRevoke, t.id), audit.ActionCertRevoke, t.id, t.serial,
					fmt.Errorf("issuer: record revocation of %s: %w", t.serial, err))
			}
			// A certificate the inventory does not track (the server's own,
			// or one of an identity no longer there): audit it here.
			i.audit(ctx, audit.Event{Action: audit.ActionCertRevoke, Host: t.id.Host, Account: t.id.Account,
				Serial: t.serial, Outcome: audit.OutcomeOK, Reason: req.Reason})
		}
		i.log.InfoContext(ctx, "certificate revoked", slog.String("serial", t.serial), slog.String("host", t.id.Host),
			slog.String("account", t.id.Account), slog.String("reason", req.Reason))
		res.Serials = append(res.Serials, t.serial)
		if req.Serial == "" {
			ssh, err := i.revokeSSH(ctx, t.id, req.Reason)
			if err != nil {
				return res, err
			}
			res.SSHSerials = append(res.SSHSerials, ssh...)
		}
	}
	return res, nil
}

// revokeSSH revokes the SSH certificates of id (all of them, by its SPIFFE
// ID as key id) and audits them as one record.
func (i *Issuer) revokeSSH(ctx context.Context, id ID, reason string) ([]string, error) {
	id.TrustDomain = i.ca.TrustDomain()
	serials, err := i.ca.RevokeSSHKeyID(ctx, id.String(), reason)
	if err != nil {
		return nil, fmt.Errorf("issuer: revoke ssh certificates of %s: %w", id.Label(), err)
	}
	if len(serials) == 0 {
		return nil, nil
	}
	out := make([]string, len(serials))
	for n, s := range serials {
		out[n] = strconv.FormatUint(s, 10)
	}
	i.audit(ctx, audit.Event{Action: audit.ActionSSHRevoke, Host: id.Host, Account: id.Account,
		Serial: strings.Join(out, ","), Outcome: audit.OutcomeOK, Reason: reason})
	i.log.InfoContext(ctx, "ssh certificates revoked", slog.String("host", id.Host),
		slog.String("account", id.Account), slog.Int("count", len(out)))
	return out, nil
}

// AuthenticateHost authenticates a scan submission by the client
// certificate chain presented over mTLS (peer, leaf first): it must be a
// valid, unrevoked host identity certificate (spiffe://TD/host/HOST) issued
// by this CA. It returns HOST. Errors are *AuthError.
func (i *Issuer) AuthenticateHost(ctx context.Context, peer []*x509.Certificate) (string, error) {
	id, _, err := i.verifyPeer(ctx, peer)
	if err != nil {
		return "", err
	}
	if !id.IsHost() {
		return "", &AuthError{Reason: fmt.Sprintf("%s is not a host identity", id), HintText: "submit scans with the host certificate: " + enrollCommand(ID{Host: id.Host}), Err: ca.ErrUntrusted}
	}
	return id.Host, nil
}

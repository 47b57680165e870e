package issuer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
)

// vendorStore is what the lapse sweep needs of the inventory beyond
// [Store].
type vendorStore interface {
	VendorLapses(ctx context.Context, now time.Time) ([]inventory.VendorLapse, error)
	RecordVendorLapse(ctx context.Context, l inventory.VendorLapse, revoked []string) (bool, error)
}

// SweepVendorLapses processes every vendor lapse not processed before
// (inventory.VendorLapses): for a vendor whose on-lapse is revoke, it
// revokes the account's certificates through [Issuer.Revoke] (so the CRL
// and the inventory agree); the account is then held by the policy
// (inventory.IdentityState.VendorHold) until the exception is renewed or
// closed. Each lapse is recorded once (notify ones too, for the
// notifications), audited with the vendor and the exception named. It
// returns the number of lapses recorded; a failure on one lapse is
// returned after the others were tried.
func (i *Issuer) SweepVendorLapses(ctx context.Context) (int, error) {
	vs, ok := i.store.(vendorStore)
	if !ok {
		return 0, nil
	}
	if audit.Actor(ctx) == "" {
		ctx = audit.WithActor(ctx, "system")
	}
	lapses, err := vs.VendorLapses(ctx, i.now())
	if err != nil {
		return 0, fmt.Errorf("issuer: vendor lapses: %w", err)
	}
	n := 0
	var errs []error
	for _, l := range lapses {
		if l.Processed != nil {
			continue
		}
		var revoked []string
		if l.OnLapse == inventory.OnLapseRevoke {
			res, err := i.Revoke(ctx, RevokeRequest{Account: l.Account, Reason: "privilegeWithdrawn"})
			if err != nil && !errors.Is(err, ErrNothingToRevoke) {
				errs = append(errs, fmt.Errorf("issuer: vendor %s lapse %s: %w", l.Vendor, l.Exception.ID, err))
				continue
			}
			revoked = res.Serials
		}
		first, err := vs.RecordVendorLapse(ctx, l, revoked)
		if err != nil {
			errs = append(errs, fmt.Errorf("issuer: %w", err))
			continue
		}
		if first {
			n++
			i.log.InfoContext(ctx, "vendor exception lapsed", slog.String("vendor", l.Vendor), slog.String("exception", l.Exception.ID),
				slog.String("account", l.Account), slog.String("on_lapse", l.OnLapse), slog.Int("revoked", len(revoked)))
		}
	}
	return n, errors.Join(errs...)
}

// holdDenial is the refusal of an identity its vendor's lapse holds.
func holdDenial(host, account, serviceAccount string, h *inventory.VendorHold) *DeniedError {
	return &DeniedError{Host: host, Account: account,
		Reason: fmt.Sprintf("account %s is on hold: %s", account, h.Reason()),
		HintText: fmt.Sprintf("renew it (roster exception add %s --owner OWNER --expires DATE --reason TEXT) or close it (roster exception close %s --reason TEXT), then enroll again",
			serviceAccount, h.Exception)}
}

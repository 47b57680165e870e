package issuer

import (
	"context"
	"fmt"
	"time"

	"github.com/rosterhq/roster/inventory"
)

// DeniedError is a refused issuance, renewal or enrollment: what is wrong
// with the identity and what the operator can do about it.
type DeniedError struct {
	Host    string
	Account string // "" for a host identity
	// Reason is a complete lowercase sentence naming the identity, e.g.
	// "account billing-batch has no owner".
	Reason string
	// HintText is the next step, e.g. "roster owner set billing-batch OWNER".
	HintText string
}

func (e *DeniedError) Error() string { return e.Reason }

// Hint is the next step for the operator ("" if none).
func (e *DeniedError) Hint() string { return e.HintText }

// AccountPolicy decides whether the identity described by s may hold a
// certificate. It returns nil to allow, a *DeniedError to refuse. The
// issuer calls it for every token creation, enrollment, renewal and rekey.
type AccountPolicy func(ctx context.Context, s inventory.IdentityState) error

// DefaultPolicy is "identity before credential": a certificate only for an
// identity the inventory knows, that is still present on its host, has an
// owner, is not retired, is not one account shared across environments
// and is not held by its vendor's lapsed exception (vendors.go).
// An expired exception on the account's static credential does not matter
// (the certificate is the way out of it), except on the account of a
// vendor whose on-lapse is revoke: that lapse holds the account until the
// exception is renewed or closed (inventory.IdentityState.VendorHold).
func DefaultPolicy(_ context.Context, s inventory.IdentityState) error {
	deny := func(reason, hint string) error {
		return &DeniedError{Host: s.Host, Account: s.Account, Reason: reason, HintText: hint}
	}
	if !s.HostKnown {
		return deny(fmt.Sprintf("host %s is not in the inventory", s.Host),
			fmt.Sprintf("scan it first: roster scan --submit on %s", s.Host))
	}
	if s.Account == "" {
		if !s.Exists {
			return deny(fmt.Sprintf("host %s has never been scanned", s.Host),
				fmt.Sprintf("scan it first: roster scan --submit on %s", s.Host))
		}
		return nil
	}
	a := s.Account
	switch {
	case !s.Exists:
		return deny(fmt.Sprintf("account %s does not exist on host %s", a, s.Host),
			fmt.Sprintf("check the name: roster accounts list --host %s", s.Host))
	case s.Gone:
		since := ""
		if s.GoneAt != nil {
			since = " since " + s.GoneAt.UTC().Format(time.RFC3339)
		}
		return deny(fmt.Sprintf("account %s is gone from host %s%s", a, s.Host, since),
			fmt.Sprintf("if it is back, rescan the host (roster scan --submit on %s); otherwise revoke its certificate: roster revoke %s --host %s", s.Host, a, s.Host))
	case s.Retired:
		return deny(fmt.Sprintf("account %s is retired", a),
			fmt.Sprintf("a retired account gets no certificate; if it is in use again: roster account unretire %s", serviceAccount(s)))
	case s.Owner == nil || s.Owner.Name == "":
		return deny(fmt.Sprintf("account %s has no owner", a),
			fmt.Sprintf("roster owner set %s OWNER", a))
	case s.SharedAcrossEnvs:
		// Each environment has its own service account already; what the
		// inventory lacks is the operator's word that they are different
		// identities (moving an instance elsewhere would not give it).
		key := serviceAccount(s)
		return deny(fmt.Sprintf("account %s is shared across environments", a),
			fmt.Sprintf("if %s is an identity of its own, not the same account as %s in the other environments, confirm it: roster account split %s --separate; then enroll again", key, a, key))
	case s.VendorHold != nil:
		return holdDenial(s.Host, a, serviceAccount(s), s.VendorHold)
	}
	return nil
}

// serviceAccount is the inventory's name of the identity's service
// account (NAME@ENV), which names it unambiguously in a command.
func serviceAccount(s inventory.IdentityState) string {
	if s.ServiceAccount != "" {
		return s.ServiceAccount
	}
	return s.Account
}

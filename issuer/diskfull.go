package issuer

import (
	"context"
	"errors"
	"log/slog"
	"syscall"

	"github.com/rosterhq/roster/audit"
)

// DiskFullError is a request that failed because the server's disk is
// full: the inventory's store or the CA's database could not write
// (ENOSPC, which Err wraps: errors.Is(err, syscall.ENOSPC) holds). Nothing
// it would have recorded was recorded (a store transaction commits whole
// or not at all), an enrollment token is not spent, and the same request
// succeeds once space is freed; HTTP 503. The issuer logs each one once.
type DiskFullError struct {
	// Op is what failed, for people: "renewing the certificate of account
	// billing-batch on host web1".
	Op  string
	Err error
}

func (e *DiskFullError) Error() string {
	return "the server's disk is full: " + e.Op + " failed; retry once space is freed"
}

// Hint is the next step for the operator.
func (e *DiskFullError) Hint() string {
	return "free space on the volume of the server's data directory; the request can then be retried as it is"
}

func (e *DiskFullError) Unwrap() error { return e.Err }

// diskFull turns err into a *DiskFullError and logs it, if it comes from a
// full disk; otherwise it returns err unchanged. op names what failed
// (see DiskFullError.Op); action, id and serial go to the log record.
func (i *Issuer) diskFull(ctx context.Context, op, action string, id ID, serial string, err error) error {
	var df *DiskFullError
	if err == nil || errors.As(err, &df) || !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	// One record per failed request; no audit record is attempted, it
	// would need the space that is missing.
	i.log.ErrorContext(ctx, "the server's disk is full", slog.String("action", action), slog.String("host", id.Host),
		slog.String("account", id.Account), slog.String("serial", serial), slog.String("error", err.Error()))
	return &DiskFullError{Op: op, Err: err}
}

// opText names an issuer operation on id for a DiskFullError.
func opText(action string, id ID) string {
	switch action {
	case audit.ActionCertRenew:
		return "renewing the certificate of " + id.Label()
	case audit.ActionCertRekey:
		return "rekeying the certificate of " + id.Label()
	case audit.ActionEnrollCreate:
		return "creating an enrollment token for " + id.Label()
	case audit.ActionCertRevoke:
		if id.Host == "" {
			return "revoking a certificate"
		}
		return "revoking the certificate of " + id.Label()
	}
	return "enrolling " + id.Label()
}

package inventory

import (
	"errors"
	"fmt"

	"github.com/rosterhq/roster/store"
)

// Sentinel errors. Match them with errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrAmbiguous    = errors.New("ambiguous account name")
	ErrNotInventory = errors.New("not a roster inventory")
	// ErrSchemaTooNew: the store was written by a newer roster.
	ErrSchemaTooNew = store.ErrSchemaTooNew
	ErrClosed       = store.ErrClosed
	// ErrLocked: another process (another roster server on the same data
	// directory) holds the inventory file.
	ErrLocked = errors.New("inventory is in use by another process")
	// ErrForbidden: the submitter may not make this change (a host
	// certificate reporting for another host's record). The server answers
	// 403.
	ErrForbidden = errors.New("forbidden")
)

// InvalidError is a refused operator request: what was wrong and what to do.
// Hint, when set, is the next step for the operator.
type InvalidError struct {
	Field    string
	Reason   string
	HintText string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Reason)
}

// Hint is the next step, for the CLI's "roster: hint:" line.
func (e *InvalidError) Hint() string { return e.HintText }

package inventory

import (
	"errors"

	"github.com/rosterhq/roster/internal/refusal"
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

// InvalidError is a refused operator request (internal/refusal): what was wrong
// and what to do next.
type InvalidError = refusal.InvalidError

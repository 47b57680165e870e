package inventory

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster/internal/refusal"
	"github.com/rosterhq/roster/internal/suggest"
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

// oneOf refuses v unless it is in valid, naming the valid ones and the
// nearest. The hint names the value only: the same check serves flags,
// request fields and CSV columns.
func oneOf(field, v string, valid []string) error {
	if slices.Contains(valid, v) {
		return nil
	}
	r := fmt.Sprintf("unknown %s %q (want one of %s)", field, v, strings.Join(valid, ", "))
	hint := ""
	if n := suggest.Nearest(v, valid); n != "" {
		hint = "did you mean " + n + "?"
	}
	return &InvalidError{Field: field, Reason: r, HintText: hint}
}

package inventory

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rosterhq/roster/internal/suggest"
	"github.com/rosterhq/roster/store"
)

// LookupError is a service account name that names none or several: it
// wraps ErrNotFound or ErrAmbiguous, and its hint names the accounts the
// operator may have meant, as commands to run.
type LookupError struct {
	Name string
	// Candidates are the NAME@ENV keys of an ambiguous name, or the
	// nearest existing key for an unknown one (empty when none is near).
	Candidates []string
	Ambiguous  bool
}

func (e *LookupError) Error() string {
	if e.Ambiguous {
		return fmt.Sprintf("account %s is in several environments (%s): %v; name one as NAME@ENV",
			e.Name, strings.Join(e.Candidates, ", "), ErrAmbiguous)
	}
	return fmt.Sprintf("account %s: %v", e.Name, ErrNotFound)
}

// Unwrap makes errors.Is(err, ErrNotFound) or (ErrAmbiguous) true.
func (e *LookupError) Unwrap() error {
	if e.Ambiguous {
		return ErrAmbiguous
	}
	return ErrNotFound
}

// Hint names the candidates as commands, or the command that lists them.
func (e *LookupError) Hint() string {
	if len(e.Candidates) == 0 {
		return "list every account: roster accounts list --all"
	}
	cmds := make([]string, len(e.Candidates))
	for i, c := range e.Candidates {
		cmds[i] = "roster accounts show " + c
	}
	if e.Ambiguous {
		return strings.Join(cmds, ", or ")
	}
	return "did you mean " + cmds[0] + "? list every account: roster accounts list --all"
}

// notFound builds the LookupError of an unknown name, with the nearest
// existing service account as its candidate. It reads every key: it runs
// only on this error path.
func notFound(tx store.Tx, name string) error {
	var keys, names []string
	err := tx.Scan(tSA, nil, func(k, _ []byte) error {
		keys = append(keys, string(k))
		n, _ := splitKey(string(k))
		names = append(names, n)
		return nil
	})
	if err != nil {
		return err
	}
	e := &LookupError{Name: name}
	query, _ := splitKey(name)
	if best := suggest.Nearest(query, names); best != "" {
		for i, n := range names {
			if n == best {
				e.Candidates = []string{keys[i]}
				break
			}
		}
	}
	return e
}

// ambiguous builds the LookupError of a name found in several groups.
func ambiguous(name string, found []saRecord) error {
	keys := make([]string, len(found))
	for i, o := range found {
		keys[i] = o.Key
	}
	sort.Strings(keys)
	return &LookupError{Name: name, Candidates: keys, Ambiguous: true}
}

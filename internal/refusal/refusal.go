// Package refusal is the one type of a refused operator request that
// roster's domain packages share (inventory, access): which field was
// wrong, why, and the next step. The server answers it with 400 and the
// CLI prints Reason after "roster: error:" and Hint after "roster: hint:".
package refusal

import "fmt"

// InvalidError is a refused operator request: what was wrong and what to do.
type InvalidError struct {
	Field  string
	Reason string
	// HintText, when set, is the next step for the operator; a command in
	// it must exist (cmd/roster's hint test checks).
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

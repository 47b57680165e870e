package render

import (
	"io"
	"strconv"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/internal/textout"
)

// Passkeys renders operators' passkeys as a table: the ID to revoke one
// by, its label and token, when it was made and last used, its signature
// counter and its state.
func Passkeys(w io.Writer, list []access.Passkey) error {
	return textTable(w, "ID\tNAME\tTOKEN\tCREATED\tLAST USED\tSIGN COUNT\tSTATE", func(tw io.Writer) {
		for _, p := range list {
			last := "-"
			if p.LastUsedAt != nil {
				last = minute(*p.LastUsedAt)
			}
			textout.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Name, p.TokenName, minute(p.CreatedAt), last,
				strconv.FormatUint(uint64(p.SignCount), 10), PasskeyState(p))
		}
	})
}

// PasskeyState is a passkey's state in a word or two, for the table and
// the web page.
func PasskeyState(p access.Passkey) string {
	switch {
	case p.RevokedAt != nil:
		return "revoked " + minute(*p.RevokedAt)
	case p.CloneWarning:
		return "clone warning: revoke it"
	case p.Synced:
		return "active (synced)"
	}
	return "active"
}

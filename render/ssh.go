package render

import (
	"io"

	"github.com/rosterhq/roster/internal/textout"
)

// SSHCA writes the SSH CA keys (authorized_keys lines, as GET /ssh/roots
// gives them) for `roster ssh ca`: user keys as they go into sshd's
// TrustedUserCAKeys file, host keys as known_hosts "@cert-authority *"
// lines. With both, each group is labelled by a comment line, so the output
// still pastes into either file.
func SSHCA(w io.Writer, user, host []string, showUser, showHost bool) error {
	both := showUser && showHost
	if showUser {
		if both {
			if _, err := io.WriteString(w, "# SSH user CA (sshd TrustedUserCAKeys)\n"); err != nil {
				return err
			}
		}
		for _, l := range user {
			if _, err := textout.Fprintf(w, "%s\n", l); err != nil {
				return err
			}
		}
	}
	if showHost {
		if both {
			if _, err := io.WriteString(w, "# SSH host CA (known_hosts)\n"); err != nil {
				return err
			}
		}
		for _, l := range host {
			if _, err := textout.Fprintf(w, "@cert-authority * %s\n", l); err != nil {
				return err
			}
		}
	}
	return nil
}

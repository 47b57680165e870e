package render

import (
	"io"
	"path"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/inventory"
)

// SSHGrants writes the SSH login grants (roster ssh grants) as a table.
func SSHGrants(w io.Writer, list []inventory.SSHGrant, format string) error {
	if format != FormatTable && format != "" {
		return &FormatError{Format: format, Want: "table or json"}
	}
	if len(list) == 0 {
		_, err := io.WriteString(w, "no SSH grants; add one with roster ssh allow IDENTITY --as ACCOUNT --on HOST\n")
		return err
	}
	return textTable(w, "IDENTITY\tAS\tON\tGRANTED\tBY", func(tw io.Writer) {
		for _, g := range list {
			textout.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.Identity, g.As, g.Target(), g.CreatedAt.UTC().Format(time.RFC3339), g.CreatedBy)
		}
	})
}

// SSHDefaultDir is where the agent keeps sshd's roster files.
const SSHDefaultDir = "/etc/ssh/roster"

// SSHDConfig writes the sshd_config snippet of a target host: the user CA
// file, the principals files, the KRL, and one HostCertificate per host
// key type (ed25519 when none is given), with the files in dir.
func SSHDConfig(w io.Writer, dir string, keyTypes []string) error {
	if dir == "" {
		dir = SSHDefaultDir
	}
	if len(keyTypes) == 0 {
		keyTypes = []string{"ed25519"}
	}
	dir = strings.TrimRight(dir, "/")
	ew := textout.New(w)
	ew.Printf("TrustedUserCAKeys %s\n", path.Join(dir, "user_ca.pub"))
	ew.Printf("AuthorizedPrincipalsFile %s/principals/%%u\n", dir)
	ew.Printf("RevokedKeys %s\n", path.Join(dir, "revoked.krl"))
	for _, t := range keyTypes {
		ew.Printf("HostCertificate %s\n", path.Join(dir, "ssh_host_"+t+"_key-cert.pub"))
	}
	return ew.Err()
}

// SSHMigration writes the steps that move local account m.Account on
// m.Host from static authorized_keys entries to roster SSH certificates:
// enroll the identity that logs in (agentDir is where roster-agent keeps
// identities), grant it, install the sshd snippet on the target, check the
// login, remove the entries, and prove it with a scan.
func SSHMigration(w io.Writer, m *inventory.SSHMigration, agentDir string) error {
	ew := textout.New(w)
	ew.Printf("Moving %s on %s (service account %s) from static SSH keys to roster SSH certificates.\n\n", m.Account, m.Host, m.ServiceAccount)
	type client struct{ host, account, key string }
	var clients []client
	seen := map[string]bool{}
	if len(m.Keys) == 0 {
		ew.Printf("The newest scan of %s found no authorized_keys entry for %s.\n", m.Host, m.Account)
	} else {
		ew.Printf("It logs in today with %d authorized_keys %s:\n", len(m.Keys), plural(len(m.Keys), "entry", "entries"))
	}
	for _, k := range m.Keys {
		var by []string
		for _, c := range k.Clients {
			by = append(by, c.Account+" on "+c.Host)
			if id := c.ServiceAccount + "\x00" + c.Host; !seen[id] {
				seen[id] = true
				clients = append(clients, client{c.Host, c.Account, c.ServiceAccount})
			}
		}
		used := "private key not found by any scan"
		if len(by) > 0 {
			used = "private key held by " + strings.Join(by, ", ")
		}
		ew.Printf("  %s  %s  (%s)\n", k.Location, dash(k.Algorithm), used)
	}
	if len(clients) == 0 {
		clients = []client{{"CLIENT_HOST", "IDENTITY", "IDENTITY"}}
		ew.Printf("No scan found the private key: replace IDENTITY and CLIENT_HOST below with the account and host that log in.\n")
	}
	ew.Printf("\n1. Enroll the identity that logs in, and give it an SSH certificate:\n")
	for _, c := range clients {
		ew.Printf("     roster enroll %s --host %s\n", c.account, c.host)
	}
	ew.Printf("   run the roster-agent enroll command it prints on the client host, and add an ssh: section\n")
	ew.Printf("   to the identity in the agent's configuration:\n")
	for _, c := range clients {
		ew.Printf("     - name: %s\n       dir: %s/%s\n       user: %s\n       ssh: {}\n", c.account, agentDir, c.account, c.account)
	}
	ew.Printf("\n2. Let it log in as %s on %s:\n", m.Account, m.Host)
	for _, c := range clients {
		ew.Printf("     roster ssh allow %s --as %s --on %s\n", c.key, m.Account, m.Host)
	}
	if len(m.Granted) > 0 {
		ew.Printf("   (already granted: %s)\n", strings.Join(m.Granted, ", "))
	}
	ew.Printf("\n3. On %s, enroll the host identity (its agent, with an sshd: section, keeps %s fresh):\n", m.Host, SSHDefaultDir)
	ew.Printf("     roster enroll --host %s\n", m.Host)
	ew.Printf("   then install the sshd snippet and reload sshd:\n")
	ew.Printf("     roster ssh sshd-config > /etc/ssh/sshd_config.d/roster.conf\n")
	ew.Printf("     sshd -t && systemctl reload ssh    # the unit is sshd on some systems\n")
	ew.Printf("\n4. Check the certificate login from the client host:\n")
	for _, c := range clients {
		ew.Printf("     ssh -F %s/%s/ssh/config %s@%s true\n", agentDir, c.account, m.Account, m.Host)
	}
	ew.Printf("\n5. Remove the static keys on %s:\n", m.Host)
	if len(m.Keys) == 0 {
		ew.Printf("     (none found)\n")
	}
	for _, k := range m.Keys {
		file, line, ok := cutLine(k.Location)
		if ok {
			ew.Printf("     delete line %s of %s (%s)\n", line, file, dash(k.Algorithm))
		} else {
			ew.Printf("     delete the entry at %s\n", k.Location)
		}
	}
	ew.Printf("\n6. Prove it: on %s run\n", m.Host)
	ew.Printf("     roster scan --submit\n")
	ew.Printf("   and the next scan moves the account to managed, as this shows:\n")
	ew.Printf("     roster accounts show %s\n", m.ServiceAccount)
	return ew.Err()
}

// cutLine splits "PATH:LINE".
func cutLine(loc string) (file, line string, ok bool) {
	i := strings.LastIndexByte(loc, ':')
	if i <= 0 || i == len(loc)-1 {
		return loc, "", false
	}
	for _, c := range loc[i+1:] {
		if c < '0' || c > '9' {
			return loc, "", false
		}
	}
	return loc[:i], loc[i+1:], true
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

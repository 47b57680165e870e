package discovery

import "github.com/rosterhq/roster/inventory/scan"

// unit is one systemd service unit after drop-ins are applied.
type unit struct {
	Name                string // "billing.service"; template instances as "name@inst.service"
	Source              string // in-root path of the unit file
	Enabled             bool   // linked from a *.wants / *.requires directory
	User, Group         string // as written; User=="" and !DynamicUser means it runs as root
	DynamicUser         bool
	SupplementaryGroups []string
	ExecStart           []string
	LoadCredentials     []string          // "ID:PATH" as written (never contents)
	Secrets             []scan.Credential // secret_env credentials, fingerprinted, Unit set
}

// readUnits reads the service units of the root.
func readUnits(r *Root, fp *Fingerprinter, w *warnings) []unit { return nil }

package render

import "github.com/rosterhq/roster/inventory"

// kindLine says what kind an account is when it is not a plain service
// account by the scans: "human (set by an operator)", "system (found by
// scans)", "directory (found by scans)"; "" for a service account the
// scans found.
func kindLine(a inventory.AccountSummary) string {
	k := inventory.KindService
	switch {
	case a.Human:
		k = inventory.KindHuman
	case a.System:
		k = inventory.KindSystem
	case a.Directory:
		k = inventory.KindDirectory
	}
	switch {
	case a.KindOverride:
		return k + " (set by an operator)"
	case k != inventory.KindService:
		return k + " (found by scans)"
	}
	return ""
}

package inventory

import (
	"fmt"
	"strings"
)

// The inventory's tables and key layouts;
// migrations (migrate.go) change them.
//
//	meta       "schema", "fpkey", "seq/host", "seq/event"    -> bytes (store.MetaTable, shared: see store)
//	hosts      HOSTID                                         -> hostRecord JSON
//	hostmid    machine-id                                     -> HOSTID
//	hostname   hostname                                       -> HOSTID
//	hostbind   host identity name (certificate)               -> HOSTID of the record it is bound to
//	inst       HOSTID 0 ACCOUNT                               -> service account key, instRecord JSON, scan.Account JSON (see frameInst)
//	grouping   HOSTID 0 ACCOUNT                               -> group chosen by an operator (split)
//	sa         NAME@GROUP                                     -> saRecord JSON (operator state + summary)
//	sainst     NAME@GROUP 0 HOSTID 0 ACCOUNT                  -> ""
//	history    NAME@GROUP 0 SEQ(8)                            -> Event JSON
//	fp         FPKEY 0 HOSTID 0 ACCOUNT                       -> credential type 0 service account key
//	fpshared   FPKEY                                          -> fingerprint (only those with 2+ holders)
//	certidx    HOSTID 0 ACCOUNT                               -> CertState JSON (live, unrevoked certificates)
//	exc        EXCID                                          -> Exception JSON
//	plansnap   UTC date YYYY-MM-DD                            -> Snapshot JSON (the day's latest; see history.go)
//	vendor     NAME                                           -> Vendor JSON (vendors.go)
//	vendorlapse EXCID                                         -> vendorLapseRec JSON: a lapse the sweep processed, once
//	plan       TIER ("1".."4")                                -> Phase JSON (plan.go)
//	sshgrant   KIND("host"|"env") 0 TARGET 0 ACCOUNT 0 NAME@ENV -> SSHGrant JSON (sshgrants.go)
//	sshpolicy  NAME@GROUP                                     -> SSHPolicy JSON (sshgrants.go)
//
// The same store holds other packages' tables (audit's, access's, the
// issuer's); the inventory never reads them.
const (
	tHosts    = "hosts"
	tHostMID  = "hostmid"
	tHostName = "hostname"
	tHostBind = "hostbind"
	tInst     = "inst"
	tGrouping = "grouping"
	tSA       = "sa"
	tSAInst   = "sainst"
	tHistory  = "history"
	tFP       = "fp"
	tFPShared = "fpshared"
	tCertIdx  = "certidx"
	tExc      = "exc"
	tPlanSnap = "plansnap"

	tVendor      = "vendor"
	tVendorLapse = "vendorlapse"
	tPlan        = "plan"

	tSSHGrant  = "sshgrant"
	tSSHPolicy = "sshpolicy"

	tSerialV1 = "serial" // SERIAL -> HOSTID 0 ACCOUNT; emptied by migration v2
)

var (
	kMarker = []byte("roster-inventory")
	kFPKey  = []byte("fpkey")
)

// joinKey is store.Join in one allocation, for ingest's many keys.
func joinKey(parts ...string) []byte {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

func hostIDString(n uint64) string { return fmt.Sprintf("h%015x", n) }

// validName reports whether s can be part of a key.
func validName(s string) bool {
	return s != "" && !strings.ContainsRune(s, 0) && len(s) <= 256
}

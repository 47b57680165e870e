package inventory

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// The inventory's tables and key layouts. Every Store holds exactly these;
// migrations (migrate.go) change them.
//
//	meta       "schema", "fpkey", "seq/NAME", "audit/head"   -> bytes
//	hosts      HOSTID                                         -> hostRecord JSON
//	hostmid    machine-id                                     -> HOSTID
//	hostname   hostname                                       -> HOSTID
//	inst       HOSTID 0 ACCOUNT                               -> service account key, instRecord JSON, scan.Account JSON (see frameInst)
//	grouping   HOSTID 0 ACCOUNT                               -> group chosen by an operator (split)
//	sa         NAME@GROUP                                     -> saRecord JSON (operator state + summary)
//	sainst     NAME@GROUP 0 HOSTID 0 ACCOUNT                  -> ""
//	history    NAME@GROUP 0 SEQ(8)                            -> Event JSON
//	fp         FPKEY 0 HOSTID 0 ACCOUNT                       -> credential type 0 service account key
//	fpshared   FPKEY                                          -> fingerprint (only those with 2+ holders)
//	certidx    HOSTID 0 ACCOUNT                               -> CertState JSON (live, unrevoked certificates)
//	exc        EXCID                                          -> Exception JSON
//	tokens     TOKENID                                        -> tokenRecord JSON
//	tokenhash  SHA-256(token)                                 -> TOKENID
//	enroll     hash                                           -> EnrollToken JSON
//	audit      SEQ(8)                                         -> AuditEvent JSON
const (
	tMeta      = "meta"
	tHosts     = "hosts"
	tHostMID   = "hostmid"
	tHostName  = "hostname"
	tInst      = "inst"
	tGrouping  = "grouping"
	tSA        = "sa"
	tSAInst    = "sainst"
	tHistory   = "history"
	tFP        = "fp"
	tFPShared  = "fpshared"
	tCertIdx   = "certidx"
	tExc       = "exc"
	tTokens    = "tokens"
	tTokenHash = "tokenhash"
	tEnroll    = "enroll"
	tAudit     = "audit"

	tSerialV1 = "serial" // SERIAL -> HOSTID 0 ACCOUNT; emptied by migration v2
)

var (
	kSchema    = []byte("schema")
	kMarker    = []byte("roster-inventory")
	kFPKey     = []byte("fpkey")
	kAuditHead = []byte("audit/head")
)

// join builds a composite key from parts separated by 0 bytes. Parts never
// contain a 0 byte: names come from validated reports or validated input.
func join(parts ...string) []byte {
	return []byte(strings.Join(parts, "\x00"))
}

// prefix is join(parts...) followed by the separator.
func prefix(parts ...string) []byte {
	return append(join(parts...), 0)
}

// splitKey2 splits a composite key into its parts.
func splitParts(k []byte) []string { return strings.Split(string(k), "\x00") }

func u64key(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// nextSeq increments counter name in meta and returns the new value.
func nextSeq(tx Tx, name string) (uint64, error) {
	k := []byte("seq/" + name)
	v, err := tx.Get(tMeta, k)
	if err != nil {
		return 0, err
	}
	var n uint64
	if len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	} else if v != nil {
		return 0, fmt.Errorf("meta %s: corrupt counter", k)
	}
	n++
	return n, tx.Put(tMeta, k, u64key(n))
}

func hostIDString(n uint64) string { return fmt.Sprintf("h%015x", n) }

// validName reports whether s can be part of a key.
func validName(s string) bool {
	return s != "" && !strings.ContainsRune(s, 0) && len(s) <= 256
}

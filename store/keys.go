package store

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Join builds a composite key from parts separated by 0 bytes. Parts never
// contain a 0 byte: names come from validated reports or validated input.
func Join(parts ...string) []byte {
	return []byte(strings.Join(parts, "\x00"))
}

// Prefix is Join(parts...) followed by the separator: the prefix to Scan
// for every key that continues with further parts.
func Prefix(parts ...string) []byte {
	return append(Join(parts...), 0)
}

// Split splits a composite key into its parts.
func Split(k []byte) []string { return strings.Split(string(k), "\x00") }

// U64 encodes n big-endian, so keys sort numerically.
func U64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// MetaTable is the store's shared table of single named records. Each key
// has one owner: "schema" and "seq/NAME" belong to this package (Migrate,
// NextSeq), other keys to the package that writes them (documented there).
const MetaTable = "meta"

// NextSeq increments the counter name in MetaTable and returns the new
// value, starting at 1.
func NextSeq(tx Tx, name string) (uint64, error) {
	k := []byte("seq/" + name)
	v, err := tx.Get(MetaTable, k)
	if err != nil {
		return 0, err
	}
	var n uint64
	if len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	} else if v != nil {
		return 0, fmt.Errorf("%s %s: corrupt counter", MetaTable, k)
	}
	n++
	return n, tx.Put(MetaTable, k, U64(n))
}

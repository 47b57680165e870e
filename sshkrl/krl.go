// Package sshkrl writes and reads OpenSSH key revocation lists (KRLs), the
// file sshd's RevokedKeys and `ssh-keygen -Q` read. It implements the subset
// of OpenSSH's PROTOCOL.krl that roster uses (standard library and
// golang.org/x/crypto/ssh only):
//
//   - section 1, the header: KRL_MAGIC ("SSHKRL\n\0"), KRL_FORMAT_VERSION 1,
//     krl_version, generated_date, flags (0), reserved and comment;
//   - section 2, certificates (KRL_SECTION_CERTIFICATES, 1) under a CA key
//     (or any CA when the key is empty), with the subsections serial list
//     (KRL_SECTION_CERT_SERIAL_LIST, 0x20), serial range
//     (KRL_SECTION_CERT_SERIAL_RANGE, 0x21) and key id
//     (KRL_SECTION_CERT_KEY_ID, 0x23);
//   - section 3, explicit keys (KRL_SECTION_EXPLICIT_KEY, 2) and section 4's
//     SHA256 fingerprints (KRL_SECTION_FINGERPRINT_SHA256, 5).
//
// Not written and refused when read: serial bitmaps (0x22), SHA1
// fingerprints (3) and KRL signatures (4), which OpenSSH itself ignores.
// [KRL.Marshal] writes every list sorted and deduplicated, as ssh-keygen
// does; [Parse] reads what Marshal writes (and OpenSSH's own files of the
// same subset) with bounded work.
package sshkrl

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/ssh"
)

// Format constants of PROTOCOL.krl.
const (
	magic         = 0x5353484b524c0a00 // "SSHKRL\n\0"
	formatVersion = 1

	sectionCertificates = 1
	sectionExplicitKey  = 2
	sectionSHA1         = 3
	sectionSignature    = 4
	sectionSHA256       = 5

	certSerialList   = 0x20
	certSerialRange  = 0x21
	certSerialBitmap = 0x22
	certKeyID        = 0x23
)

// MaxSize bounds what [Parse] reads.
const MaxSize = 16 << 20

// Range is an inclusive range of certificate serials; Min must be >= 1 and
// <= Max.
type Range struct{ Min, Max uint64 }

// CertSection revokes certificates signed by CA (nil: by any CA).
type CertSection struct {
	CA      ssh.PublicKey
	Serials []uint64
	Ranges  []Range
	KeyIDs  []string
}

// KRL is a key revocation list.
type KRL struct {
	// Version increases each time the list changes.
	Version uint64
	// Generated is when it was written (second precision).
	Generated time.Time
	Comment   string
	Certs     []CertSection
	// Keys are revoked outright (plain keys: a certificate's own key, or a
	// CA key, matches too).
	Keys []ssh.PublicKey
	// SHA256 are SHA-256 hashes of revoked keys' wire blobs.
	SHA256 [][32]byte
}

// Fingerprint is the SHA-256 of a key's wire blob (of its plain key for a
// certificate), as a KRL's SHA256 section holds it.
func Fingerprint(k ssh.PublicKey) [32]byte { return sha256.Sum256(plain(k).Marshal()) }

func plain(k ssh.PublicKey) ssh.PublicKey {
	if c, ok := k.(*ssh.Certificate); ok {
		return c.Key
	}
	return k
}

// IsRevoked reports whether k is revoked by this list, with ssh-keygen -Q's
// rules: the key itself (for a certificate, its plain key and its CA key)
// by explicit key or fingerprint, and a certificate by serial or key id
// under its CA.
func (k *KRL) IsRevoked(pub ssh.PublicKey) bool {
	if k.keyRevoked(pub) {
		return true
	}
	c, ok := pub.(*ssh.Certificate)
	if !ok {
		return false
	}
	if k.keyRevoked(c.SignatureKey) {
		return true
	}
	ca := c.SignatureKey.Marshal()
	for _, s := range k.Certs {
		if s.CA != nil && !bytes.Equal(s.CA.Marshal(), ca) {
			continue
		}
		if slices.Contains(s.Serials, c.Serial) || slices.Contains(s.KeyIDs, c.KeyId) {
			return true
		}
		for _, r := range s.Ranges {
			if c.Serial >= r.Min && c.Serial <= r.Max {
				return true
			}
		}
	}
	return false
}

func (k *KRL) keyRevoked(pub ssh.PublicKey) bool {
	blob := plain(pub).Marshal()
	for _, x := range k.Keys {
		if bytes.Equal(plain(x).Marshal(), blob) {
			return true
		}
	}
	return slices.Contains(k.SHA256, sha256.Sum256(blob))
}

// Marshal encodes the list. Lists are written sorted and without
// duplicates; an empty certificate section is left out.
func (k *KRL) Marshal() ([]byte, error) {
	var b []byte
	b = binary.BigEndian.AppendUint64(b, magic)
	b = binary.BigEndian.AppendUint32(b, formatVersion)
	b = binary.BigEndian.AppendUint64(b, k.Version)
	var gen uint64
	if !k.Generated.IsZero() && k.Generated.Unix() > 0 {
		gen = uint64(k.Generated.Unix())
	}
	b = binary.BigEndian.AppendUint64(b, gen)
	b = binary.BigEndian.AppendUint64(b, 0) // flags
	b = appendString(b, nil)                // reserved
	b = appendString(b, []byte(k.Comment))

	for i, s := range k.Certs {
		var sec []byte
		if s.CA != nil {
			if _, ok := s.CA.(*ssh.Certificate); ok {
				return nil, fmt.Errorf("sshkrl: certificate section %d: CA key is a certificate", i)
			}
			sec = appendString(sec, s.CA.Marshal())
		} else {
			sec = appendString(sec, nil)
		}
		sec = appendString(sec, nil) // reserved
		empty := true
		if serials := sortedUnique(s.Serials); len(serials) > 0 {
			if serials[0] == 0 {
				return nil, fmt.Errorf("sshkrl: certificate section %d: serial 0 cannot be revoked", i)
			}
			var sub []byte
			for _, n := range serials {
				sub = binary.BigEndian.AppendUint64(sub, n)
			}
			sec = appendSub(sec, certSerialList, sub)
			empty = false
		}
		ranges := slices.Clone(s.Ranges)
		slices.SortFunc(ranges, func(a, b Range) int {
			if c := cmpU64(a.Min, b.Min); c != 0 {
				return c
			}
			return cmpU64(a.Max, b.Max)
		})
		ranges = slices.Compact(ranges)
		for _, r := range ranges {
			if r.Min == 0 || r.Min > r.Max {
				return nil, fmt.Errorf("sshkrl: certificate section %d: invalid serial range %d-%d", i, r.Min, r.Max)
			}
			sub := binary.BigEndian.AppendUint64(nil, r.Min)
			sub = binary.BigEndian.AppendUint64(sub, r.Max)
			sec = appendSub(sec, certSerialRange, sub)
			empty = false
		}
		if ids := sortedUnique(s.KeyIDs); len(ids) > 0 {
			var sub []byte
			for _, id := range ids {
				sub = appendString(sub, []byte(id))
			}
			sec = appendSub(sec, certKeyID, sub)
			empty = false
		}
		if !empty {
			b = appendSub(b, sectionCertificates, sec)
		}
	}
	if len(k.Keys) > 0 {
		blobs := make([][]byte, 0, len(k.Keys))
		for _, key := range k.Keys {
			blobs = append(blobs, plain(key).Marshal())
		}
		b = appendSub(b, sectionExplicitKey, blobSection(blobs))
	}
	if len(k.SHA256) > 0 {
		blobs := make([][]byte, 0, len(k.SHA256))
		for _, h := range k.SHA256 {
			blobs = append(blobs, h[:])
		}
		b = appendSub(b, sectionSHA256, blobSection(blobs))
	}
	return b, nil
}

func blobSection(blobs [][]byte) []byte {
	slices.SortFunc(blobs, bytes.Compare)
	blobs = slices.CompactFunc(blobs, bytes.Equal)
	var sec []byte
	for _, x := range blobs {
		sec = appendString(sec, x)
	}
	return sec
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sortedUnique[T uint64 | string](xs []T) []T {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

func appendString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendSub(b []byte, typ byte, data []byte) []byte {
	return appendString(append(b, typ), data)
}

// ErrFormat wraps every [Parse] refusal.
var ErrFormat = errors.New("sshkrl: not a KRL of the supported subset")

// reader consumes SSH wire encoding; every read is bounds-checked.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
	}
}

func (r *reader) u64() uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.fail("truncated")
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) u32() uint32 {
	if r.err != nil || len(r.b) < 4 {
		r.fail("truncated")
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail("truncated")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) str() []byte {
	n := r.u32()
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.b)) {
		r.fail("string of %d bytes overruns the input", n)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) empty() bool { return r.err == nil && len(r.b) == 0 }

// Parse decodes a KRL of the subset [KRL.Marshal] writes. Bitmaps, SHA1
// fingerprints, signatures and unknown sections are refused rather than
// skipped, so a list roster reads back is never more lenient than the one
// it means. Work is linear in len(b), which is at most [MaxSize].
func Parse(b []byte) (*KRL, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrFormat, len(b), MaxSize)
	}
	r := &reader{b: b}
	if m := r.u64(); r.err == nil && m != magic {
		return nil, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	if v := r.u32(); r.err == nil && v != formatVersion {
		return nil, fmt.Errorf("%w: format version %d", ErrFormat, v)
	}
	k := &KRL{Version: r.u64()}
	if gen := r.u64(); gen > 0 && gen < 1<<62 {
		k.Generated = time.Unix(int64(gen), 0).UTC()
	}
	if flags := r.u64(); flags != 0 {
		r.fail("flags %#x", flags)
	}
	r.str() // reserved
	k.Comment = string(r.str())
	for r.err == nil && len(r.b) > 0 {
		typ := r.byte()
		sec := &reader{b: r.str()}
		if r.err != nil {
			break
		}
		switch typ {
		case sectionCertificates:
			s, err := parseCertSection(sec)
			if err != nil {
				return nil, err
			}
			k.Certs = append(k.Certs, s)
		case sectionExplicitKey:
			for sec.err == nil && len(sec.b) > 0 {
				blob := sec.str()
				if sec.err != nil {
					break
				}
				key, err := ssh.ParsePublicKey(blob)
				if err != nil {
					return nil, fmt.Errorf("%w: explicit key: %v", ErrFormat, err)
				}
				k.Keys = append(k.Keys, key)
			}
		case sectionSHA256:
			for sec.err == nil && len(sec.b) > 0 {
				h := sec.str()
				if sec.err == nil && len(h) != sha256.Size {
					sec.fail("SHA256 fingerprint of %d bytes", len(h))
				}
				if sec.err == nil {
					k.SHA256 = append(k.SHA256, [32]byte(h))
				}
			}
		case sectionSHA1, sectionSignature:
			return nil, fmt.Errorf("%w: section type %d is not supported", ErrFormat, typ)
		default:
			return nil, fmt.Errorf("%w: unknown section type %d", ErrFormat, typ)
		}
		if sec.err != nil {
			return nil, sec.err
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return k, nil
}

func parseCertSection(sec *reader) (CertSection, error) {
	var s CertSection
	caBlob := sec.str()
	sec.str() // reserved
	if sec.err != nil {
		return s, sec.err
	}
	if len(caBlob) > 0 {
		ca, err := ssh.ParsePublicKey(caBlob)
		if err != nil {
			return s, fmt.Errorf("%w: certificate section CA key: %v", ErrFormat, err)
		}
		if _, ok := ca.(*ssh.Certificate); ok {
			return s, fmt.Errorf("%w: certificate section CA key is a certificate", ErrFormat)
		}
		s.CA = ca
	}
	for sec.err == nil && len(sec.b) > 0 {
		typ := sec.byte()
		sub := &reader{b: sec.str()}
		if sec.err != nil {
			break
		}
		switch typ {
		case certSerialList:
			if len(sub.b)%8 != 0 {
				return s, fmt.Errorf("%w: serial list of %d bytes", ErrFormat, len(sub.b))
			}
			for !sub.empty() {
				n := sub.u64()
				if n == 0 {
					return s, fmt.Errorf("%w: serial 0 in a serial list", ErrFormat)
				}
				s.Serials = append(s.Serials, n)
			}
		case certSerialRange:
			rg := Range{Min: sub.u64(), Max: sub.u64()}
			if sub.err == nil && (rg.Min == 0 || rg.Min > rg.Max || len(sub.b) != 0) {
				return s, fmt.Errorf("%w: invalid serial range", ErrFormat)
			}
			s.Ranges = append(s.Ranges, rg)
		case certKeyID:
			for sub.err == nil && len(sub.b) > 0 {
				id := sub.str()
				if sub.err == nil {
					s.KeyIDs = append(s.KeyIDs, string(id))
				}
			}
		case certSerialBitmap:
			return s, fmt.Errorf("%w: serial bitmaps are not supported", ErrFormat)
		default:
			return s, fmt.Errorf("%w: unknown certificate subsection %#x", ErrFormat, typ)
		}
		if sub.err != nil {
			return s, sub.err
		}
	}
	return s, sec.err
}

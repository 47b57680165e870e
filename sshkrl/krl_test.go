package sshkrl

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"reflect"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func key(t testing.TB) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sample(t testing.TB) *KRL {
	return &KRL{
		Version:   3,
		Generated: time.Unix(1700000000, 0).UTC(),
		Comment:   "roster test",
		Certs: []CertSection{
			{CA: key(t), Serials: []uint64{9, 2, 5}, Ranges: []Range{{10, 20}}, KeyIDs: []string{"spiffe://td/host/a/sa/b"}},
			{Serials: []uint64{77}}, // any CA
		},
		Keys:   []ssh.PublicKey{key(t)},
		SHA256: [][32]byte{Fingerprint(key(t))},
	}
}

func TestRoundTrip(t *testing.T) {
	k := sample(t)
	b, err := k.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 3 || !got.Generated.Equal(k.Generated) || got.Comment != k.Comment || len(got.Certs) != 2 {
		t.Fatalf("header/sections %+v", got)
	}
	if !reflect.DeepEqual(got.Certs[0].Serials, []uint64{2, 5, 9}) || !reflect.DeepEqual(got.Certs[0].Ranges, k.Certs[0].Ranges) ||
		!reflect.DeepEqual(got.Certs[0].KeyIDs, k.Certs[0].KeyIDs) || got.Certs[1].CA != nil ||
		!bytes.Equal(got.Certs[0].CA.Marshal(), k.Certs[0].CA.Marshal()) {
		t.Errorf("cert sections %+v", got.Certs)
	}
	if len(got.Keys) != 1 || !bytes.Equal(got.Keys[0].Marshal(), k.Keys[0].Marshal()) || got.SHA256[0] != k.SHA256[0] {
		t.Errorf("keys %v, sha256 %x", got.Keys, got.SHA256)
	}
	again, err := got.Marshal()
	if err != nil || !bytes.Equal(again, b) {
		t.Errorf("re-marshal differs: %v", err)
	}
}

func TestIsRevoked(t *testing.T) {
	caKey := key(t)
	k := &KRL{Certs: []CertSection{{CA: caKey, Serials: []uint64{5}, Ranges: []Range{{10, 12}}, KeyIDs: []string{"gone"}}}}
	for _, tc := range []struct {
		name   string
		serial uint64
		keyID  string
		ca     ssh.PublicKey
		want   bool
	}{
		{"serial", 5, "x", caKey, true},
		{"range", 11, "x", caKey, true},
		{"key id", 6, "gone", caKey, true},
		{"other serial", 6, "x", caKey, false},
		{"other CA", 5, "gone", key(t), false},
	} {
		c := &ssh.Certificate{Key: key(t), Serial: tc.serial, KeyId: tc.keyID, SignatureKey: tc.ca}
		if got := k.IsRevoked(c); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	plainKey := key(t)
	k.Keys = []ssh.PublicKey{plainKey}
	if !k.IsRevoked(plainKey) || !k.IsRevoked(&ssh.Certificate{Key: plainKey, SignatureKey: caKey}) || k.IsRevoked(key(t)) {
		t.Error("explicit key")
	}
}

func TestMarshalRefuses(t *testing.T) {
	for name, k := range map[string]*KRL{
		"serial 0":       {Certs: []CertSection{{Serials: []uint64{0}}}},
		"range reversed": {Certs: []CertSection{{Ranges: []Range{{5, 4}}}}},
		"range from 0":   {Certs: []CertSection{{Ranges: []Range{{0, 4}}}}},
	} {
		if _, err := k.Marshal(); err == nil {
			t.Errorf("%s: marshalled", name)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	good, err := sample(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bad := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, b := range map[string][]byte{
		"empty":     nil,
		"magic":     bad(func(b []byte) []byte { b[0] = 'X'; return b }),
		"version":   bad(func(b []byte) []byte { b[11] = 2; return b }),
		"truncated": good[:len(good)-3],
		"section":   append(bytes.Clone(good), 9, 0, 0, 0, 0),
		"sha1":      append(bytes.Clone(good), sectionSHA1, 0, 0, 0, 0),
		"overrun":   append(bytes.Clone(good), sectionExplicitKey, 0xff, 0xff, 0xff, 0xff),
		"too big":   make([]byte, MaxSize+1),
	} {
		if _, err := Parse(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzParseKRL: Parse never panics, and whatever it accepts marshals and
// parses back to the same list.
func FuzzParseKRL(f *testing.F) {
	good, err := sample(f).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	empty, _ := (&KRL{}).Marshal()
	f.Add(empty)
	f.Add([]byte("SSHKRL\n\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := Parse(b)
		if err != nil {
			return
		}
		out, err := k.Marshal()
		if err != nil {
			return // e.g. duplicate ranges are compacted; nothing to compare
		}
		k2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of marshalled KRL: %v", err)
		}
		out2, err := k2.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("marshal not stable: %v", err)
		}
	})
}

// Package passkeytest is a software FIDO2 authenticator for tests of
// roster's passkeys: [New] makes one (an ES256 key, a credential ID and a
// signature counter), [Authenticator.Create] and [Authenticator.Get] answer
// a ceremony's options as a browser would, with attestation "none". The
// answers go through go-webauthn's full verification in access; the
// browser test (server) uses Chromium's own virtual authenticator.
//
// It imports nothing of roster, so that access's own tests can use it.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"
)

// Authenticator holds one passkey. Tests may change any field to forge a
// bad answer: another Origin or RPID, another Key, a Count set back.
type Authenticator struct {
	Key    *ecdsa.PrivateKey
	CredID []byte
	// Handle is the user handle the relying party gave at registration.
	Handle []byte
	// Count is the signature counter; Get adds one before it signs.
	Count  uint32
	Origin string
	RPID   string
	// GetType is the client data type of a sign-in ("": webauthn.get).
	GetType string
}

// New returns an authenticator with a new key for a relying party with ID
// rpID, used from origin.
func New(t testing.TB, origin, rpID string) *Authenticator {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &Authenticator{Key: k, CredID: id, Origin: origin, RPID: rpID}
}

var b64 = base64.RawURLEncoding

// options is the part of a ceremony's options an authenticator reads.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func readOptions(t testing.TB, raw []byte) options {
	t.Helper()
	var o options
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("ceremony options: %v: %s", err, raw)
	}
	return o
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

// authData is the authenticator data: RP ID hash, flags (user present and
// verified), counter, and with attested set the credential and its key.
func (a *Authenticator) authData(attested bool) []byte {
	h := sha256.Sum256([]byte(a.RPID))
	flags := byte(0x01 | 0x04)
	if attested {
		flags |= 0x40
	}
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.Count)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID
		out = binary.BigEndian.AppendUint16(out, uint16(len(a.CredID)))
		out = append(out, a.CredID...)
		out = append(out, a.coseKey()...)
	}
	return out
}

// CBOR, as little as an authenticator needs (RFC 8949): heads, integers,
// byte and text strings, maps.
func cborHead(major byte, n int) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 256:
		return []byte{major<<5 | 24, byte(n)}
	default:
		return []byte{major<<5 | 25, byte(n >> 8), byte(n)}
	}
}

func cborInt(n int) []byte {
	if n < 0 {
		return cborHead(1, -1-n)
	}
	return cborHead(0, n)
}

func cborBytes(b []byte) []byte { return append(cborHead(2, len(b)), b...) }
func cborText(s string) []byte  { return append(cborHead(3, len(s)), s...) }

func cborMap(pairs ...[]byte) []byte {
	out := cborHead(5, len(pairs)/2)
	for _, p := range pairs {
		out = append(out, p...)
	}
	return out
}

// coseKey is the EC2 P-256 public key as a COSE_Key (RFC 9053).
func (a *Authenticator) coseKey() []byte {
	pub, err := a.Key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err) // a P-256 key from GenerateKey always encodes
	}
	x, y := pub[1:33], pub[33:65]
	return cborMap(cborInt(1), cborInt(2), cborInt(3), cborInt(-7), cborInt(-1), cborInt(1), cborInt(-2), cborBytes(x), cborInt(-3), cborBytes(y))
}

// Create answers the options of a registration ceremony ({"publicKey":
// ...}) and keeps the user handle they give.
func (a *Authenticator) Create(t testing.TB, opts []byte) []byte {
	t.Helper()
	o := readOptions(t, opts)
	h, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.Handle = h
	att := cborMap(cborText("fmt"), cborText("none"), cborText("attStmt"), cborMap(), cborText("authData"), cborBytes(a.authData(true)))
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredID), "rawId": b64.EncodeToString(a.CredID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
	})
	return b
}

// Get answers the options of a sign-in ceremony, counting one more
// signature.
func (a *Authenticator) Get(t testing.TB, opts []byte) []byte {
	t.Helper()
	o := readOptions(t, opts)
	a.Count++
	ad := a.authData(false)
	typ := a.GetType
	if typ == "" {
		typ = "webauthn.get"
	}
	cd := a.clientData(typ, o.PublicKey.Challenge)
	cdh := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredID), "rawId": b64.EncodeToString(a.CredID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.Handle),
		},
	})
	return b
}

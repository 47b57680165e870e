package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func validReport() *Report {
	age := 40
	return &Report{
		SchemaVersion: SchemaVersion,
		Scanner:       Scanner{Name: "roster", Version: "test"},
		Host:          Host{Hostname: "web-01", MachineID: "0123456789abcdef0123456789abcdef", ScannedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Root: "/", Live: true},
		Accounts: []Account{
			{Name: "billing", UID: 1001, Kind: KindService, KindEvidence: []string{"systemd unit"}, Password: Password{Status: "usable", Algorithm: "yescrypt", AgeDays: &age},
				Credentials: []Credential{
					{Type: CredPassword, Location: "/etc/shadow:12", Fingerprint: "hmac-sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
					{Type: CredSSHAuthorizedKey, Location: "/home/billing/.ssh/authorized_keys:1", Fingerprint: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", Algorithm: "ssh-ed25519"},
					{Type: CredEmptyPassword, Location: "/etc/shadow:13"},
				},
				UsedBy:   []Usage{{Type: UsageSystemd, Name: "billing.service"}},
				Exposure: Exposure{Listening: []Socket{{Proto: "tcp", Address: "0.0.0.0", Port: 8080}}}},
			{Name: "nobody", UID: 65534, Kind: KindSystem, Password: Password{Status: "none"}},
		},
	}
}

func encode(t testing.TB, r *Report) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecode(t *testing.T) {
	ok := encode(t, validReport())
	edit := func(f func(r *Report)) []byte {
		r := validReport()
		f(r)
		return encode(t, r)
	}
	for _, tc := range []struct {
		desc     string
		in       []byte
		max      int64
		field    string // "" with reason: document-level error
		reason   string
		tooLarge bool
	}{
		{desc: "valid", in: ok},
		{desc: "unknown fields are ignored", in: bytes.Replace(ok, []byte(`"scanner":`), []byte(`"future_field":{"x":1},"scanner":`), 1)},
		{desc: "too large", in: ok, max: 100, reason: "larger than 100 bytes", tooLarge: true},
		{desc: "unknown version", in: edit(func(r *Report) { r.SchemaVersion = 2 }), field: "schema_version", reason: "unsupported version 2"},
		{desc: "no version", in: []byte(`{"host":{}}`), field: "schema_version", reason: "missing"},
		{desc: "not JSON", in: []byte("{\n\"schema_version\": 1,\n oops}"), reason: "malformed JSON at line 3"},
		{desc: "truncated", in: ok[:len(ok)/2], reason: ""},
		{desc: "trailing data", in: append(append([]byte{}, ok...), []byte(`{}`)...), reason: "unexpected data after the report"},
		{desc: "wrong type", in: bytes.Replace(ok, []byte(`"uid":1001`), []byte(`"uid":"1001"`), 1), field: "accounts.uid", reason: "expected int"},
		{desc: "unknown credential type", in: edit(func(r *Report) { r.Accounts[0].Credentials[1].Type = "x" }), field: "accounts[0].credentials[1].type", reason: `unknown credential type "x"`},
		{desc: "raw secret instead of a fingerprint", in: edit(func(r *Report) { r.Accounts[0].Credentials[0].Fingerprint = "hunter2" }), field: "accounts[0].credentials[0].fingerprint", reason: "not a fingerprint"},
		{desc: "missing fingerprint", in: edit(func(r *Report) { r.Accounts[0].Credentials[0].Fingerprint = "" }), field: "accounts[0].credentials[0].fingerprint", reason: "missing"},
		{desc: "no hostname", in: edit(func(r *Report) { r.Host.Hostname = "" }), field: "host.hostname", reason: "missing"},
		{desc: "hostname with a NUL", in: edit(func(r *Report) { r.Host.Hostname = "a\x00b" }), field: "host.hostname", reason: "control characters"},
		{desc: "no scan time", in: edit(func(r *Report) { r.Host.ScannedAt = time.Time{} }), field: "host.scanned_at", reason: "missing"},
		{desc: "duplicate account", in: edit(func(r *Report) { r.Accounts[1].Name = "billing" }), field: "accounts[1].name", reason: "duplicate account"},
		{desc: "unknown kind", in: edit(func(r *Report) { r.Accounts[1].Kind = "robot" }), field: "accounts[1].kind", reason: "unknown account kind"},
		{desc: "unknown usage", in: edit(func(r *Report) { r.Accounts[0].UsedBy[0].Type = "at" }), field: "accounts[0].used_by[0].type", reason: "unknown usage type"},
		{desc: "negative usage count", in: edit(func(r *Report) { r.Accounts[0].UsedBy[0].Count = -1 }), field: "accounts[0].used_by[0].count", reason: "negative"},
		{desc: "bad port", in: edit(func(r *Report) { r.Accounts[0].Exposure.Listening[0].Port = 70000 }), field: "accounts[0].exposure.listening[0].port", reason: "out of range"},
		{desc: "bad password status", in: edit(func(r *Report) { r.Accounts[0].Password.Status = "weird" }), field: "accounts[0].password.status", reason: "unknown password status"},
		{desc: "bad shared fingerprint", in: edit(func(r *Report) { r.Shared = []SharedCredential{{Fingerprint: "x"}} }), field: "shared_credentials[0].fingerprint", reason: "not a fingerprint"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r, err := Decode(bytes.NewReader(tc.in), tc.max)
			if tc.field == "" && tc.reason == "" && tc.desc == "valid" || tc.desc == "unknown fields are ignored" {
				if err != nil || r.Host.Hostname != "web-01" || len(r.Accounts) != 2 {
					t.Fatalf("Decode = %v, %v", r, err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if ve.Field != tc.field || !strings.Contains(ve.Reason, tc.reason) {
				t.Errorf("field %q reason %q, want %q containing %q", ve.Field, ve.Reason, tc.field, tc.reason)
			}
			if errors.Is(err, ErrTooLarge) != tc.tooLarge {
				t.Errorf("ErrTooLarge = %v", errors.Is(err, ErrTooLarge))
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error quotes the secret: %v", err)
			}
		})
	}
}

func TestValidateMessage(t *testing.T) {
	r := validReport()
	r.Accounts = append(r.Accounts, r.Accounts[0], r.Accounts[0], Account{Name: "x", Kind: KindService, Credentials: []Credential{{Type: "x", Fingerprint: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"}}})
	r.Accounts[2].Name, r.Accounts[3].Name = "a1", "a2"
	err := Validate(r)
	if err == nil || err.Error() != `accounts[4].credentials[0].type: unknown credential type "x"` {
		t.Errorf("Validate = %v", err)
	}
}

// FuzzDecode checks that Decode never panics, that every failure is a
// *ValidationError (or a read error), and that what it accepts survives a
// JSON round trip unchanged and still validates.
func FuzzDecode(f *testing.F) {
	seeds := [][]byte{
		encode(f, validReport()),
		[]byte(`{"schema_version":1,"host":{"hostname":"h","scanned_at":"2026-01-01T00:00:00Z"},"accounts":[]}`),
		[]byte(`{"schema_version":1}`),
		[]byte(`{"schema_version":2}`),
		[]byte(`[]`),
		[]byte(`{"schema_version":1,"host":{"hostname":"h","scanned_at":"2026-01-01T00:00:00Z"},"accounts":[{"name":"a","kind":"service","password":{"status":"none"},"credentials":[{"type":"password","fingerprint":"hmac-sha256:AAAAAAAAAAAAAAAAAAAA"}]}]}`),
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := Decode(bytes.NewReader(in), 1<<16)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("non-validation error %T: %v", err, err)
			}
			return
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := Decode(bytes.NewReader(b), 1<<20)
		if err != nil {
			t.Fatalf("re-encoded report refused: %v", err)
		}
		b2, _ := json.Marshal(r2)
		if !bytes.Equal(b, b2) {
			t.Fatalf("round trip changed the report:\n%s\n%s", b, b2)
		}
	})
}

// BenchmarkDecode reads a report of 30 accounts, the size the inventory
// benchmark ingests.
func BenchmarkDecode(b *testing.B) {
	r := validReport()
	for len(r.Accounts) < 30 {
		a := r.Accounts[0]
		a.Name = strings.Repeat("x", len(r.Accounts)+1)
		r.Accounts = append(r.Accounts, a)
	}
	in := encode(b, r)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(in), 0); err != nil {
			b.Fatal(err)
		}
	}
}

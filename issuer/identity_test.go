package issuer

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		desc, in string
		want     ID
		wantErr  string
	}{
		{"account", "spiffe://roster.local/host/web1/sa/billing-batch", ID{"roster.local", "web1", "billing-batch"}, ""},
		{"host", "spiffe://roster.local/host/web1.example.com", ID{"roster.local", "web1.example.com", ""}, ""},
		{"underscores and caps", "spiffe://td/host/Web_1/sa/svc_App-2", ID{"td", "Web_1", "svc_App-2"}, ""},
		{"other scheme", "https://roster.local/host/web1", ID{}, "does not start with spiffe://"},
		{"no path", "spiffe://roster.local", ID{}, "no path"},
		{"empty host", "spiffe://roster.local/host//sa/x", ID{}, `host name "": empty`},
		{"empty account", "spiffe://roster.local/host/web1/sa/", ID{}, `account name "": empty`},
		{"dot dot", "spiffe://roster.local/host/web1/sa/..", ID{}, "may not start with"},
		{"trailing slash", "spiffe://roster.local/host/web1/", ID{}, "path must be"},
		{"extra segment", "spiffe://roster.local/host/web1/sa/x/y", ID{}, "path must be"},
		{"wrong keyword", "spiffe://roster.local/node/web1", ID{}, "path must be"},
		{"percent", "spiffe://roster.local/host/web%2F1", ID{}, "not allowed"},
		{"query", "spiffe://roster.local/host/web1?x=1", ID{}, "not allowed"},
		{"upper trust domain", "spiffe://Roster.local/host/web1", ID{}, "trust domain"},
		{"port", "spiffe://roster.local:8443/host/web1", ID{}, "trust domain"},
		{"user", "spiffe://u@roster.local/host/web1", ID{}, "trust domain"},
		{"dollar account", "spiffe://roster.local/host/web1/sa/machine$", ID{}, "not allowed"},
		{"too long account", "spiffe://roster.local/host/web1/sa/" + strings.Repeat("a", 65), ID{}, "longer than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ParseID(tt.in)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrBadID) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v %v, want %+v", got, err, tt.want)
			}
			if got.String() != tt.in || got.URL().String() != tt.in {
				t.Errorf("round trip: %s / %s", got.String(), got.URL())
			}
		})
	}
}

func TestParseURL(t *testing.T) {
	for _, s := range []string{"spiffe://td/host/h#frag", "spiffe://td/host/h?", "spiffe://td/host/h%41"} {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseURL(u); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
	if _, err := ParseURL(nil); err == nil {
		t.Error("nil accepted")
	}
}

func TestIDNames(t *testing.T) {
	a := ID{"td", "web1", "svc"}
	h := ID{"td", "web1", ""}
	if a.CommonName() != "svc" || h.CommonName() != "web1" || !h.IsHost() || a.IsHost() ||
		a.Label() != "account svc on host web1" || h.Label() != "host web1" {
		t.Errorf("%v %v", a, h)
	}
}

// FuzzParseID: no panic, every failure wraps ErrBadID, every success round
// trips through String and URL.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{
		"spiffe://roster.local/host/web1/sa/billing-batch", "spiffe://roster.local/host/web1",
		"spiffe://td/host//sa/", "spiffe://td/host/../sa/x", "spiffe://", "spiffe://td/host/h%2F",
		"https://x/host/y", "spiffe://td/host/h/sa/x/y", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			if !errors.Is(err, ErrBadID) {
				t.Fatalf("error does not wrap ErrBadID: %v", err)
			}
			return
		}
		if id.String() != s {
			t.Fatalf("round trip %q -> %q", s, id.String())
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted %q but url.Parse fails: %v", s, err)
		}
		back, err := ParseURL(u)
		if err != nil || back != id {
			t.Fatalf("ParseURL(%q) = %+v, %v", s, back, err)
		}
	})
}

func testCSRPEM(t testing.TB) []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestParseCSR(t *testing.T) {
	good := testCSRPEM(t)
	block, _ := pem.Decode(good)
	tampered := append([]byte(nil), block.Bytes...)
	tampered[len(tampered)-3] ^= 0xff
	tests := []struct {
		desc    string
		in      []byte
		wantErr string
	}{
		{"good", good, ""},
		{"good with whitespace", append([]byte("\n\n"), append(good, "\n\n"...)...), ""},
		{"NEW CERTIFICATE REQUEST", pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Bytes: block.Bytes}), ""},
		{"empty", nil, "no PEM block"},
		{"certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes}), "want CERTIFICATE REQUEST"},
		{"trailing data", append(append([]byte(nil), good...), "junk"...), "data after"},
		{"two blocks", append(append([]byte(nil), good...), good...), "data after"},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1, 2, 3}}), "not a certificate request"},
	}
	// A bad signature parses; checkCSR, which every issuance runs,
	// refuses it.
	bad, err := ParseCSR(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered}))
	if err != nil {
		t.Fatalf("tampered CSR: %v", err)
	}
	if err := checkCSR(bad); err == nil || !strings.Contains(err.Error(), "signature does not verify") {
		t.Errorf("checkCSR of a tampered CSR: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := ParseCSR(tt.in)
			if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzParseCSR: no panic; an accepted CSR is the DER of its one PEM
// block, and checkCSR passes it only with a verified signature.
func FuzzParseCSR(f *testing.F) {
	good := testCSRPEM(f)
	f.Add(good)
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add([]byte(""))
	f.Add(append(append([]byte(nil), good...), good...))
	f.Fuzz(func(t *testing.T, b []byte) {
		csr, err := ParseCSR(b)
		if err != nil {
			return
		}
		if block, _ := pem.Decode(b); block == nil || !bytes.Equal(csr.Raw, block.Bytes) {
			t.Fatal("accepted a CSR that is not its PEM block's DER")
		}
		if checkCSR(csr) == nil && csr.CheckSignature() != nil {
			t.Fatal("checkCSR passed a CSR whose signature does not verify")
		}
	})
}

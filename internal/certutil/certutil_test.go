package certutil

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"
)

// testdata/root.pem is a self-signed certificate; its fingerprint below is
// what `openssl x509 -noout -fingerprint -sha256` printed for it, without
// the colons and in lowercase.
const rootFingerprint = "60f659326e35362a4d9d840f1b5c0624d10ab0d85bfb26abfa4f682c0b004afc"

func TestFingerprint(t *testing.T) {
	b, err := os.ReadFile("testdata/root.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("testdata/root.pem holds no PEM block")
	}
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		cert *x509.Certificate
		want string
	}{
		{desc: "certificate, as openssl prints it", cert: root, want: rootFingerprint},
		{desc: "empty DER", cert: &x509.Certificate{}, want: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{desc: "three bytes", cert: &x509.Certificate{Raw: []byte("abc")}, want: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		got := Fingerprint(tt.cert)
		if got != tt.want {
			t.Errorf("%s: Fingerprint = %s, want %s", tt.desc, got, tt.want)
		}
		if len(got) != 64 || strings.ToLower(got) != got {
			t.Errorf("%s: %q is not 64 lowercase hex digits", tt.desc, got)
		}
	}
}

package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// otherRoot writes a self-signed root that the server does not chain to.
func otherRoot(t *testing.T) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "another root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "root.crt")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func hintOf(t *testing.T, err error) string {
	t.Helper()
	var h interface{ Hint() string }
	if !errors.As(err, &h) {
		t.Fatalf("%v has no hint", err)
	}
	return h.Hint()
}

// TestConnectHints: each way of not reaching the server says what is wrong
// and how to fix it (issue 15, first run).
func TestConnectHints(t *testing.T) {
	_, cfg := startServer(t)
	ctx := context.Background()

	t.Run("wrong root", func(t *testing.T) {
		c := cfg
		c.CARoot = otherRoot(t)
		err := New(c).Report(ctx, "table", io.Discard)
		if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("err = %v", err)
		}
		h := hintOf(t, err)
		for _, want := range []string{"does not chain to ROSTER_CA_ROOT=" + c.CARoot, "export ROSTER_CA_ROOT=DATA/root.crt", cfg.Server, "roster server"} {
			if !strings.Contains(h, want) {
				t.Errorf("hint %q lacks %q", h, want)
			}
		}
		if strings.Contains(h, "running") {
			t.Errorf("hint %q asks whether the server runs: it answered", h)
		}
	})

	t.Run("http URL", func(t *testing.T) {
		// Nothing is sent, so the token does not travel in the clear.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan struct{}, 1)
		go func() {
			if c, err := ln.Accept(); err == nil {
				accepted <- struct{}{}
				c.Close()
			}
		}()
		c := cfg
		c.Server = "http://" + ln.Addr().String()
		err = New(c).Report(ctx, "table", io.Discard)
		if err == nil || !strings.Contains(err.Error(), "HTTPS only") {
			t.Fatalf("err = %v", err)
		}
		if h := hintOf(t, err); !strings.Contains(h, "use https://") || !strings.Contains(h, "ROSTER_SERVER=https://"+ln.Addr().String()) {
			t.Errorf("hint %q", h)
		}
		select {
		case <-accepted:
			t.Error("the client connected to an http:// URL")
		case <-time.After(100 * time.Millisecond):
		}
	})

	t.Run("not TLS", func(t *testing.T) {
		plain := httptest.NewServer(http.NotFoundHandler())
		defer plain.Close()
		c := cfg
		c.Server = strings.Replace(plain.URL, "http://", "https://", 1)
		err := New(c).Report(ctx, "table", io.Discard)
		if h := hintOf(t, err); !strings.Contains(h, "does not speak TLS") {
			t.Errorf("%v: hint %q", err, h)
		}
	})

	t.Run("nothing listening", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		c := cfg
		c.Server = "https://" + addr
		err := New(c).Report(ctx, "table", io.Discard)
		if h := hintOf(t, err); !strings.Contains(h, "is the server running?") || !strings.Contains(h, addr) {
			t.Errorf("%v: hint %q", err, h)
		}
	})
}

// TestConnectHintCertificates: a certificate for other names, or one out
// of date by this machine's clock.
func TestConnectHintCertificates(t *testing.T) {
	c := New(Config{Server: "https://10.1.2.3:8443", CARoot: "root.crt"})
	cert := &x509.Certificate{DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	wrap := func(e error) error {
		return &url.Error{Op: "Get", URL: "https://10.1.2.3:8443/v1/report", Err: &tls.CertificateVerificationError{Err: e}}
	}
	if h := c.connectHint(wrap(x509.HostnameError{Certificate: cert, Host: "10.1.2.3"})); !strings.Contains(h, "not valid for 10.1.2.3") ||
		!strings.Contains(h, "localhost, 127.0.0.1") {
		t.Errorf("hostname: %q", h)
	}
	if h := c.connectHint(wrap(x509.CertificateInvalidError{Cert: cert, Reason: x509.Expired})); !strings.Contains(h, "clock") {
		t.Errorf("expired: %q", h)
	}
}

func TestCheckServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://127.0.0.1:8443": "",
		"http://127.0.0.1:8443":  "HTTPS only",
		"127.0.0.1:8443":         "HTTPS only",
		"https://":               "not a URL",
		"https://%zz":            "not a URL",
	} {
		err := checkServerURL(in)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

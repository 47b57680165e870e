package ca

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	catest "github.com/rosterhq/roster/ca/internal/csrtest"
)

// serveTLS runs h over real HTTPS on 127.0.0.1 with the CA's server
// certificate and returns a client that trusts only the CA's root.
func serveTLS(t *testing.T, c *CA, h http.Handler) (*httptest.Server, *http.Client) {
	t.Helper()
	sc, err := c.ServerCertificate([]string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{*sc}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(c.Root())
	return srv, &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func get(t *testing.T, cl *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestHandler(t *testing.T) {
	c := newCA(t, Options{})
	srv, cl := serveTLS(t, c, c.Handler())

	_, b := get(t, cl, srv.URL+"/roots.pem")
	if block, _ := pem.Decode(b); block == nil || string(block.Bytes) != string(c.Root().Raw) {
		t.Errorf("/roots.pem: %q", b)
	}

	// step-ca's RootsResponse shape: {"crts": [PEM]}.
	resp, b := get(t, cl, srv.URL+"/1.0/roots")
	var roots struct {
		Crts []string `json:"crts"`
	}
	if err := json.Unmarshal(b, &roots); err != nil || resp.StatusCode != 200 || len(roots.Crts) != 1 {
		t.Fatalf("/1.0/roots: %v %s", err, b)
	}
	if block, _ := pem.Decode([]byte(roots.Crts[0])); block == nil || string(block.Bytes) != string(c.Root().Raw) {
		t.Errorf("/1.0/roots: %s", b)
	}

	resp, b = get(t, cl, srv.URL+"/health")
	if resp.StatusCode != 200 || string(b) != "{\"status\":\"ok\"}\n" {
		t.Errorf("/health: %d %s", resp.StatusCode, b)
	}

	chain, err := c.Sign(context.Background(), catest.CSR(t, catest.Key(t, "EC", 0), "x"), identity(t, c.TrustDomain(), "h", "x"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(context.Background(), chain[0].SerialNumber.String(), ""); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/crl", "/1.0/crl"} {
		resp, b = get(t, cl, srv.URL+path)
		if ct := resp.Header.Get("Content-Type"); ct != "application/pkix-crl" {
			t.Errorf("%s: content type %q", path, ct)
		}
		crl, err := x509.ParseRevocationList(b)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := crl.CheckSignatureFrom(c.Intermediate()); err != nil {
			t.Error(err)
		}
		if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(chain[0].SerialNumber) != 0 {
			t.Errorf("%s: entries %v", path, crl.RevokedCertificateEntries)
		}
	}
	_, b = get(t, cl, srv.URL+"/crl?format=pem")
	if block, _ := pem.Decode(b); block == nil || block.Type != "X509 CRL" {
		t.Errorf("/crl?format=pem: %q", b)
	}
	resp, _ = get(t, cl, srv.URL+"/nope")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/nope: %d", resp.StatusCode)
	}
}

func TestServerCertificate(t *testing.T) {
	c := newCA(t, Options{})
	a, err := c.ServerCertificate([]string{"localhost", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := a.Leaf
	if err := leaf.CheckSignatureFrom(c.Intermediate()); err != nil {
		t.Fatal(err)
	}
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "localhost" || len(leaf.IPAddresses) != 1 ||
		!leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("server cert names %v %v eku %v", leaf.DNSNames, leaf.IPAddresses, leaf.ExtKeyUsage)
	}
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got < ServerValidity {
		t.Errorf("validity %s", got)
	}
	// Same names in another order: reused from DIR.
	b, err := c.ServerCertificate([]string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Leaf.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Error("server certificate reissued for the same names")
	}
	// Changed names: reissued.
	d, err := c.ServerCertificate([]string{"roster.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Leaf.SerialNumber.Cmp(leaf.SerialNumber) == 0 || d.Leaf.DNSNames[0] != "roster.example.com" {
		t.Error("server certificate not reissued for new names")
	}
	if _, err := c.ServerCertificate([]string{"bad name/"}); err == nil {
		t.Error("bad name accepted")
	}
}

func TestServerCertificateRenewedNearExpiry(t *testing.T) {
	dir := t.TempDir()
	c := initOpen(t, dir, Options{})
	a, err := c.ServerCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	later := a.Leaf.NotAfter.Add(-ServerValidity / 4)
	c, err = Open(dir, Options{Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, err := c.ServerCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Leaf.SerialNumber.Cmp(a.Leaf.SerialNumber) == 0 {
		t.Error("server certificate with a quarter of its life left was not renewed")
	}
}

func TestServerTLSConfigRenewsInFlight(t *testing.T) {
	var off atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(off.Load())) }
	c := newCA(t, Options{Now: now})
	cfg, err := c.ServerTLSConfig([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ClientAuth != tls.RequestClientCert {
		t.Errorf("tls config %v %v", cfg.MinVersion, cfg.ClientAuth)
	}
	// Not StartTLS: httptest would add its own certificate to
	// cfg.Certificates, which Go prefers over GetCertificate when the client
	// sends no SNI (as for an IP address).
	srv := httptest.NewUnstartedServer(c.Handler())
	srv.Listener = tls.NewListener(srv.Listener, cfg)
	srv.Start()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(c.Root())
	// A client that would resume if it could: the server never lets it, so
	// a renewal always authenticates with the certificate it presents now.
	sessions := tls.NewLRUClientSessionCache(4)
	serial := func() string {
		conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Time: now, ClientSessionCache: sessions})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Read so that a TLS 1.3 session ticket, if any, would arrive.
		conn.Write([]byte("GET /health HTTP/1.0\r\n\r\n"))
		io.ReadAll(conn)
		if conn.ConnectionState().DidResume {
			t.Error("a TLS session was resumed")
		}
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	a := serial()
	if b := serial(); b != a {
		t.Error("certificate changed without need")
	}
	off.Store(int64(ServerValidity * 3 / 4))
	if b := serial(); b == a {
		t.Error("certificate not renewed in flight after three quarters of its life")
	}
}

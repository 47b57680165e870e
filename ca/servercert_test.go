package ca

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

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
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	}))
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

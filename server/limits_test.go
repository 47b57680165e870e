package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/issuer/issuertest"
)

// serving is Server.Serve on a real listener on 127.0.0.1.
type serving struct {
	addr  string
	roots *x509.CertPool
	token string // an operator token
}

func serve(t *testing.T, lim Limits) *serving {
	t.Helper()
	ie := issuertest.New(t, true)
	s, err := New(Options{Inventory: ie.Inv, Issuer: ie.Iss, CA: ie.CA, Limits: lim, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ie.CA.ServerTLSConfig([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	plain, _, err := access.New(ie.Inv.Store(), nil).Create(audit.WithActor(ctx, "test"), "ops", access.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ie.CA.Root())
	return &serving{addr: ln.Addr().String(), roots: roots, token: plain}
}

// dialTLS opens an HTTP/1.1 TLS connection from local (nil: any).
func (sv *serving) dialTLS(t *testing.T, local net.Addr) *tls.Conn {
	t.Helper()
	d := &net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", sv.addr, &tls.Config{RootCAs: sv.roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reads from c until the server closes it, and reports how
// long that took and what the server answered; it fails the test after
// limit.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) (time.Duration, string) {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(limit))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %s (read %q)", limit, b)
	}
	return time.Since(start), string(b)
}

// TestStalledBodyDisconnected: a client that sends the headers of a
// 60,000-byte body and then a few bytes of it, and stalls, is disconnected
// once BodyStallTimeout passes: on a route that reads the body, on one
// that reads none, and on a path that is no route at all.
func TestStalledBodyDisconnected(t *testing.T) {
	const stall = 300 * time.Millisecond
	sv := serve(t, Limits{BodyStallTimeout: stall, BodyReadTimeout: 5 * time.Second, LargeBodyReadTimeout: 5 * time.Second})
	for _, tc := range []struct{ desc, method, path string }{
		{"scan submission (reads its body)", "POST", "/v1/scans"},
		{"owner change (reads its body)", "PUT", "/v1/accounts/billing-batch/owner"},
		{"renewal (reads none)", "POST", "/1.0/renew"},
		{"no such route", "POST", "/nowhere"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := sv.dialTLS(t, nil)
			head := tc.method + " " + tc.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + sv.token +
				"\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{\"sche"
			if _, err := io.WriteString(c, head); err != nil {
				t.Fatal(err)
			}
			took, answer := closedWithin(t, c, 10*time.Second)
			if took < stall/2 || took > 5*time.Second {
				t.Errorf("disconnected after %s, want about %s", took, stall)
			}
			if answer != "" {
				status, _, _ := strings.Cut(answer, "\r\n")
				t.Logf("answered %q before closing", status)
			}
		})
	}
	// A client that keeps sending, slowly, gets at most BodyReadTimeout.
	// And one that sends its body in time is served.
	c := sv.dialTLS(t, nil)
	body := `{"name":"team-x"}`
	io.WriteString(c, "PUT /v1/accounts/billing-batch/owner HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "+sv.token+
		"\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 17\r\n\r\n")
	for i := range len(body) {
		time.Sleep(stall / 5)
		io.WriteString(c, body[i:i+1])
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("a slow but steady body: %v %v", resp, err)
	}
}

func TestDefaultLimits(t *testing.T) {
	d := Limits{}.withDefaults()
	// Issue 15: a client stalled mid-body is disconnected within 30 s.
	if d.BodyStallTimeout <= 0 || d.BodyStallTimeout > 30*time.Second || d.ReadHeaderTimeout > 30*time.Second {
		t.Errorf("default stall %s, header %s: want at most 30 s", d.BodyStallTimeout, d.ReadHeaderTimeout)
	}
	if d.BodyReadTimeout < d.BodyStallTimeout || d.LargeBodyReadTimeout < d.BodyReadTimeout || d.MaxConnsPerSource > d.MaxConns {
		t.Errorf("inconsistent defaults %+v", d)
	}
	if n := (Limits{MaxConns: -1, BodyStallTimeout: -time.Second}).withDefaults(); n.MaxConns != DefaultMaxConns || n.BodyStallTimeout != DefaultBodyStallTimeout {
		t.Errorf("negative limits: %+v", n)
	}
}

// TestConnectionCapPerSource: with MaxConnsPerSource 2, a third
// connection from 127.0.0.1 is closed at once while 127.0.0.2 (loopback
// too) is still served, and a slot freed is usable again.
func TestConnectionCapPerSource(t *testing.T) {
	sv := serve(t, Limits{MaxConnsPerSource: 2, MaxConns: 3})
	src1 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	src2 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	dial := func(local *net.TCPAddr) net.Conn {
		c, err := (&net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}).Dial("tcp", sv.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// open reports whether the server keeps c open (it waits for a TLS
	// handshake) rather than closing it.
	open := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}
	a, b := dial(src1), dial(src1)
	if !open(a) || !open(b) {
		t.Fatal("connections within the cap were closed")
	}
	if c := dial(src1); open(c) {
		t.Error("a third connection from 127.0.0.1 was kept open")
	}
	// Another source is served: a whole request over TLS.
	tc := sv.dialTLS(t, src2)
	io.WriteString(tc, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(tc), nil); err != nil || resp.StatusCode != 200 {
		t.Errorf("127.0.0.2 while 127.0.0.1 is at its cap: %v %v", resp, err)
	}
	tc.Close()
	// The total cap (3): 127.0.0.2 holds one, 127.0.0.1 two. The server
	// frees tc's slot when it has seen the close, which may take a moment
	// on a loaded machine (under -race): try again for a while.
	var d net.Conn
	for deadline := time.Now().Add(5 * time.Second); ; {
		d = dial(src2)
		if open(d) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("127.0.0.2's connection within the caps was closed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c := dial(src2); open(c) {
		t.Error("a connection over the total cap was kept open")
	}
	// Freed slots are reused (once the server has seen the close).
	a.Close()
	reused := false
	for deadline := time.Now().Add(5 * time.Second); !reused && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		reused = open(dial(src1))
	}
	if !reused {
		t.Error("a slot freed by a closed connection was not reused")
	}
}

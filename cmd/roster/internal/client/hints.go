package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
)

// checkServerURL refuses a server URL that is not https://HOST[:PORT]
// before anything is sent: over http:// the token would travel in the
// clear, and the server would only answer "Client sent an HTTP request to
// an HTTPS server".
func checkServerURL(server string) error {
	if !strings.Contains(server, "://") && server != "" {
		return &HintError{Err: fmt.Errorf("server URL %s: the roster server speaks HTTPS only", server),
			hint: "use https://: export " + EnvServer + "=https://" + server}
	}
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return &HintError{Err: fmt.Errorf("server URL %q is not a URL", server),
			hint: "export " + EnvServer + "=https://HOST:PORT, the address `roster server` prints at start"}
	}
	if u.Scheme != "https" {
		fixed := *u
		fixed.Scheme = "https"
		return &HintError{Err: fmt.Errorf("server URL %s: the roster server speaks HTTPS only", server),
			hint: "use https://: export " + EnvServer + "=" + fixed.String()}
	}
	return nil
}

// connectHint says what is wrong when a request did not reach the server,
// and how to fix it.
func (c *Client) connectHint(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		notTLS   tls.RecordHeaderError
		opErr    *net.OpError
		dnsErr   *net.DNSError
	)
	root := c.cfg.CARoot
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	switch {
	case errors.As(err, &unknown):
		return fmt.Sprintf("the server's certificate does not chain to %s=%s: export %s=DATA/root.crt, the root of the server at %s (`roster server` prints its path at start)",
			EnvCARoot, root, EnvCARoot, c.base())
	case errors.As(err, &hostname):
		return fmt.Sprintf("the server's certificate is not valid for %s: connect by one of its names (%s) in %s",
			hostname.Host, strings.Join(certNames(hostname.Certificate), ", "), EnvServer)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "the server's certificate is expired or not yet valid by this machine's clock: check the clock here and on the server"
	case errors.As(err, &notTLS), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http's own error for an HTTP answer has no type.
		return fmt.Sprintf("%s does not speak TLS: is %s the address `roster server` prints at start?", c.base(), EnvServer)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("host %s not found: check %s (now %s)", dnsErr.Name, EnvServer, c.base())
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Sprintf("is the server running? nothing answers at %s: start `roster server` or set %s", c.base(), EnvServer)
	}
	return "is the server running? set " + EnvServer + " (now " + c.base() + ")"
}

// certNames lists the DNS names and IP addresses a certificate is valid
// for.
func certNames(c *x509.Certificate) []string {
	if c == nil {
		return nil
	}
	names := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/scan"
)

// Options say what to scan and how.
type Options struct {
	URL            string // ldaps://DC, or ldap://DC (StartTLS unless InsecurePlain)
	Base           string // search base DN
	BindDN         string
	BindPassword   []byte // never in an error or the report
	CAFile         string // verify the server against this PEM bundle instead of the system roots
	InsecurePlain  bool   // ldap:// without StartTLS
	FingerprintKey []byte
	Version        string
	Now            time.Time // default time.Now
	PageSize       uint32    // default 500
	MaxEntries     int       // default 100000
	Timeout        time.Duration
}

// Scan reads the directory's service accounts into a report whose host
// is the domain (the base DN's DC components).
func Scan(ctx context.Context, o Options) (*scan.Report, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.PageSize == 0 {
		o.PageSize = 500
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = 100000
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	domain, err := DomainOf(o.Base)
	if err != nil {
		return nil, err
	}
	conn, err := dial(ctx, o)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetTimeout(o.Timeout)
	if err := conn.Bind(o.BindDN, string(o.BindPassword)); err != nil {
		// go-ldap's errors carry the server's diagnostic, never the password.
		return nil, fmt.Errorf("bind as %s: %w", o.BindDN, ldapErr(err))
	}
	deadline := time.Now().Add(o.Timeout)
	entries, err := search(conn, o, accountFilter, attributes, deadline)
	if err != nil {
		return nil, err
	}
	member := map[string][]string{}
	for _, g := range PrivilegedGroups {
		groups, err := search(conn, o, "(&(objectClass=group)(sAMAccountName="+ldap.EscapeFilter(g)+"))", []string{"sAMAccountName"}, deadline)
		if err != nil {
			return nil, err
		}
		for _, ge := range groups {
			ms, err := search(conn, o, "(&"+accountFilter+"(memberOf:1.2.840.113556.1.4.1941:="+ldap.EscapeFilter(ge.DN)+"))", []string{"sAMAccountName"}, deadline)
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				member[strings.ToLower(m.DN)] = append(member[strings.ToLower(m.DN)], g)
			}
		}
	}
	rep := &scan.Report{
		SchemaVersion: scan.SchemaVersion,
		Scanner:       scan.Scanner{Name: "roster-directory", Version: o.Version},
		Host:          scan.Host{Hostname: domain, ScannedAt: o.Now.UTC(), Root: o.URL, Live: true},
	}
	for _, e := range entries {
		a, warns := mapEntry(e, member[strings.ToLower(e.DN)], o.FingerprintKey, o.Now)
		for _, w := range warns {
			rep.Warnings = append(rep.Warnings, scan.Warning{File: "ldap:" + e.DN, Message: w})
		}
		rep.Accounts = append(rep.Accounts, a)
	}
	if err := scan.Validate(rep); err != nil {
		return nil, fmt.Errorf("directory report: %w", err)
	}
	return rep, nil
}

func ldapErr(err error) error {
	var le *ldap.Error
	if errors.As(err, &le) {
		return fmt.Errorf("LDAP result %d (%s)", le.ResultCode, ldap.LDAPResultCodeMap[le.ResultCode])
	}
	return err
}

func dial(ctx context.Context, o Options) (*ldap.Conn, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "ldaps" && u.Scheme != "ldap") || u.Host == "" {
		return nil, fmt.Errorf("--ldap %q: want ldaps://HOST[:PORT] or ldap://HOST[:PORT]", o.URL)
	}
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--ldap-ca: %w", err)
		}
		pool, err := caPool(pem)
		if err != nil {
			return nil, fmt.Errorf("--ldap-ca %s: %w", o.CAFile, err)
		}
		tc.RootCAs = pool
	}
	d := ldap.DialWithDialer(&netDialer)
	conn, err := ldap.DialURL(o.URL, d, ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", o.URL, err)
	}
	if u.Scheme == "ldap" && !o.InsecurePlain {
		if err := conn.StartTLS(tc); err != nil {
			conn.Close()
			return nil, fmt.Errorf("StartTLS with %s (use ldaps://, or --insecure-ldap to send the bind password in clear): %w", o.URL, err)
		}
	}
	_ = ctx
	return conn, nil
}

// search runs one paged search, bounded by MaxEntries and the deadline.
func search(conn *ldap.Conn, o Options, filter string, attrs []string, deadline time.Time) ([]entry, error) {
	paging := ldap.NewControlPaging(o.PageSize)
	var out []entry
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("search %s: timed out after %s", o.Base, o.Timeout)
		}
		req := ldap.NewSearchRequest(o.Base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, int(left.Seconds())+1, false, filter, attrs, []ldap.Control{paging})
		res, err := conn.Search(req)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", o.Base, ldapErr(err))
		}
		for _, e := range res.Entries {
			if len(out) >= o.MaxEntries {
				return nil, fmt.Errorf("search %s: more than %d entries", o.Base, o.MaxEntries)
			}
			en := entry{DN: e.DN, Attrs: map[string][]string{}}
			for _, a := range e.Attributes {
				en.Attrs[a.Name] = a.Values
			}
			out = append(out, en)
		}
		c, _ := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if c == nil || len(c.Cookie) == 0 {
			return out, nil
		}
		paging.SetCookie(c.Cookie)
	}
}

// DomainOf turns a base DN's DC components into a DNS domain:
// "OU=x,DC=corp,DC=example" is "corp.example".
func DomainOf(base string) (string, error) {
	dn, err := ldap.ParseDN(base)
	if err != nil {
		return "", fmt.Errorf("--base %q: %w", base, err)
	}
	var parts []string
	for _, rdn := range dn.RDNs {
		for _, a := range rdn.Attributes {
			if strings.EqualFold(a.Type, "dc") {
				parts = append(parts, strings.ToLower(a.Value))
			}
		}
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("--base %q: no DC= components to name the domain", base)
	}
	return strings.Join(parts, "."), nil
}

var netDialer = net.Dialer{Timeout: 30 * time.Second}

// caPool parses every certificate of a PEM bundle, saying why one fails
// (x509.CertPool.AppendCertsFromPEM only says that none was added).
func caPool(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return pool, nil
}

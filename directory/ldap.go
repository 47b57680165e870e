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
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/spiffeid"
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
	// Schema is SchemaAD, SchemaRFC2307, or SchemaAuto ("" too): read the
	// server's root DSE and decide ([detectSchema]).
	Schema string
	// PrivilegedGroups are names (cn, or sAMAccountName in AD) of groups
	// whose recursive members are privileged, besides the defaults of the
	// schema ([PrivilegedGroups], [PlainPrivilegedGroups]).
	PrivilegedGroups []string
	Now              time.Time // default time.Now
	PageSize         uint32    // default 500
	MaxEntries       int       // default 100000, per search
	Timeout          time.Duration
	// MaxGroupDepth and MaxGroupVisits bound the nested group walk of
	// plain LDAP (default 16 levels and 10000 group visits in all).
	MaxGroupDepth, MaxGroupVisits int
}

// Directory schemas (Options.Schema).
const (
	SchemaAuto    = "auto"
	SchemaAD      = "ad"      // Active Directory (or Samba AD): sAMAccountName, userAccountControl, memberOf chains
	SchemaRFC2307 = "rfc2307" // plain LDAP (OpenLDAP and others): uid, posixAccount, groupOfNames, posixGroup
)

// Schemas lists the values of Options.Schema.
var Schemas = []string{SchemaAuto, SchemaAD, SchemaRFC2307}

// conn is a bound connection with the scan's limits.
type conn struct {
	c        *ldap.Conn
	o        Options
	deadline time.Time
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
	if o.MaxGroupDepth == 0 {
		o.MaxGroupDepth = 16
	}
	if o.MaxGroupVisits == 0 {
		o.MaxGroupVisits = 10000
	}
	if o.Schema == "" {
		o.Schema = SchemaAuto
	}
	if !slices.Contains(Schemas, o.Schema) {
		return nil, fmt.Errorf("--ldap-schema %q: want %s", o.Schema, strings.Join(Schemas, ", "))
	}
	domain, err := DomainOf(o.Base)
	if err != nil {
		return nil, err
	}
	lc, err := dial(ctx, o)
	if err != nil {
		return nil, err
	}
	defer lc.Close()
	lc.SetTimeout(o.Timeout)
	if err := lc.Bind(o.BindDN, string(o.BindPassword)); err != nil {
		// go-ldap's errors carry the server's diagnostic, never the password.
		return nil, fmt.Errorf("bind as %s: %w", o.BindDN, ldapErr(err))
	}
	c := &conn{c: lc, o: o, deadline: time.Now().Add(o.Timeout)}
	schema := o.Schema
	if schema == SchemaAuto {
		if schema, err = c.detectSchema(); err != nil {
			return nil, err
		}
	}
	rep := &scan.Report{
		SchemaVersion: scan.SchemaVersion,
		Scanner:       scan.Scanner{Name: "roster-directory", Version: o.Version},
		Host:          scan.Host{Hostname: domain, ScannedAt: o.Now.UTC(), Root: o.URL, Live: true},
	}
	var found []found
	if schema == SchemaAD {
		found, err = c.scanAD()
	} else {
		found, err = c.scanPlain()
	}
	if err != nil {
		return nil, err
	}
	collect(rep, found)
	if err := scan.Validate(rep); err != nil {
		return nil, fmt.Errorf("directory report: %w", err)
	}
	return rep, nil
}

// found is one mapped directory entry with its warnings; an acct without
// a kind carries warnings only.
type found struct {
	dn   string
	acct scan.Account
	warn []string
}

// collect puts the found accounts and warnings into rep, skipping (with a
// warning) an account whose name is no valid account name or repeats an
// earlier one's.
func collect(rep *scan.Report, found []found) {
	seen := map[string]string{}
	for _, f := range found {
		warn := func(msg string) {
			rep.Warnings = append(rep.Warnings, scan.Warning{File: "ldap:" + textout.Fit(f.dn, scan.MaxPath-5), Message: textout.Fit(msg, scan.MaxText)})
		}
		for _, w := range f.warn {
			warn(w)
		}
		a := f.acct
		if a.Kind == "" {
			continue
		}
		if err := spiffeid.ValidateAccount(a.Name); err != nil {
			warn(fmt.Sprintf("skipped: account name %q is not usable as an identity: %v", a.Name, err))
			continue
		}
		if other, dup := seen[a.Name]; dup {
			warn("skipped: the name " + a.Name + " is also " + other)
			continue
		}
		seen[a.Name] = f.dn
		rep.Accounts = append(rep.Accounts, a)
	}
}

// scanAD finds Active Directory's service accounts: one search of
// [accountFilter], then the members of each privileged group through the
// matching rule in chain (LDAP_MATCHING_RULE_IN_CHAIN), which the DC
// resolves recursively.
func (c *conn) scanAD() ([]found, error) {
	entries, err := c.search(c.o.Base, accountFilter, attributes)
	if err != nil {
		return nil, err
	}
	member := map[string][]string{}
	for _, g := range groupNames(PrivilegedGroups, c.o.PrivilegedGroups) {
		groups, err := c.search(c.o.Base, "(&(objectClass=group)(sAMAccountName="+ldap.EscapeFilter(g)+"))", []string{"sAMAccountName"})
		if err != nil {
			return nil, err
		}
		for _, ge := range groups {
			ms, err := c.search(c.o.Base, "(&"+accountFilter+"(memberOf:1.2.840.113556.1.4.1941:="+ldap.EscapeFilter(ge.DN)+"))", []string{"sAMAccountName"})
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				member[strings.ToLower(m.DN)] = append(member[strings.ToLower(m.DN)], g)
			}
		}
	}
	out := make([]found, 0, len(entries))
	for _, e := range entries {
		a, warns := mapEntry(e, member[strings.ToLower(e.DN)], c.o.FingerprintKey, c.o.Now)
		out = append(out, found{dn: e.DN, acct: a, warn: warns})
	}
	return out, nil
}

// groupNames is the defaults and the operator's extra names, once each
// (case-insensitively).
func groupNames(defaults, extra []string) []string {
	var out []string
	for _, g := range append(slices.Clone(defaults), extra...) {
		g = strings.TrimSpace(g)
		if g != "" && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, g) }) {
			out = append(out, g)
		}
	}
	return out
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

// search runs one paged subtree search under base, bounded by MaxEntries
// and the deadline. A userPassword value becomes its scheme here
// ([passwordScheme]): the hash goes no further.
func (c *conn) search(base, filter string, attrs []string) ([]entry, error) {
	o := c.o
	paging := ldap.NewControlPaging(o.PageSize)
	var out []entry
	for {
		left := time.Until(c.deadline)
		if left <= 0 {
			return nil, fmt.Errorf("search %s: timed out after %s", base, o.Timeout)
		}
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, int(left.Seconds())+1, false, filter, attrs, []ldap.Control{paging})
		res, err := c.c.Search(req)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", base, ldapErr(err))
		}
		for _, e := range res.Entries {
			if len(out) >= o.MaxEntries {
				return nil, fmt.Errorf("search %s: more than %d entries", base, o.MaxEntries)
			}
			out = append(out, toEntry(e))
		}
		pc, _ := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if pc == nil || len(pc.Cookie) == 0 {
			return out, nil
		}
		paging.SetCookie(pc.Cookie)
	}
}

// toEntry copies a search result entry, keeping only the scheme of a
// userPassword value.
func toEntry(e *ldap.Entry) entry {
	en := entry{DN: e.DN, Attrs: map[string][]string{}}
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, "userPassword") {
			var schemes []string
			for _, v := range a.ByteValues {
				schemes = append(schemes, passwordScheme(v))
			}
			en.Attrs["userPassword"] = schemes
			continue
		}
		en.Attrs[a.Name] = a.Values
	}
	return en
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

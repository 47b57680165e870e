package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rosterhq/roster/directory"
)

// ldapScanFlags are roster scan's flags of a directory scan (--ldap).
func ldapScanFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ldap", Usage: "scan the directory at `URL` (ldaps://DC, or ldap://DC with StartTLS) for service accounts instead of this host"},
		&cli.StringFlag{Name: "base", Usage: "--ldap: search base `DN` (its DC= components name the domain, the report's host)"},
		&cli.StringFlag{Name: "bind-dn", Usage: "--ldap: simple bind as `DN`"},
		&cli.StringFlag{Name: "bind-password-file", Usage: "--ldap: read the bind password from `FILE` (one line)"},
		&cli.StringFlag{Name: "ldap-ca", Usage: "--ldap: verify the server's certificate against the PEM `FILE` instead of the system roots"},
		&cli.BoolFlag{Name: "insecure-ldap", Usage: "--ldap: allow ldap:// without TLS (the bind password travels in clear)"},
		&cli.StringFlag{Name: "ldap-schema", Value: directory.SchemaAuto, Usage: "--ldap: the directory's `KIND`: ad (Active Directory, Samba AD), rfc2307 (plain LDAP: OpenLDAP...), or auto (ask the server's root DSE)"},
		&cli.StringSliceFlag{Name: "privileged-group", Usage: "--ldap: also count the recursive members of the group `CN` as privileged (repeatable)"},
	}
}

// ldapOptions decodes the --ldap flags; the password file is read here.
func ldapOptions(c *cli.Context) (directory.Options, error) {
	o := directory.Options{
		URL:           c.String("ldap"),
		Base:          c.String("base"),
		BindDN:        c.String("bind-dn"),
		CAFile:        c.String("ldap-ca"),
		InsecurePlain: c.Bool("insecure-ldap"),
		Version:       version,
		Schema:        c.String("ldap-schema"),
	}
	for _, g := range c.StringSlice("privileged-group") {
		if strings.TrimSpace(g) == "" {
			return o, fmt.Errorf("--privileged-group: empty group name")
		}
		o.PrivilegedGroups = append(o.PrivilegedGroups, g)
	}
	for _, f := range []struct{ name, v string }{{"base", o.Base}, {"bind-dn", o.BindDN}, {"bind-password-file", c.String("bind-password-file")}} {
		if f.v == "" {
			return o, fmt.Errorf("--ldap needs --%s", f.name)
		}
	}
	switch {
	case strings.HasPrefix(o.URL, "ldaps://"):
		if o.InsecurePlain {
			return o, fmt.Errorf("--insecure-ldap is for ldap:// URLs; %s already uses TLS", o.URL)
		}
	case strings.HasPrefix(o.URL, "ldap://"):
	default:
		return o, fmt.Errorf("--ldap %q: want ldaps://HOST[:PORT] or ldap://HOST[:PORT]", o.URL)
	}
	if o.InsecurePlain && o.CAFile != "" {
		return o, fmt.Errorf("--insecure-ldap and --ldap-ca contradict each other")
	}
	if _, err := directory.DomainOf(o.Base); err != nil {
		return o, err
	}
	pw, err := os.ReadFile(c.String("bind-password-file"))
	if err != nil {
		return o, fmt.Errorf("--bind-password-file: %w", err)
	}
	if i := strings.IndexAny(string(pw), "\r\n"); i >= 0 {
		pw = pw[:i]
	}
	if len(pw) == 0 {
		return o, fmt.Errorf("--bind-password-file %s: empty (an empty simple bind is anonymous)", c.String("bind-password-file"))
	}
	o.BindPassword = pw
	return o, nil
}

// runLDAPScan is roster scan --ldap.
func runLDAPScan(c *cli.Context) error {
	format := c.String("format")
	if format != "table" && format != "json" {
		return fmt.Errorf("unknown --format %q: want table or json", format)
	}
	if c.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", c.Args().First())
	}
	if c.IsSet("root") || c.IsSet("proc") {
		return fmt.Errorf("--ldap scans a directory: --root and --proc do not apply")
	}
	o, err := ldapOptions(c)
	if err != nil {
		return err
	}
	var sub *submitter
	if c.Bool("submit") {
		if sub, err = newSubmitter(); err != nil {
			return err
		}
		if c.String("fingerprint-key") == "" {
			if o.FingerprintKey, err = sub.fingerprintKey(c.Context); err != nil {
				return err
			}
		}
	}
	if o.FingerprintKey == nil {
		if o.FingerprintKey, err = scanFingerprintKey(c.String("fingerprint-key")); err != nil {
			return err
		}
	}
	rep, err := directory.Scan(c.Context, o)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	write := func(w io.Writer) error { return writeReport(w, rep, format, true) }
	if sub != nil {
		if err := sub.submit(c.Context, rep, c.App.Writer); err != nil {
			return err
		}
	}
	if out := c.String("output"); out != "" {
		return writeReportFile(out, write)
	}
	if sub != nil {
		return nil
	}
	return write(c.App.Writer)
}

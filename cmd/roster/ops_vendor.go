package main

import (
	"fmt"
	"io"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/urfave/cli/v2"
)

// vendorFlags are the fields of vendor add and vendor set; required marks
// the ones add needs.
func vendorFlags(add bool) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "owner", Required: add, Usage: "who owns the relationship with the third party"},
		&cli.StringFlag{Name: "contact", Required: add, Usage: "the third party's email address"},
		&cli.StringFlag{Name: "route", Required: add, Usage: "how it comes in: vpn, ssh, rdp, api, sftp, portal, other"},
		&cli.StringFlag{Name: "factor", Usage: "how it authenticates, weakest first: password, sms, push, totp, api_key, certificate, hardware_bound"},
		&cli.StringFlag{Name: "domain", Usage: "the domain it logs in to"},
		&cli.StringFlag{Name: "on-lapse", Usage: "when an exception on its accounts lapses: revoke (their certificates, and hold them) or notify (default)"},
		&cli.StringFlag{Name: "note", Usage: "free text"},
	}
}

// vendorRequest carries the flags the operator set.
func vendorRequest(c *cli.Context, name string) api.VendorRequest {
	req := api.VendorRequest{Name: name}
	for _, f := range []struct {
		flag string
		dst  **string
	}{{"owner", &req.Owner}, {"contact", &req.Contact}, {"route", &req.Route}, {"factor", &req.Factor},
		{"domain", &req.Domain}, {"on-lapse", &req.OnLapse}, {"note", &req.Note}} {
		if c.IsSet(f.flag) {
			v := c.String(f.flag)
			*f.dst = &v
		}
	}
	return req
}

func vendorCommand() *cli.Command {
	return &cli.Command{
		Name:  "vendor",
		Usage: "register the third parties whose accounts are tagged third-party=NAME",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "register a vendor",
				ArgsUsage: "NAME",
				Flags:     vendorFlags(true),
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "NAME")
					if err != nil {
						return err
					}
					v, err := cl.AddVendor(c.Context, vendorRequest(c, a[0]))
					if err != nil {
						return err
					}
					return done(c, "vendor %s added (on lapse: %s); tag its accounts: roster account tag ACCOUNT third-party=%s", v.Name, v.OnLapse, v.Name)
				}),
			},
			{
				Name:  "list",
				Usage: "list the vendors",
				Flags: []cli.Flag{formatFlag("table", "json", "csv")},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					if _, err := args(c); err != nil {
						return err
					}
					return rendered(c, func(format string, w io.Writer) error { return cl.ListVendors(c.Context, format, w) }, "table", "json", "csv")
				}),
			},
			{
				Name:      "show",
				Usage:     "show a vendor with its accounts, their levels, and its exceptions",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{formatFlag("table", "json")},
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "NAME")
					if err != nil {
						return err
					}
					return rendered(c, func(format string, w io.Writer) error { return cl.ShowVendor(c.Context, a[0], format, w) }, "table", "json")
				}),
			},
			{
				Name:      "set",
				Usage:     "change a vendor's fields (only the flags given)",
				ArgsUsage: "NAME",
				Flags:     vendorFlags(false),
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "NAME")
					if err != nil {
						return err
					}
					req := vendorRequest(c, "")
					if req == (api.VendorRequest{}) {
						return client.NewHintError(fmt.Errorf("vendor set: nothing to change"), c.Command.HelpName+" --help")
					}
					v, err := cl.SetVendor(c.Context, a[0], req)
					if err != nil {
						return err
					}
					return done(c, "vendor %s updated (on lapse: %s)", v.Name, v.OnLapse)
				}),
			},
			{
				Name:      "remove",
				Usage:     "remove a vendor no account is tagged with",
				ArgsUsage: "NAME",
				Action: apiAction(func(c *cli.Context, cl *client.Client) error {
					a, err := args(c, "NAME")
					if err != nil {
						return err
					}
					if err := cl.RemoveVendor(c.Context, a[0]); err != nil {
						return err
					}
					return done(c, "vendor %s removed", a[0])
				}),
			},
			importCommand("vendor import", "register vendors from a CSV file with columns name,owner,contact,route[,factor,domain,on_lapse,note] (dry run unless --apply)", "the vendors", (*client.Client).ImportVendors),
		},
	}
}

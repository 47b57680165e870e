package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/rosterhq/roster/api"
)

func vendorPath(name string) string { return "/v1/vendors/" + url.PathEscape(name) }

// AddVendor registers a vendor and returns it.
func (c *Client) AddVendor(ctx context.Context, req api.VendorRequest) (api.Vendor, error) {
	var out api.Vendor
	err := c.do(ctx, http.MethodPost, "/v1/vendors", nil, req, "", &out)
	return out, err
}

// SetVendor changes the fields req sets and returns the vendor.
func (c *Client) SetVendor(ctx context.Context, name string, req api.VendorRequest) (api.Vendor, error) {
	var out api.Vendor
	err := c.do(ctx, http.MethodPatch, vendorPath(name), nil, req, "", &out)
	return out, err
}

// RemoveVendor removes a vendor no account is tagged with.
func (c *Client) RemoveVendor(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, vendorPath(name), nil, nil, "", nil)
}

// ListVendors writes GET /v1/vendors.
func (c *Client) ListVendors(ctx context.Context, format string, w io.Writer) error {
	return c.get(ctx, "/v1/vendors", nil, format, w)
}

// ShowVendor writes GET /v1/vendors/{name}.
func (c *Client) ShowVendor(ctx context.Context, name, format string, w io.Writer) error {
	return c.get(ctx, vendorPath(name), nil, format, w)
}

// ImportVendors sends a vendor CSV (a dry run unless apply) and writes the
// server's answer in format.
func (c *Client) ImportVendors(ctx context.Context, csv io.Reader, apply bool, format string, w io.Writer) error {
	q := url.Values{"apply": {strconv.FormatBool(apply)}, "format": {format}}
	return c.do(ctx, http.MethodPost, "/v1/vendors/import", q, csv, "text/csv", w)
}

package issuer

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/rosterhq/roster/spiffeid"
)

// ID is an inventory identity as a SPIFFE ID:
// spiffe://TRUST_DOMAIN/host/HOST/sa/ACCOUNT, or spiffe://TRUST_DOMAIN/host/HOST
// for the host itself (Account ""). Its names follow package spiffeid's
// rules, the one implementation of roster's names; ID adds what the issuer
// needs on top (the certificate's common name, a label for people).
type ID spiffeid.ID

// NewID checks the names (spiffeid.New) and returns the identity.
func NewID(trustDomain, host, account string) (ID, error) {
	id, err := spiffeid.New(trustDomain, host, account)
	if err != nil {
		return ID{}, err
	}
	return ID(id), nil
}

// IsHost reports whether id is a host's own identity.
func (id ID) IsHost() bool { return id.Account == "" }

// String is the SPIFFE ID.
func (id ID) String() string { return spiffeid.ID(id).String() }

// URL is the SPIFFE ID as a URL (the certificate's URI SAN).
func (id ID) URL() *url.URL { return spiffeid.ID(id).URL() }

// CommonName is the subject CN of the identity's certificate: the account,
// or the host for a host identity.
func (id ID) CommonName() string {
	if id.Account != "" {
		return id.Account
	}
	return id.Host
}

// Label names the identity for people: "account A on host H" or "host H".
func (id ID) Label() string {
	if id.Account == "" {
		return "host " + id.Host
	}
	return "account " + id.Account + " on host " + id.Host
}

// ErrBadID wraps every [ParseID] failure.
var ErrBadID = errors.New("not a roster identity")

// ParseID parses a SPIFFE ID of the form above (spiffeid.Parse). It refuses
// anything else: other schemes, user info, ports, queries, fragments,
// percent-encoding, empty or extra path segments and names outside the
// allowed characters.
func ParseID(s string) (ID, error) {
	id, err := spiffeid.Parse(s)
	if err != nil {
		return ID{}, fmt.Errorf("%w: %w", ErrBadID, err)
	}
	return ID(id), nil
}

// ParseURL parses a certificate's URI SAN with [ParseID].
func ParseURL(u *url.URL) (ID, error) {
	id, err := spiffeid.ParseURL(u)
	if err != nil {
		return ID{}, fmt.Errorf("%w: %w", ErrBadID, err)
	}
	return ID(id), nil
}

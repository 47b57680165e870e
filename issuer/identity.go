package issuer

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/rosterhq/roster/ca"
)

// ID is an inventory identity as a SPIFFE ID:
// spiffe://TRUST_DOMAIN/host/HOST/sa/ACCOUNT, or spiffe://TRUST_DOMAIN/host/HOST
// for the host itself (Account "").
type ID struct {
	TrustDomain string
	Host        string
	Account     string
}

// Name limits. SPIFFE path segments allow letters, digits, '.', '-', '_';
// '.' and '..' segments are forbidden, so roster also refuses a leading '.'.
const (
	maxHostLen    = 253
	maxAccountLen = 64
)

// NewID checks the names and returns the identity.
func NewID(trustDomain, host, account string) (ID, error) {
	id := ID{TrustDomain: trustDomain, Host: host, Account: account}
	if err := ca.ValidateTrustDomain(trustDomain); err != nil {
		return ID{}, err
	}
	if err := ValidateName("host", host, maxHostLen); err != nil {
		return ID{}, err
	}
	if account != "" {
		if err := ValidateName("account", account, maxAccountLen); err != nil {
			return ID{}, err
		}
	}
	return id, nil
}

// IsHost reports whether id is a host's own identity.
func (id ID) IsHost() bool { return id.Account == "" }

// String is the SPIFFE ID.
func (id ID) String() string {
	s := "spiffe://" + id.TrustDomain + "/host/" + id.Host
	if id.Account != "" {
		s += "/sa/" + id.Account
	}
	return s
}

// URL is the SPIFFE ID as a URL (the certificate's URI SAN).
func (id ID) URL() *url.URL {
	u := &url.URL{Scheme: "spiffe", Host: id.TrustDomain, Path: "/host/" + id.Host}
	if id.Account != "" {
		u.Path += "/sa/" + id.Account
	}
	return u
}

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

// ParseID parses a SPIFFE ID of the form above. It refuses anything else:
// other schemes, user info, ports, queries, fragments, percent-encoding,
// empty or extra path segments and names outside the allowed characters.
func ParseID(s string) (ID, error) {
	const scheme = "spiffe://"
	if !strings.HasPrefix(s, scheme) {
		return ID{}, fmt.Errorf("%w: %q does not start with %s", ErrBadID, trunc(s), scheme)
	}
	rest := s[len(scheme):]
	td, path, ok := strings.Cut(rest, "/")
	if !ok {
		return ID{}, fmt.Errorf("%w: %q has no path", ErrBadID, trunc(s))
	}
	if err := ca.ValidateTrustDomain(td); err != nil {
		return ID{}, fmt.Errorf("%w: %v", ErrBadID, err)
	}
	seg := strings.Split(path, "/")
	var id ID
	switch {
	case len(seg) == 2 && seg[0] == "host":
		id = ID{TrustDomain: td, Host: seg[1]}
	case len(seg) == 4 && seg[0] == "host" && seg[2] == "sa":
		id = ID{TrustDomain: td, Host: seg[1], Account: seg[3]}
	default:
		return ID{}, fmt.Errorf("%w: %q: path must be /host/HOST or /host/HOST/sa/ACCOUNT", ErrBadID, trunc(s))
	}
	if err := ValidateName("host", id.Host, maxHostLen); err != nil {
		return ID{}, fmt.Errorf("%w: %v", ErrBadID, err)
	}
	if len(seg) == 4 {
		if err := ValidateName("account", id.Account, maxAccountLen); err != nil {
			return ID{}, fmt.Errorf("%w: %v", ErrBadID, err)
		}
	}
	return id, nil
}

// ParseURL parses a certificate's URI SAN with [ParseID].
func ParseURL(u *url.URL) (ID, error) {
	if u == nil {
		return ID{}, fmt.Errorf("%w: no URI", ErrBadID)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || u.RawPath != "" || u.ForceQuery {
		return ID{}, fmt.Errorf("%w: %q has parts a SPIFFE ID may not have", ErrBadID, trunc(u.String()))
	}
	return ParseID(u.String())
}

// ValidateName checks a host or account name: 1 to max characters of
// A-Z a-z 0-9 . - _, not starting with '.' or '-'.
func ValidateName(kind, s string, max int) error {
	if s == "" {
		return fmt.Errorf("%s name is empty", kind)
	}
	if len(s) > max {
		return fmt.Errorf("%s name is longer than %d characters", kind, max)
	}
	if s[0] == '.' || s[0] == '-' {
		return fmt.Errorf("%s name %q may not start with %q", kind, s, s[0])
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("%s name %q: character %q not allowed (use A-Z a-z 0-9 . - _)", kind, trunc(s), c)
		}
	}
	return nil
}

// trunc keeps untrusted input short in error messages.
func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

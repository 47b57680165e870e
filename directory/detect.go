package directory

import (
	"fmt"
	"slices"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// capActiveDirectory is LDAP_CAP_ACTIVE_DIRECTORY_OID: a root DSE that
// lists it in supportedCapabilities is an Active Directory DC (Samba's
// too).
const capActiveDirectory = "1.2.840.113556.1.4.800"

// rootDSEAttributes are those [schemaOf] reads.
var rootDSEAttributes = []string{"supportedCapabilities", "forestFunctionality", "domainFunctionality"}

// detectSchema reads the root DSE and names the server's schema.
func (c *conn) detectSchema() (string, error) {
	left := time.Until(c.deadline)
	if left <= 0 {
		return "", fmt.Errorf("root DSE: timed out after %s", c.o.Timeout)
	}
	req := ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(left.Seconds())+1, false,
		"(objectClass=*)", rootDSEAttributes, nil)
	res, err := c.c.Search(req)
	if err != nil {
		return "", fmt.Errorf("read the root DSE to tell Active Directory from plain LDAP (or say which with --ldap-schema ad|rfc2307): %w", ldapErr(err))
	}
	if len(res.Entries) == 0 {
		return SchemaRFC2307, nil
	}
	return schemaOf(toEntry(res.Entries[0])), nil
}

// schemaOf names the schema a root DSE shows: Active Directory when it
// advertises the AD capability or a forest/domain functional level,
// plain LDAP otherwise.
func schemaOf(root entry) string {
	if slices.Contains(root.all("supportedCapabilities"), capActiveDirectory) ||
		root.first("forestFunctionality") != "" || root.first("domainFunctionality") != "" {
		return SchemaAD
	}
	return SchemaRFC2307
}

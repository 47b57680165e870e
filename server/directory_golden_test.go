package server

import (
	"testing"
	"time"

	"github.com/rosterhq/roster/inventory/inventorytest"
)

// TestGoldenDirectory pins what the API answers about directory accounts
// (roster scan --ldap --submit): the submission, the list with kind
// directory, account show in JSON and as a table with the directory
// entry, and an operator's kind over it.
func TestGoldenDirectory(t *testing.T) {
	g := startGoldenServer(t)
	now := time.Now().UTC().Truncate(time.Second)
	g.call(t, "directory-scan-submit", "POST", "/v1/scans", g.admin, string(mustMarshal(t, inventorytest.DirectoryReport("corp.example", now.Add(-time.Minute)))))
	g.call(t, "directory-accounts-list-json", "GET", "/v1/accounts?format=json&host=corp.example", g.admin, "")
	for _, f := range []string{"json", "table"} {
		g.call(t, "directory-account-show-"+f, "GET", "/v1/accounts/svc-sql?format="+f, g.admin, "")
	}
	g.call(t, "directory-account-show-gmsa-table", "GET", "/v1/accounts/gmsa-app$?format=table", g.admin, "")
	g.call(t, "directory-account-kind", "PUT", "/v1/accounts/svc-web/kind", g.admin, `{"kind":"service"}`)
	g.call(t, "directory-account-show-kind-table", "GET", "/v1/accounts/svc-web?format=table", g.admin, "")
}

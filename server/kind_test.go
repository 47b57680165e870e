package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/api"
)

// TestKindThroughServer: an operator marks legacy a person's account
// through the real server; the default list leaves it out, account show
// says who set the kind, a later scan keeps it, an unknown kind is refused
// with the valid list, and auto restores the scan's kind.
func TestKindThroughServer(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	tok, _, err := access.New(e.inv.Store(), nil).Create(ctx, "ops", access.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	listed := func() bool {
		t.Helper()
		code, b := e.operatorCall(tok, "GET", "/v1/accounts?format=json", "")
		if code != 200 {
			t.Fatalf("list: %d %s", code, b)
		}
		var l []api.AccountSummary
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		for _, a := range l {
			if a.Name == "legacy" {
				return true
			}
		}
		return false
	}
	if !listed() {
		t.Fatal("legacy not listed before the override")
	}
	if code, b := e.operatorCall(tok, "PUT", "/v1/accounts/legacy/kind", `{"kind":"human"}`); code != 200 {
		t.Fatalf("set kind: %d %s", code, b)
	}
	e.ingest("web1", "billing-batch", "nobody-owns", "legacy")
	if listed() {
		t.Error("legacy listed by default after marking it human and a rescan")
	}
	code, b := e.operatorCall(tok, "GET", "/v1/accounts/legacy", "")
	if code != 200 || !strings.Contains(string(b), "kind:     human (set by an operator)") {
		t.Errorf("account show: %d %s", code, b)
	}
	code, b = e.operatorCall(tok, "PUT", "/v1/accounts/legacy/kind", `{"kind":"person"}`)
	if code != 400 || !strings.Contains(string(b), "service, human, system, auto") {
		t.Errorf("unknown kind: %d %s", code, b)
	}
	if code, b := e.operatorCall(tok, "PUT", "/v1/accounts/legacy/kind", `{"kind":"auto"}`); code != 200 {
		t.Fatalf("auto: %d %s", code, b)
	}
	if !listed() {
		t.Error("legacy not listed after auto")
	}
	if a := e.audits(); !strings.Contains(a, "account.kind") {
		t.Errorf("audit log: %s", a)
	}
}

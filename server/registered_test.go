package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/audit"
)

// call sends one operator request with token and returns status and body.
func (e *env) call(token, method, path, body string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.client(nil, nil, false).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestRegisteredLegacyAccountInReport: the evidence through the
// real server. A legacy account no scan finds, registered over the API
// with a static password, counts in its tier of GET /v1/report (accounts,
// owners, static, by_strength) beside the scanned ones; an exception
// without a credential type covers it; its purpose, registration and
// strength reach the account list; removing it takes it out of the tier.
func TestRegisteredLegacyAccountInReport(t *testing.T) {
	e := newEnv(t, true)
	tok, _, err := access.New(e.inv.Store(), nil).Create(audit.WithActor(context.Background(), "test"), "ops", access.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	report := func() api.Report {
		t.Helper()
		code, b := e.call(tok, "GET", "/v1/report?format=json", "")
		var rep api.Report
		if code != http.StatusOK || json.Unmarshal(b, &rep) != nil {
			t.Fatalf("report: %d %s", code, b)
		}
		return rep
	}
	before := report().Tiers[3]

	code, b := e.call(tok, "POST", "/v1/accounts", `{"name":"ledger-batch","system":"mainframe ledger","kind":"legacy",`+
		`"credential":"static_password","owner":"team-ledger","remedy":"gateway","purpose":"nightly ledger export"}`)
	var added api.AccountSummary
	if code != http.StatusCreated || json.Unmarshal(b, &added) != nil {
		t.Fatalf("add: %d %s", code, b)
	}
	if added.Key != "ledger-batch@default" || added.Tier != 4 || added.Strength != "static_password" || added.Status != "static" ||
		added.Registered == nil || added.Registered.Kind != "legacy" || added.StrengthBy != "registered: static_password on mainframe ledger" {
		t.Errorf("added = %+v", added)
	}
	after := report().Tiers[3]
	if after.Accounts != before.Accounts+1 || after.WithOwner != before.WithOwner+1 || after.Static != before.Static+1 ||
		after.ByStrength["static_password"] != before.ByStrength["static_password"]+1 {
		t.Errorf("tier 4 before %+v, after %+v: want the legacy account counted once, owned, static, static_password", before, after)
	}
	// A second registration of the name, an unknown kind and a scanned
	// name are refused with 400 and a hint.
	for _, body := range []string{
		`{"name":"ledger-batch","system":"x","kind":"legacy","credential":"static_password"}`,
		`{"name":"fw","system":"x","kind":"appliace","credential":"static_password"}`,
		`{"name":"billing-batch","system":"x","kind":"legacy","credential":"static_password"}`,
	} {
		if code, b := e.call(tok, "POST", "/v1/accounts", body); code != http.StatusBadRequest || errBody(t, b).Hint == "" {
			t.Errorf("add %s: %d %s, want 400 with a hint", body, code, b)
		}
	}
	// An exception without a credential type covers it.
	code, b = e.call(tok, "POST", "/v1/exceptions", `{"account":"ledger-batch","reason":"vendor client","owner":"team-ledger","expires":"`+
		e.clock.Now().AddDate(0, 0, 60).Format("2006-01-02")+`"}`)
	if code != http.StatusCreated {
		t.Fatalf("exception: %d %s", code, b)
	}
	if ts := report().Tiers[3]; ts.Covered != before.Covered+1 {
		t.Errorf("covered = %d, want %d", ts.Covered, before.Covered+1)
	}
	// Purpose and registration in the list, JSON and CSV.
	if code, b := e.call(tok, "PUT", "/v1/accounts/billing-batch/purpose", `{"purpose":"charges customers"}`); code != http.StatusOK {
		t.Fatalf("purpose: %d %s", code, b)
	}
	code, b = e.call(tok, "GET", "/v1/accounts?format=json", "")
	var list []api.AccountSummary
	if code != http.StatusOK || json.Unmarshal(b, &list) != nil {
		t.Fatalf("list: %d %s", code, b)
	}
	seen := map[string]api.AccountSummary{}
	for _, a := range list {
		seen[a.Key] = a
	}
	if a := seen["ledger-batch@default"]; a.Purpose != "nightly ledger export" || a.Status != "exception" || a.Registered == nil || a.Registered.Remedy != "gateway" {
		t.Errorf("listed ledger-batch = %+v", a)
	}
	if a := seen["billing-batch@default"]; a.Purpose != "charges customers" || a.PurposeFrom != "operator" || a.Registered != nil {
		t.Errorf("listed billing-batch = %+v", a)
	}
	if _, b := e.call(tok, "GET", "/v1/accounts?format=csv", ""); !strings.Contains(string(b), "nightly ledger export,true,mainframe ledger,legacy,gateway") {
		t.Errorf("csv lacks the registered row:\n%s", b)
	}
	// Removing it takes it out of the tier; a scanned account is refused.
	if code, b := e.call(tok, "POST", "/v1/accounts/billing-batch/remove", `{}`); code != http.StatusBadRequest ||
		!strings.Contains(errBody(t, b).Hint, "roster account retire") {
		t.Errorf("remove a scanned account: %d %s", code, b)
	}
	if code, b := e.call(tok, "POST", "/v1/accounts/ledger-batch/remove", `{"reason":"mainframe off"}`); code != http.StatusOK {
		t.Fatalf("remove: %d %s", code, b)
	}
	rep := report()
	if ts := rep.Tiers[3]; ts.Accounts != before.Accounts || ts.ByStrength["static_password"] != before.ByStrength["static_password"] || rep.Retired != 1 {
		t.Errorf("after remove: tier 4 %+v, retired %d", ts, rep.Retired)
	}
	if a := e.audits(); !strings.Contains(a, audit.ActionAccountAdd) || !strings.Contains(a, audit.ActionAccountRemove) || !strings.Contains(a, audit.ActionAccountPurpose) {
		t.Errorf("audit lacks the registered account's actions:\n%s", a)
	}
}

// TestImportAccountsThroughServer: a dry run with a bad line answers 422
// with every line's error and writes nothing; the fixed file is applied.
func TestImportAccountsThroughServer(t *testing.T) {
	e := newEnv(t, true)
	tok, _, err := access.New(e.inv.Store(), nil).Create(audit.WithActor(context.Background(), "test"), "ops", access.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	bad := "name,system,kind,credential,tier\nmf-batch,ledger,legacy,static_password,\nora,oracle,database,static_pasword,3\n"
	code, b := e.call(tok, "POST", "/v1/accounts/import", bad)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), "line 3: credential: unknown credential") ||
		!strings.Contains(string(b), "did you mean static_password?") {
		t.Errorf("bad file: %d %s", code, b)
	}
	if code, _ := e.call(tok, "GET", "/v1/accounts/mf-batch", ""); code != http.StatusNotFound {
		t.Errorf("the failed import wrote mf-batch: %d", code)
	}
	code, b = e.call(tok, "POST", "/v1/accounts/import?apply=true", strings.Replace(bad, "static_pasword", "static_password", 1))
	if code != http.StatusOK || !strings.Contains(string(b), "registered 2 accounts") {
		t.Errorf("apply: %d %s", code, b)
	}
	code, b = e.call(tok, "GET", "/v1/accounts/ora?format=json", "")
	var a api.Account
	if code != http.StatusOK || json.Unmarshal(b, &a) != nil || a.Tier != 3 || a.Registered == nil {
		t.Errorf("ora: %d %s", code, b)
	}
}

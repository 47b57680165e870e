package api

import (
	"encoding/json"
	"testing"
)

func TestQueryValues(t *testing.T) {
	for _, tc := range []struct {
		desc string
		got  string
		want string
	}{
		{"zero account query", AccountQuery{}.Values().Encode(), ""},
		{"account query", AccountQuery{Tier: 1, NoOwner: true, Static: true, Host: "web 1", Env: "prod", All: true, Retired: true}.Values().Encode(),
			"all=true&env=prod&host=web+1&no_owner=true&retired=true&static=true&tier=1"},
		{"exception query", ExceptionQuery{Account: "billing", Expiring: "30d", Closed: true}.Values().Encode(), "account=billing&closed=true&expiring=30d"},
		{"audit query", AuditQuery{Account: "billing", Since: "24h"}.Values().Encode(), "account=billing&since=24h"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.desc, tc.got, tc.want)
		}
	}
}

// TestErrorShapes: the operator API's error body has error and hint only;
// the step-compatible one adds status and message.
func TestErrorShapes(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{Error: "account x has no owner", Hint: "roster owner set x OWNER"}, `{"error":"account x has no owner","hint":"roster owner set x OWNER"}`},
		{Error{Error: "missing bearer token"}, `{"error":"missing bearer token"}`},
		{Error{Error: "client certificate has expired", Status: 401, Message: "client certificate has expired"},
			`{"error":"client certificate has expired","status":401,"message":"client certificate has expired"}`},
	} {
		b, err := json.Marshal(tc.e)
		if err != nil || string(b) != tc.want {
			t.Errorf("%s, %v; want %s", b, err, tc.want)
		}
	}
}

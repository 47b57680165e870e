package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDecodeJSON: the one decoder's refusals name what is wrong.
func TestDecodeJSON(t *testing.T) {
	type req struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	for _, tc := range []struct{ body, want string }{
		{`{"name":"x","n":1}`, ""},
		{``, "empty, expected a JSON object"},
		{`"str"`, "is not a JSON object"},
		{`{"name":1}`, `field "name": expected string`},
		{`{"nmae":"x"}`, `unknown field "nmae"`},
		{`{"name":"x"} {"name":"y"}`, "data after the JSON object"},
		{`{"name":"x"`, "unexpected end of input"},
		{`{"name" "x"}`, "malformed JSON at byte"},
		{`{"name":"` + strings.Repeat("x", 100) + `"}`, "larger than 64 bytes"},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 64)
		var v req
		err := decodeJSON(r, &v)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%.40q: %v, want %q", tc.body, err, tc.want)
		}
		if he, ok := err.(*httpError); err != nil && (!ok || he.status != http.StatusBadRequest) {
			t.Errorf("%.40q: %#v, want a 400", tc.body, err)
		}
	}
}

package main

import (
	"slices"
	"testing"
)

func TestInterspersed(t *testing.T) {
	app := newApp()
	cases := []struct {
		desc string
		in   []string
		want []string
	}{
		{"flags after args", []string{"roster", "owner", "set", "billing", "team", "--contact", "c@x"},
			[]string{"roster", "owner", "set", "--contact", "c@x", "billing", "team"}},
		{"flag=value", []string{"roster", "owner", "set", "billing", "--contact=c", "team"},
			[]string{"roster", "owner", "set", "--contact=c", "billing", "team"}},
		{"bool flag takes no value", []string{"roster", "owner", "import", "f.csv", "--apply", "--format", "json"},
			[]string{"roster", "owner", "import", "--apply", "--format", "json", "f.csv"}},
		{"double dash", []string{"roster", "owner", "set", "--", "-odd", "team"},
			[]string{"roster", "owner", "set", "--", "-odd", "team"}},
		{"unknown command untouched", []string{"roster", "nope", "x", "--y"},
			[]string{"roster", "nope", "x", "--y"}},
		{"enroll", []string{"roster", "enroll", "billing", "--host", "app-1", "--format", "json"},
			[]string{"roster", "enroll", "--host", "app-1", "--format", "json", "billing"}},
	}
	for _, tc := range cases {
		if got := interspersed(app, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.desc, got, tc.want)
		}
	}
}

func TestParseTierValidity(t *testing.T) {
	got, err := parseTierValidity([]string{"1=15m", "4=2h"})
	if err != nil || len(got) != 2 || got[1].String() != "15m0s" || got[4].String() != "2h0m0s" {
		t.Errorf("parseTierValidity: %v %v", got, err)
	}
	for _, bad := range []string{"5=1m", "1", "x=1m", "2=soon"} {
		if _, err := parseTierValidity([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPlaceholderOwnersFlag(t *testing.T) {
	for _, tc := range []struct {
		in, want []string
	}{
		{[]string{"unknown", " n/a "}, []string{"unknown", "n/a"}},
		{[]string{""}, []string{}}, // --placeholder-owners "": refuse none
	} {
		got := placeholderOwners(tc.in)
		if got == nil || !slices.Equal(got, tc.want) {
			t.Errorf("placeholderOwners(%q) = %#v, want %q", tc.in, got, tc.want)
		}
	}
}

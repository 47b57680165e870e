package server

import (
	"testing"
	"time"
)

func TestParseDays(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{"12h", 12 * time.Hour, true},
		{"0d", 0, true},
		{"-1d", 0, false},
		{"d", 0, false},
		{"soon", 0, false},
		{"-5m", 0, false},
	}
	for _, tc := range cases {
		got, err := parseDays(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDays(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestParseDate(t *testing.T) {
	if got, err := parseDate("2027-01-31"); err != nil || got.Format(time.RFC3339) != "2027-01-31T23:59:59Z" {
		t.Errorf("date: %v %v", got, err)
	}
	if got, err := parseDate("2027-01-31T08:00:00+01:00"); err != nil || !got.Equal(time.Date(2027, 1, 31, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("rfc3339: %v %v", got, err)
	}
	for _, bad := range []string{"31/01/2027", "", "2027-13-01"} {
		if _, err := parseDate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

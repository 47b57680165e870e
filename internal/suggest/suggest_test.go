package suggest

import (
	"testing"
)

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "run", 3},
		{"status", "status", 0},
		{"stauts", "status", 1}, // swap
		{"statsu", "status", 1},
		{"enrol", "enroll", 1},
		{"verison", "version", 1},
		{"kitten", "sitting", 3},
		{"ca", "abc", 3}, // optimal string alignment, not full Damerau
		{"bogus", "status", 4},
		{"héllo", "hello", 1}, // by rune
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestNearest(t *testing.T) {
	agent := []string{"enroll", "run", "status", "version", "completion"}
	roster := []string{"scan", "server", "report", "accounts", "account", "hosts", "owner", "exception", "token", "enroll", "revoke", "audit"}
	tests := []struct {
		name       string
		candidates []string
		want       string
	}{
		{"stauts", agent, "status"},
		{"statu", agent, "status"},
		{"enrol", agent, "enroll"},
		{"ENROLL", agent, "enroll"},
		{"verison", agent, "version"},
		{"complete", agent, "completion"},
		{"rn", agent, "run"},
		{"bogus", agent, ""},
		{"frobnicate", agent, ""},
		{"", agent, ""},
		{"acount", roster, "account"}, // nearer than accounts
		{"acounts", roster, "accounts"},
		{"owners", roster, "owner"},
		{"revok", roster, "revoke"},
		{"serve", roster, "server"},
		{"se", roster, "server"}, // a prefix of server only
		{"x", roster, ""},
		{"anything", nil, ""},
	}
	for _, tt := range tests {
		if got := Nearest(tt.name, tt.candidates); got != tt.want {
			t.Errorf("Nearest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

package server

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzAccountsQuery: any query string parses without panic, and one that
// parses gives back, through the URL the page links to, the same query.
func FuzzAccountsQuery(f *testing.F) {
	for _, s := range []string{"", "q=billing&tier=1&sort=owner&dir=desc&page=3", "no_owner=1&level=static_password&source=registered",
		"tier=9", "page=-1", "q=%20x%20&owner=%E2%80%AE", "host=web1&env=prod&vendor=acme&status=static"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		aq, err := parseAccountsQuery(q)
		if err != nil {
			return
		}
		back, err := parseAccountsQuery(aq.values())
		if err != nil {
			t.Fatalf("the page's own URL %q is refused: %v", aq.url(), err)
		}
		if back != aq {
			t.Fatalf("round trip: %+v -> %q -> %+v", aq, aq.url(), back)
		}
	})
}

// FuzzSafeNext: where a sign-in sends the browser is always a path on
// this server.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/accounts?x=1", "//evil.example", "/\\evil", "https://evil.example", "/login", "\r\n/x", "/a\nb", "/\t/evil.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		// What a browser makes of it: tabs and newlines dropped, a
		// backslash read as a slash.
		browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(got)
		if !strings.HasPrefix(browser, "/") || strings.HasPrefix(browser, "//") {
			t.Fatalf("safeNext(%q) = %q, which a browser reads as %q", next, got, browser)
		}
		if u, err := url.Parse(got); err == nil && (u.Host != "" || u.Scheme != "") {
			t.Fatalf("safeNext(%q) = %q leaves the server", next, got)
		}
	})
}

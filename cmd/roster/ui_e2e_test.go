package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCLIUILogin: `roster ui login` prints a one-time link to a real
// server's web page; a browser-like client signs in with it once.
func TestCLIUILogin(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--scan-on-start=false")
	admin := s.adminToken()
	stdout, stderr, code := s.cli(admin, "ui", "login")
	link := strings.TrimSpace(stdout)
	if code != 0 || !strings.HasPrefix(link, s.URL+"/login/link/") || !strings.Contains(stderr, "it works once") {
		t.Fatalf("roster ui login: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, admin) {
		t.Error("roster ui login prints the token")
	}
	if _, errOut, code := s.cli(admin, "ui", "login", "extra"); code == 0 || !strings.Contains(errOut, "takes 0 argument") {
		t.Errorf("ui login with an argument: exit %d %s", code, errOut)
	}
	if _, errOut, code := s.cli("", "ui", "login"); code == 0 || !strings.Contains(errOut, "token") {
		t.Errorf("ui login without a token: exit %d %s", code, errOut)
	}

	hc := newAPIClient(t, s).hc
	jar, _ := cookiejar.New(nil)
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(u, csrf string) int {
		t.Helper()
		resp, err := hc.PostForm(u, url.Values{"csrf": {csrf}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	code, page := get(link)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		t.Fatalf("GET link: %d\n%s", code, page)
	}
	if code := post(link, m[1]); code != http.StatusSeeOther {
		t.Fatalf("POST link: %d", code)
	}
	if code, page := get(s.URL + "/"); code != http.StatusOK || !strings.Contains(page, "Signed in as <strong>admin</strong>") {
		t.Fatalf("dashboard after the link: %d\n%s", code, page)
	}
	// The link is used up.
	fresh, _ := cookiejar.New(nil)
	hc.Jar = fresh
	_, page = get(link)
	if code := post(link, regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]); code != http.StatusUnauthorized {
		t.Errorf("second use of the link: %d", code)
	}
}

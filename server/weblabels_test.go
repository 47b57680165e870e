package server

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/access"
)

var (
	controlRE = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idRE      = regexp.MustCompile(`\bid="([^"]+)"`)
)

// unlabelled lists the form controls of page without a <label for> (hidden
// inputs aside), and ids used twice.
func unlabelled(page string) []string {
	var bad []string
	seen := map[string]int{}
	for _, m := range idRE.FindAllStringSubmatch(page, -1) {
		seen[m[1]]++
	}
	for id, n := range seen {
		if n > 1 {
			bad = append(bad, "id "+id+" used twice")
		}
	}
	for _, c := range controlRE.FindAllString(page, -1) {
		if strings.Contains(c, `type="hidden"`) {
			continue
		}
		m := idRE.FindStringSubmatch(c)
		if m == nil || !strings.Contains(page, `for="`+m[1]+`"`) {
			bad = append(bad, c)
		}
	}
	return bad
}

// TestWebLabels: every form control of every page has a label, as an
// accessibility check requires.
func TestWebLabels(t *testing.T) {
	e := newWebEnv(t)
	e.owner("legacy", "ops")
	op := e.webSignIn("labels", access.RoleAdmin)
	anon := &webUser{e: e, t: t, cl: e.webClient()}
	for _, p := range []struct {
		u    *webUser
		path string
	}{
		{anon, "/login"}, {anon, "/login/link/x"}, {op, "/"}, {op, "/accounts"}, {op, "/accounts/legacy"}, {op, "/accounts/no-such"},
	} {
		_, page := p.u.get(p.path)
		if bad := unlabelled(page); len(bad) > 0 {
			t.Errorf("%s: %v", p.path, bad)
		}
		if !strings.Contains(page, `<a class="skip" href="#main">`) || !strings.Contains(page, `<main id="main"`) {
			t.Errorf("%s: no skip link to main", p.path)
		}
	}
	// The checker finds what it must.
	if bad := unlabelled(`<input id="a" name="a"><label for="b">B</label><input id="b">`); len(bad) != 1 {
		t.Errorf("unlabelled found %v", bad)
	}
	if code, _ := op.get("/accounts/legacy"); code != http.StatusOK {
		t.Error(code)
	}
}

package server

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestWebContrast is the page's colour check (WCAG 2.1, 1.4.3): every
// colour in roster.css comes from the palette in :root, and every pair of
// text and background colours the stylesheet combines has a contrast ratio
// of at least 4.5:1.
func TestWebContrast(t *testing.T) {
	css, err := webFiles.ReadFile("web/static/roster.css")
	if err != nil {
		t.Fatal(err)
	}
	palette := cssPalette(t, string(css))

	// A colour outside the palette would escape the pairs below.
	body := regexp.MustCompile(`(?s):root\s*\{.*?\}`).ReplaceAllString(string(css), "")
	for _, m := range regexp.MustCompile(`(?:^|[;{\s])(color|background|background-color)\s*:\s*([^;}]+)`).FindAllStringSubmatch(body, -1) {
		v := strings.TrimSpace(m[2])
		if v == "inherit" || v == "none" || strings.HasPrefix(v, "var(--") {
			continue
		}
		t.Errorf("roster.css sets %s: %s outside the palette", m[1], v)
	}

	pairs := []struct{ fg, bg, where string }{
		{"--fg", "--bg", "text"},
		{"--fg", "--panel", "table heads, notices, code"},
		{"--muted", "--bg", "help text, footer"},
		{"--muted", "--panel", "help text in a notice"},
		{"--accent", "--bg", "links, secondary buttons"},
		{"--accent", "--panel", "links in table heads and notices"},
		{"--accent-fg", "--accent", "buttons"},
		{"--bg", "--fg", "the top bar and the skip link"},
		{"--bad", "--bg", "errors, counts that need action"},
		{"--bad", "--panel", "errors in notices"},
		{"--warn", "--bg", "warnings"},
		{"--good", "--bg", "what is done"},
	}
	for _, p := range pairs {
		r := contrast(palette[p.fg], palette[p.bg])
		if r < 4.5 {
			t.Errorf("%s on %s (%s): contrast %.2f:1, want at least 4.5:1", p.fg, p.bg, p.where, r)
		}
	}
}

// cssPalette reads the custom properties of :root that are #rrggbb colours.
func cssPalette(t *testing.T, css string) map[string][3]float64 {
	t.Helper()
	root := regexp.MustCompile(`(?s):root\s*\{(.*?)\}`).FindStringSubmatch(css)
	if root == nil {
		t.Fatal("roster.css has no :root palette")
	}
	out := map[string][3]float64{}
	for _, m := range regexp.MustCompile(`(--[a-z-]+)\s*:\s*#([0-9a-fA-F]{6})`).FindAllStringSubmatch(root[1], -1) {
		var c [3]float64
		for i := range c {
			v, _ := strconv.ParseUint(m[2][2*i:2*i+2], 16, 8)
			c[i] = float64(v) / 255
		}
		out[m[1]] = c
	}
	for _, name := range []string{"--fg", "--muted", "--bg", "--panel", "--accent", "--accent-fg", "--bad", "--warn", "--good"} {
		if _, ok := out[name]; !ok {
			t.Fatalf("roster.css's palette lacks %s", name)
		}
	}
	return out
}

// contrast is WCAG's contrast ratio of two sRGB colours.
func contrast(a, b [3]float64) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(c [3]float64) float64 {
	var l [3]float64
	for i, v := range c {
		if v <= 0.04045 {
			l[i] = v / 12.92
		} else {
			l[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

func TestContrastRatio(t *testing.T) {
	black, white := [3]float64{0, 0, 0}, [3]float64{1, 1, 1}
	if r := contrast(black, white); math.Abs(r-21) > 0.01 {
		t.Errorf("black on white: %.2f, want 21", r)
	}
	if r := contrast(white, white); r != 1 {
		t.Errorf("white on white: %.2f, want 1", r)
	}
	grey := [3]float64{0x76 / 255.0, 0x76 / 255.0, 0x76 / 255.0} // #767676, the lightest grey at 4.5:1 on white
	if r := contrast(grey, white); r < 4.5 || r > 4.6 {
		t.Errorf("#767676 on white: %.2f, want about 4.54", r)
	}
}

package server

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBannerAbsolutePaths: started with a relative --data, the banner
// names the data directory, the root and the admin token by absolute
// paths, so that its export line works from any directory.
func TestBannerAbsolutePaths(t *testing.T) {
	base := t.TempDir()
	t.Chdir(base)
	out := startRun(t, Config{DataDir: "rel-data", Listen: "127.0.0.1:0"})
	dir := filepath.Join(base, "rel-data")
	for _, want := range []string{
		"data directory:   " + dir + "\n",
		"root certificate: " + filepath.Join(dir, "root.crt") + "\n",
		"first admin token written to " + filepath.Join(dir, "admin.token"),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`ROSTER_CA_ROOT=(\S+) ROSTER_TOKEN=\$\(cat (\S+)\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no export line:\n%s", out)
	}
	for _, p := range m[1:] {
		if !filepath.IsAbs(p) {
			t.Errorf("%s is relative", p)
		}
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
}

// startRun runs the server with cfg (a trust domain, validities and a
// quiet logger added) until the test ends, and returns its banner up to
// the "listening" line.
func startRun(t *testing.T, cfg Config) string {
	t.Helper()
	cfg.TrustDomain, cfg.DefaultValidity, cfg.MinValidity, cfg.MaxValidity = "roster.local", time.Hour, 5*time.Minute, 24*time.Hour
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	pr, pw := io.Pipe()
	cfg.Out = pw
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	var banner strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "roster server listening on ") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	return banner.String()
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/roster/root.crt": "/var/lib/roster/root.crt",
		"/home/a b/root.crt":       "'/home/a b/root.crt'",
		"/tmp/it's":                `'/tmp/it'\''s'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

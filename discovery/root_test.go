package discovery

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRootResolvesInside(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("host file"), 0o600)
	mk := func(p, body string) {
		p = filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	link := func(target, p string) {
		p = filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	mk("etc/passwd.real", "in root")
	mk("real/etc/shadow", "via dir link")
	link("/etc/passwd.real", "etc/passwd")            // absolute: resolves in the root
	link("../../../../../../../.."+outside, "etc/up") // climbs: clamps at the root
	link(outside, "etc/abs-out")                      // absolute host path: inside the root it does not exist
	link("/real/etc", "srv/etc")                      // a linked directory
	link("loop-b", "etc/loop-a")
	link("loop-a", "etc/loop-b")
	mk("big", strings.Repeat("x", 100))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	r, err := NewRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	r.MaxFileBytes = 50
	cases := []struct {
		desc, name, want string
		err              error
	}{
		{"absolute link", "/etc/passwd", "in root", nil},
		{"relative name", "etc/passwd", "in root", nil},
		{"dir link, twice (cached)", "/srv/etc/shadow", "via dir link", nil},
		{"dir link again", "/srv/etc/shadow", "via dir link", nil},
		{"climbing link", "/etc/up", "", os.ErrNotExist},
		{"host-absolute link", "/etc/abs-out", "", os.ErrNotExist},
		{"dotdot name", "/../../" + outside, "", os.ErrNotExist},
		{"loop", "/etc/loop-a", "", syscall.ELOOP},
		{"fifo", "/fifo", "", ErrNotRegular},
		{"directory", "/etc", "", ErrNotRegular},
		{"over the cap", "/big", "", ErrTooLarge},
	}
	for _, tc := range cases {
		data, err := r.ReadFile(tc.name)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: err %v, want %v", tc.desc, err, tc.err)
			}
			if strings.Contains(string(data), "host file") {
				t.Errorf("%s: read the host file", tc.desc)
			}
			continue
		}
		if err != nil || string(data) != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.desc, data, err, tc.want)
		}
	}
	if p, err := r.Resolve("/srv/etc/../etc/shadow"); err != nil || p != "/srv/etc/shadow" && p != "/real/etc/shadow" {
		t.Errorf("Resolve: %q %v", p, err)
	}
	if got := r.Glob("/etc/passwd*"); len(got) != 2 {
		t.Errorf("Glob: %v", got)
	}
}

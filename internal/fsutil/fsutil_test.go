package fsutil

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// failingFile is a real temp file whose Write writes half the data and
// fails, or whose Sync fails.
type failingFile struct {
	*os.File
	failWrite, failSync bool
}

var errInjected = errors.New("injected failure")

func (f *failingFile) Write(b []byte) (int, error) {
	if f.failWrite {
		n, _ := f.File.Write(b[:len(b)/2])
		return n, errInjected
	}
	return f.File.Write(b)
}

func (f *failingFile) Sync() error {
	if f.failSync {
		return errInjected
	}
	return f.File.Sync()
}

// names lists dir, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteFile(t *testing.T) {
	tests := []struct {
		desc string
		perm fs.FileMode
		old  []byte // existing content; nil means no file
		data []byte
	}{
		{desc: "new private file", perm: 0o600, data: []byte("secret\n")},
		{desc: "new public file", perm: 0o644, data: []byte("public\n")},
		{desc: "replace, narrowing the mode", perm: 0o600, old: []byte("old and longer content\n"), data: []byte("new\n")},
		{desc: "empty file", perm: 0o640, data: nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.pem")
			if tt.old != nil {
				if err := os.WriteFile(path, tt.old, 0o666); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFile(path, tt.data, tt.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, tt.data) {
				t.Errorf("content %q (%v), want %q", got, err, tt.data)
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != tt.perm {
				t.Errorf("mode %v (%v), want %v", fi.Mode().Perm(), err, tt.perm)
			}
			if n := names(t, dir); !slices.Equal(n, []string{"f.pem"}) {
				t.Errorf("directory holds %q, want only f.pem", n)
			}
		})
	}
}

func TestWriteFileRelative(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := WriteFile("report.json", []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := names(t, "."); !slices.Equal(n, []string{"report.json"}) {
		t.Errorf("directory holds %q", n)
	}
}

// TestWriteFileFailure: whatever step fails, the good file stays as it was
// and no temp file is left.
func TestWriteFileFailure(t *testing.T) {
	good := []byte("good certificate\n")
	failing := func(write, sync bool) Option {
		return CreateTemp(func(dir, pattern string) (File, error) {
			f, err := os.CreateTemp(dir, pattern)
			if err != nil {
				return nil, err
			}
			return &failingFile{File: f, failWrite: write, failSync: sync}, nil
		})
	}
	tests := []struct {
		desc    string
		target  string // name of the target in the directory
		opts    []Option
		wantErr string
	}{
		{desc: "write fails half way", target: "cert.pem", opts: []Option{failing(true, false)}, wantErr: "injected failure"},
		{desc: "sync fails", target: "cert.pem", opts: []Option{failing(false, true)}, wantErr: "sync: injected failure"},
		{desc: "temp file cannot be created", target: "cert.pem", opts: []Option{CreateTemp(func(string, string) (File, error) {
			return nil, errInjected
		})}, wantErr: "injected failure"},
		{desc: "rename over a directory fails", target: "dir.pem", wantErr: "dir.pem"},
		{desc: "missing directory", target: "no/such/cert.pem", wantErr: "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "cert.pem"), good, 0o644); err != nil {
				t.Fatal(err)
			}
			// A non-empty directory that a rename cannot replace.
			if err := os.MkdirAll(filepath.Join(dir, "dir.pem", "x"), 0o755); err != nil {
				t.Fatal(err)
			}
			before := names(t, dir)
			path := filepath.Join(dir, tt.target)
			err := WriteFile(path, []byte("half-baked replacement\n"), 0o600, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "write "+path+": ") {
				t.Fatalf("err = %v, want one naming %s and %q", err, path, tt.wantErr)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "cert.pem")); !bytes.Equal(got, good) {
				t.Errorf("the good file now holds %q", got)
			}
			if after := names(t, dir); !slices.Equal(before, after) {
				t.Errorf("directory holds %q after the failure, want %q", after, before)
			}
		})
	}
}

// TestWriteFileUnwritableDir needs a user whom the directory mode binds.
func TestWriteFileUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into a 0500 directory anyway")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(path, []byte("good\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if err := WriteFile(path, []byte("new\n"), 0o644); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("err = %v, want permission denied", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "good\n" {
		t.Errorf("the file now holds %q", got)
	}
	if n := names(t, dir); !slices.Equal(n, []string{"cert.pem"}) {
		t.Errorf("directory holds %q", n)
	}
}

func TestWriteFileOwner(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key.pem")
	if os.Geteuid() != 0 {
		// Giving a file away needs root: the error names the owner and
		// nothing is left behind.
		err := WriteFile(path, []byte("k"), 0o600, Owner(0, 0))
		if err == nil || !strings.Contains(err.Error(), "set owner 0:0") {
			t.Fatalf("err = %v, want a set owner error", err)
		}
		if n := names(t, dir); len(n) != 0 {
			t.Errorf("directory holds %q", n)
		}
		return
	}
	if err := WriteFile(path, []byte("k"), 0o600, Owner(65534, 65534)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 || fi.Mode().Perm() != 0o600 {
		t.Errorf("owner %d:%d mode %v, want 65534:65534 0600", st.Uid, st.Gid, fi.Mode().Perm())
	}
	// A negative uid keeps the writer as owner.
	if err := WriteFile(path, []byte("k"), 0o600, Owner(-1, -1)); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Error("Owner(-1, -1) gave the file away")
	}
}

func TestRenameAndSyncDir(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "key.pem.pending"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(a, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Rename(a, b); err != nil {
		t.Fatal(err)
	}
	if n := names(t, dir); !slices.Equal(n, []string{"key.pem"}) {
		t.Errorf("directory holds %q", n)
	}
	if err := Rename(a, b); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("renaming a missing file: %v", err)
	}
	if err := SyncDir(filepath.Join(dir, "missing")); err == nil || !strings.HasPrefix(err.Error(), "sync directory ") {
		t.Errorf("SyncDir of a missing directory: %v", err)
	}
}

// TestWriteFileExclusive: the first writer creates the file, a second one
// fails with fs.ErrExist and leaves it as it was, and no temp file stays.
func TestWriteFileExclusive(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "admin.token")
	if err := WriteFile(p, []byte("first\n"), 0o600, Exclusive()); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(p, []byte("second\n"), 0o600, Exclusive())
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second exclusive write: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "first\n" {
		t.Errorf("file holds %q after the refused write", b)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}
	if got := names(t, dir); len(got) != 1 || got[0] != "admin.token" {
		t.Errorf("directory holds %v, want only admin.token", got)
	}
}

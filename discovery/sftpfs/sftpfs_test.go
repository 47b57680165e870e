package sftpfs

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/pkg/sftp"
	"github.com/rosterhq/roster/discovery"
)

// sftpPipe serves the local filesystem with pkg/sftp's server over an
// in-process pipe and returns an FS reading it.
func sftpPipe(t *testing.T) *FS {
	t.Helper()
	a, b := net.Pipe()
	srv, err := sftp.NewServer(a, sftp.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	c, err := sftp.NewClientPipe(b, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); srv.Close() })
	return New(c)
}

// TestBounds: the remote filesystem keeps the local limits: a file
// over the cap, a listing over the entry cap, special files and links.
func TestBounds(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, 5000), 0o644)
	many := filepath.Join(dir, "many")
	os.Mkdir(many, 0o755)
	for i := range 50 {
		os.WriteFile(filepath.Join(many, fmt.Sprint(i)), nil, 0o644)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink("big", filepath.Join(dir, "link"))
	f := sftpPipe(t)
	f.MaxDirEntries = 10

	if _, _, err := f.ReadRegular(big, 4096); !errors.Is(err, discovery.ErrTooLarge) {
		t.Errorf("big file: %v, want discovery.ErrTooLarge", err)
	}
	if data, fi, err := f.ReadRegular(big, 8192); err != nil || len(data) != 5000 || fileUID(fi) != os.Getuid() {
		t.Errorf("big file under a larger cap: %d bytes, uid %d, %v", len(data), fileUID(fi), err)
	}
	if _, err := f.ReadDir(many); !errors.Is(err, ErrTooManyEntries) {
		t.Errorf("many entries: %v, want ErrTooManyEntries", err)
	}
	f.MaxDirEntries = 100
	if ents, err := f.ReadDir(many); err != nil || len(ents) != 50 || ents[0].Name() != "0" || ents[1].Name() != "1" {
		t.Errorf("listing: %d entries, %v", len(ents), err)
	}
	if _, _, err := f.ReadRegular(fifo, 4096); !errors.Is(err, discovery.ErrNotRegular) {
		t.Errorf("fifo: %v, want discovery.ErrNotRegular", err)
	}
	if _, _, err := f.ReadRegular(filepath.Join(dir, "link"), 4096); !errors.Is(err, discovery.ErrNotRegular) {
		t.Errorf("a link read directly: %v, want discovery.ErrNotRegular (Root resolves links)", err)
	}
	if _, err := f.Lstat(filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("absent: %v, want fs.ErrNotExist", err)
	}
	if tgt, err := f.Readlink(filepath.Join(dir, "link")); err != nil || tgt != "big" {
		t.Errorf("readlink: %q, %v", tgt, err)
	}
}

// fileUID is the owner of fi, as the scanner reads it (-1 when unknown).
func fileUID(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

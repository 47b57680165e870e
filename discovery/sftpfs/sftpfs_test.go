package sftpfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/pkg/sftp"
	"github.com/rosterhq/roster/discovery"
)

// sftpPipe serves the local filesystem with pkg/sftp's server over an
// in-process pipe and returns an FS reading it, and a count of the bytes
// the server sent.
func sftpPipe(t *testing.T, opts Options) (*FS, *countingReader) {
	t.Helper()
	a, b := net.Pipe()
	srv, err := sftp.NewServer(a, sftp.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	cr := &countingReader{r: b}
	f, err := NewPipe(cr, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(); srv.Close() })
	return f, cr
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
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
	f, _ := sftpPipe(t, Options{MaxDirEntries: 10})

	if _, _, err := f.ReadRegular(big, 4096); !errors.Is(err, discovery.ErrTooLarge) {
		t.Errorf("big file: %v, want discovery.ErrTooLarge", err)
	}
	if data, fi, err := f.ReadRegular(big, 8192); err != nil || len(data) != 5000 || fileUID(fi) != os.Getuid() {
		t.Errorf("big file under a larger cap: %d bytes, uid %d, %v", len(data), fileUID(fi), err)
	}
	if _, err := f.ReadDir(many); !errors.Is(err, ErrTooManyEntries) {
		t.Errorf("many entries: %v, want ErrTooManyEntries", err)
	}
	if _, err := f.ReadDir(many); err == nil || !strings.Contains(err.Error(), many) || !strings.Contains(err.Error(), "(10 entries)") {
		t.Errorf("the cap error does not name the directory and the cap: %v", err)
	}
	f100, _ := sftpPipe(t, Options{MaxDirEntries: 100})
	if ents, err := f100.ReadDir(many); err != nil || len(ents) != 50 || ents[0].Name() != "0" || ents[1].Name() != "1" {
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

// TestListingStopsEarly: a listing over the cap stops while it arrives:
// the client reads about one packet of a directory whose whole listing is
// ten times larger, and the connection still serves the next request.
func TestListingStopsEarly(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("n", 200)
	for i := range 1500 {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s%05d", long, i)), nil, 0o644)
	}
	f, sent := sftpPipe(t, Options{MaxDirEntries: 50})
	_, err := f.ReadDir(dir)
	if !errors.Is(err, ErrTooManyEntries) {
		t.Fatalf("listing of 1500 entries under a cap of 50: %v, want ErrTooManyEntries", err)
	}
	// One READDIR answer of pkg/sftp's server holds 128 entries of about
	// 480 bytes (name, long name, attributes): the whole listing is some
	// 700 kB.
	if n := sent.n.Load(); n > 200<<10 {
		t.Errorf("the client read %d bytes of the listing before stopping, want one packet or so", n)
	}
	if _, err := f.Lstat(dir); err != nil {
		t.Errorf("after the refused listing the connection fails: %v", err)
	}
	if n := len(f.guardState()); n != 0 {
		t.Errorf("the guard still tracks %d listings after they ended", n)
	}
}

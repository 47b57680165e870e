package discovery

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// FS is the raw filesystem a [Root] reads a host through: names are clean
// absolute paths of that filesystem, and no method follows a symbolic link
// in the last element (Root resolves links itself, inside the root). The
// local implementation is the running machine's filesystem; package sftpfs reads a
// remote host over SFTP.
type FS interface {
	// Lstat returns the FileInfo of name without following a last link.
	Lstat(name string) (fs.FileInfo, error)
	// Readlink returns the target of the link name.
	Readlink(name string) (string, error)
	// ReadDir lists the directory name, sorted by file name.
	ReadDir(name string) ([]fs.DirEntry, error)
	// ReadRegular reads at most max bytes of the regular file name. It
	// returns ErrNotRegular (with the FileInfo) for anything else, and
	// ErrTooLarge when the file holds more than max bytes.
	ReadRegular(name string, max int64) ([]byte, fs.FileInfo, error)
}

// osFS is the local filesystem.
type osFS struct{}

func (osFS) Lstat(name string) (fs.FileInfo, error)     { return os.Lstat(name) }
func (osFS) Readlink(name string) (string, error)       { return os.Readlink(name) }
func (osFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

func (osFS) ReadRegular(name string, max int64) ([]byte, fs.FileInfo, error) {
	// O_NONBLOCK keeps a FIFO swapped in after the check from blocking us.
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return ReadRegular(f, max)
}

// ReadRegular reads at most max bytes of the open file f after checking
// that it is a regular file: the size rule of every FS (ErrNotRegular,
// ErrTooLarge).
func ReadRegular(f interface {
	io.Reader
	Stat() (fs.FileInfo, error)
}, max int64) ([]byte, fs.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fi, ErrNotRegular
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fi, err
	}
	if int64(len(data)) > max {
		return nil, fi, fmt.Errorf("%w (%d bytes)", ErrTooLarge, max)
	}
	return data, fi, nil
}

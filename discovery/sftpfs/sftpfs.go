// Package sftpfs reads a remote host's filesystem over SFTP for the
// scanner: [New] wraps an *sftp.Client as a [discovery.FS], so that
// `roster scan --ssh` runs the local scan's parsers on a host without an
// agent. It lives apart from discovery so that roster-agent, which scans
// only its own host, does not link pkg/sftp.
package sftpfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/sftp"

	"github.com/rosterhq/roster/discovery"
)

// DefaultMaxDirEntries caps one remote directory listing.
const DefaultMaxDirEntries = 100_000

// DefaultSFTPListTimeout bounds one remote directory listing.
const DefaultSFTPListTimeout = 30 * time.Second

// ErrTooManyEntries is returned by [FS.ReadDir] for a directory over
// the entry cap.
var ErrTooManyEntries = fmt.Errorf("directory exceeds the scanner's entry cap")

// FS is a remote host's filesystem read over SFTP: only LSTAT,
// READLINK, OPENDIR/READDIR and OPEN/READ requests, never a write or a
// shell command. Paths are those the server shows: with ChrootDirectory,
// relative to the chroot. File sizes follow the same cap as locally
// (ReadRegular's max); a listing is bounded in entries (MaxDirEntries) and
// time (ListTimeout). The whole connection's time is the caller's to bound
// (close the client).
type FS struct {
	c *sftp.Client
	// MaxDirEntries caps one listing; 0 means DefaultMaxDirEntries.
	MaxDirEntries int
	// ListTimeout bounds one listing; 0 means DefaultSFTPListTimeout.
	ListTimeout time.Duration
}

// New returns the filesystem served by c.
func New(c *sftp.Client) *FS { return &FS{c: c} }

// Lstat implements [discovery.FS].
func (f *FS) Lstat(name string) (fs.FileInfo, error) {
	fi, err := f.c.Lstat(name)
	if err != nil {
		return nil, sftpErr("lstat", name, err)
	}
	return remoteInfo{fi}, nil
}

// Readlink implements [discovery.FS].
func (f *FS) Readlink(name string) (string, error) {
	t, err := f.c.ReadLink(name)
	if err != nil {
		return "", sftpErr("readlink", name, err)
	}
	return t, nil
}

// ReadDir implements [discovery.FS].
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	timeout := f.ListTimeout
	if timeout <= 0 {
		timeout = DefaultSFTPListTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	fis, err := f.c.ReadDirContext(ctx, name)
	if err != nil {
		return nil, sftpErr("readdir", name, err)
	}
	max := f.MaxDirEntries
	if max <= 0 {
		max = DefaultMaxDirEntries
	}
	if len(fis) > max {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fmt.Errorf("%w (%d entries)", ErrTooManyEntries, max)}
	}
	out := make([]fs.DirEntry, 0, len(fis))
	for _, fi := range fis {
		if n := fi.Name(); n == "." || n == ".." || n == "" || strings.Contains(n, "/") {
			continue // a hostile server's names cannot walk elsewhere
		}
		out = append(out, fs.FileInfoToDirEntry(remoteInfo{fi}))
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// ReadRegular implements [discovery.FS].
func (f *FS) ReadRegular(name string, max int64) ([]byte, fs.FileInfo, error) {
	// OPEN follows links on the server: refuse a link or a FIFO before
	// opening (a FIFO would block the server's read), and check the open
	// file again.
	fi, err := f.Lstat(name)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fi, discovery.ErrNotRegular
	}
	file, err := f.c.Open(name)
	if err != nil {
		return nil, nil, sftpErr("open", name, err)
	}
	defer file.Close()
	return discovery.ReadRegular(remoteFile{file}, max)
}

type remoteFile struct{ *sftp.File }

func (r remoteFile) Stat() (fs.FileInfo, error) {
	fi, err := r.File.Stat()
	if err != nil {
		return nil, err
	}
	return remoteInfo{fi}, nil
}

// remoteInfo is a remote FileInfo whose Sys is a *syscall.Stat_t carrying
// the owner, group, mode and size, as a local FileInfo's.
type remoteInfo struct{ fs.FileInfo }

func (r remoteInfo) Sys() any {
	st, ok := r.FileInfo.Sys().(*sftp.FileStat)
	if !ok {
		return nil
	}
	return &syscall.Stat_t{Uid: st.UID, Gid: st.GID, Mode: st.Mode, Size: int64(st.Size),
		Mtim: syscall.Timespec{Sec: int64(st.Mtime)}, Atim: syscall.Timespec{Sec: int64(st.Atime)}}
}

// sftpErr returns err as a *fs.PathError whose Err matches fs.ErrNotExist
// and fs.ErrPermission as a local one would.
func sftpErr(op, name string, err error) error {
	var se *sftp.StatusError
	if errors.As(err, &se) {
		switch se.FxCode() {
		case sftp.ErrSSHFxNoSuchFile:
			err = fs.ErrNotExist
		case sftp.ErrSSHFxPermissionDenied:
			err = fs.ErrPermission
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

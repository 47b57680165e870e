// Package sftpfs reads a remote host's filesystem over SFTP for the
// scanner: start at [Open], which starts the SFTP subsystem on an SSH
// connection and returns a [discovery.FS], so that `roster scan --ssh`
// runs the local scan's parsers on a host without an agent. Between
// pkg/sftp's client and the channel, a guard (listguard.go) caps a
// directory listing while it arrives. It lives apart from discovery so
// that roster-agent, which scans only its own host, does not link pkg/sftp.
package sftpfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

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
// (ReadRegular's max); a listing is bounded in entries (while it arrives,
// see [Options]) and time. The whole connection's time is the caller's to
// bound (close the SSH connection).
type FS struct {
	c     *sftp.Client
	opts  Options
	guard *listGuard
	close func() error
}

// Options bound the remote filesystem.
type Options struct {
	// MaxDirEntries caps one listing; 0 means DefaultMaxDirEntries. A
	// listing stops as soon as the server has sent more (one packet at
	// most beyond): a hostile server cannot send an endless one.
	MaxDirEntries int
	// ListTimeout bounds one listing; 0 means DefaultSFTPListTimeout.
	ListTimeout time.Duration
}

// Open starts the SFTP subsystem on conn (a session of its own) and
// returns the filesystem it serves. Close it to end the session.
func Open(conn *ssh.Client, opts Options) (*FS, error) {
	s, err := conn.NewSession()
	if err != nil {
		return nil, fmt.Errorf("sftp session: %w", err)
	}
	w, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sftp session: %w", err)
	}
	r, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sftp session: %w", err)
	}
	if err := s.RequestSubsystem("sftp"); err != nil {
		s.Close()
		return nil, fmt.Errorf("sftp subsystem: %w", err)
	}
	f, err := NewPipe(r, w, opts)
	if err != nil {
		s.Close()
		return nil, err
	}
	closeClient := f.close
	f.close = func() error { closeClient(); return s.Close() }
	return f, nil
}

// NewPipe returns the filesystem of the SFTP server at the other end of rd
// (what the server sends) and wr (what it reads).
func NewPipe(rd io.Reader, wr io.WriteCloser, opts Options) (*FS, error) {
	if opts.MaxDirEntries <= 0 {
		opts.MaxDirEntries = DefaultMaxDirEntries
	}
	if opts.ListTimeout <= 0 {
		opts.ListTimeout = DefaultSFTPListTimeout
	}
	g := newListGuard(opts.MaxDirEntries + 2) // the server's "." and ".." too
	c, err := sftp.NewClientPipe(&guardReader{r: rd, g: g}, guardWriter{wr, g})
	if err != nil {
		return nil, fmt.Errorf("sftp: %w", err)
	}
	return &FS{c: c, opts: opts, guard: g, close: c.Close}, nil
}

// Lost returns why the server's side of the session ended before Close,
// or nil while it is up: a scan whose connection dropped read only part
// of the host, whatever its report says. The error matches
// io.ErrUnexpectedEOF.
func (f *FS) Lost() error {
	f.guard.mu.Lock()
	defer f.guard.mu.Unlock()
	switch err := f.guard.lost; {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("the connection dropped during the scan: %w", io.ErrUnexpectedEOF)
	default:
		return fmt.Errorf("the connection dropped during the scan: %w (%w)", io.ErrUnexpectedEOF, err)
	}
}

// Close ends the SFTP session.
func (f *FS) Close() error { return f.close() }

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
	ctx, cancel := context.WithTimeout(context.Background(), f.opts.ListTimeout)
	defer cancel()
	fis, err := f.c.ReadDirContext(ctx, name)
	var se *sftp.StatusError
	if errors.As(err, &se) && se.Code == statusTooManyEntries || err == nil && len(fis) > f.opts.MaxDirEntries {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fmt.Errorf("%w (%d entries)", ErrTooManyEntries, f.opts.MaxDirEntries)}
	}
	if err != nil {
		return nil, sftpErr("readdir", name, err)
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

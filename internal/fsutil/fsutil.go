// Package fsutil writes files so that a crash never leaves a torn one.
//
// Start with [WriteFile]: it replaces a file with a complete new one, or
// leaves the old one in place. [Rename] and [SyncDir] make the other two
// steps a crash-safe change of files needs durable, for callers that
// install several files in order (the agent's key and certificate).
//
// # Guarantees
//
// A reader of the target sees either the old file or the complete new one,
// never a part. Once WriteFile returns nil, the new file and its name
// survive a crash: the data is fsynced before the rename, the directory
// after it. When WriteFile fails, the target is untouched (unless the only
// failure was the final directory fsync, after the rename) and no temp file
// is left behind. The file has its mode, and with [Owner] its owner, before
// any byte is written, so a private key is never readable by others, not
// even half-written.
//
// Standard library only, so that the agent may use it.
package fsutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// File is the part of *os.File that [WriteFile] uses. It exists so that
// tests can hand WriteFile, through [CreateTemp], a file whose Write or
// Sync fails part way.
type File interface {
	io.Writer
	Name() string
	Chmod(fs.FileMode) error
	Chown(uid, gid int) error
	Sync() error
	Close() error
}

// An Option changes how [WriteFile] writes.
type Option func(*options)

type options struct {
	uid, gid   int
	exclusive  bool
	createTemp func(dir, pattern string) (File, error)
}

// Exclusive makes [WriteFile] create path only if it does not exist: the
// complete temp file is hard-linked into place instead of renamed over it,
// and an existing path fails with an error matching fs.ErrExist (another
// writer won; its file is left as it is).
func Exclusive() Option {
	return func(o *options) { o.exclusive = true }
}

// Owner gives the file to uid and gid before it is renamed into place. A
// negative uid leaves the file owned by the writing process, as without
// the option.
func Owner(uid, gid int) Option {
	return func(o *options) { o.uid, o.gid = uid, gid }
}

// CreateTemp makes [WriteFile] open its temp file with fn instead of
// os.CreateTemp; tests use it to inject failures.
func CreateTemp(fn func(dir, pattern string) (File, error)) Option {
	return func(o *options) { o.createTemp = fn }
}

// tempPattern is the os.CreateTemp pattern of the temp file written next
// to a target named base: a hidden name that says what it is.
func tempPattern(base string) string { return "." + base + ".tmp-*" }

// WriteFile replaces path with data, mode perm: it writes a temp file in
// path's directory, sets its mode (and owner), fsyncs it, renames it over
// path (links it, with [Exclusive]) and fsyncs the directory. Errors name path and the step that
// failed.
func WriteFile(path string, data []byte, perm fs.FileMode, opts ...Option) (err error) {
	o := options{uid: -1, gid: -1, createTemp: osCreateTemp}
	for _, opt := range opts {
		opt(&o)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := o.createTemp(dir, tempPattern(base))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// Restrict the mode before any byte is written.
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if o.uid >= 0 {
		if err := f.Chown(o.uid, o.gid); err != nil {
			return fmt.Errorf("write %s: set owner %d:%d: %w", path, o.uid, o.gid, err)
		}
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", path, err)
	}
	if o.exclusive {
		if err := os.Link(tmp, path); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		os.Remove(tmp)
	} else if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func osCreateTemp(dir, pattern string) (File, error) { return os.CreateTemp(dir, pattern) }

// Rename renames oldpath to newpath and fsyncs newpath's directory, so
// that the rename survives a crash.
func Rename(oldpath, newpath string) error {
	if err := os.Rename(oldpath, newpath); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(newpath))
}

// SyncDir fsyncs a directory so that a rename, creation or removal in it
// survives a crash. A file system that cannot fsync a directory is not an
// error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

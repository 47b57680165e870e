package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// tempFile is the part of *os.File that an atomic write uses. It exists so
// that tests can inject a file whose Write or Sync fails part way.
type tempFile interface {
	io.Writer
	Name() string
	Chmod(os.FileMode) error
	Chown(uid, gid int) error
	Sync() error
	Close() error
}

// owner says who a written file belongs to; a negative UID leaves the file
// owned by the writing process.
type owner struct{ UID, GID int }

var noOwner = owner{UID: -1, GID: -1}

// fileWriter writes whole files atomically: a temp file in the target's
// directory, fsync, chmod and chown, rename over the target, fsync of the
// directory. A reader sees either the old file or the complete new one, and
// after a crash the directory holds one of the two.
type fileWriter struct {
	// createTemp opens the temp file; nil means os.CreateTemp.
	createTemp func(dir, pattern string) (tempFile, error)
}

func (w fileWriter) create(dir, pattern string) (tempFile, error) {
	if w.createTemp != nil {
		return w.createTemp(dir, pattern)
	}
	return os.CreateTemp(dir, pattern)
}

// write replaces path with data, mode perm, owned by o.
func (w fileWriter) write(path string, data []byte, perm os.FileMode, o owner) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := w.create(dir, "."+base+".tmp-*")
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
	// Restrict the mode before any byte is written, so a key is never
	// readable by others, not even half-written.
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if o.UID >= 0 {
		if err := f.Chown(o.UID, o.GID); err != nil {
			return fmt.Errorf("write %s: set owner %d:%d: %w", path, o.UID, o.GID, err)
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
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

// rename renames oldpath to newpath and makes the rename durable.
func rename(oldpath, newpath string) error {
	if err := os.Rename(oldpath, newpath); err != nil {
		return err
	}
	return syncDir(filepath.Dir(newpath))
}

// syncDir fsyncs a directory so that a rename or removal in it survives a
// crash.
func syncDir(dir string) error {
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

package discovery

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// DefaultMaxFileBytes caps how much of one file the scanner reads.
const DefaultMaxFileBytes = 4 << 20

// maxLinkHops bounds symlink resolution, as the kernel's ELOOP does.
const maxLinkHops = 40

// ErrTooLarge is returned by [Root.ReadFile] for a file over the size cap.
var ErrTooLarge = errors.New("file exceeds the scanner's size cap")

// ErrNotRegular is returned by [Root.ReadFile] for directories, devices,
// FIFOs and sockets.
var ErrNotRegular = errors.New("not a regular file")

// Root is a host's filesystem seen from a scan root, as in a chroot: every
// name is an absolute path inside the root, and symbolic links, absolute or
// relative, are resolved inside it. A link can never lead out of the root.
//
// Root reads only regular files and never reads more than MaxFileBytes of
// one file.
type Root struct {
	dir  string
	fsys FS
	// MaxFileBytes caps ReadFile; zero means DefaultMaxFileBytes.
	MaxFileBytes int64
	// dirs caches resolved directories (in-root path to resolved in-root
	// path). A Root lives for one scan, so a link changed during the scan
	// may be seen as it was when first resolved, as with any snapshot.
	dirs sync.Map
}

// NewRoot returns a Root for the directory dir ("/" for the running host).
func NewRoot(dir string) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("scan root %q: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("scan root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("scan root %q is not a directory", dir)
	}
	return &Root{dir: abs, fsys: osFS{}}, nil
}

// NewRootFS returns a Root for the whole of fsys (a remote host's "/" or the
// chroot an SFTP server confines its account to).
func NewRootFS(fsys FS) *Root { return &Root{dir: "/", fsys: fsys} }

// Dir returns the host directory of the root.
func (r *Root) Dir() string { return r.dir }

// host maps a clean absolute in-root path to a host path.
func (r *Root) host(p string) string {
	if r.dir == "/" {
		return p
	}
	return r.dir + p
}

// Resolve follows every symbolic link in name inside the root and returns the
// resulting clean in-root path. The last element need not exist.
func (r *Root) Resolve(name string) (string, error) {
	return r.resolve(name, true)
}

func (r *Root) resolve(name string, followLast bool) (string, error) {
	clean := path.Clean("/" + name)
	if clean == "/" {
		return "/", nil
	}
	dir, base := path.Split(clean)
	dir = path.Clean(dir)
	rdir, ok := r.dirs.Load(dir)
	if !ok {
		d, err := r.resolveWalk(dir)
		if err != nil {
			return "", r.pathError("resolve", name, errors.Unwrap(err))
		}
		r.dirs.Store(dir, d)
		rdir = d
	}
	next := path.Join(rdir.(string), base)
	if !followLast {
		return next, nil
	}
	fi, err := r.fsys.Lstat(r.host(next))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return next, nil
	case err != nil:
		return "", r.pathError("resolve", name, err)
	case fi.Mode()&fs.ModeSymlink == 0:
		return next, nil
	}
	// The last element is a link: follow it the long way.
	return r.resolveWalk(clean)
}

// resolveWalk resolves name one element at a time, following links.
func (r *Root) resolveWalk(name string) (string, error) {
	if !path.IsAbs(name) {
		name = "/" + name
	}
	pending := strings.Split(strings.TrimPrefix(path.Clean(name), "/"), "/")
	cur := "/"
	hops := 0
	for len(pending) > 0 {
		elem := pending[0]
		pending = pending[1:]
		switch elem {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur) // path.Dir("/") == "/": never above the root
			continue
		}
		next := path.Join(cur, elem)
		fi, err := r.fsys.Lstat(r.host(next))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && len(pending) == 0 {
				return next, nil
			}
			return "", r.pathError("resolve", name, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		hops++
		if hops > maxLinkHops {
			return "", r.pathError("resolve", name, syscall.ELOOP)
		}
		target, err := r.fsys.Readlink(r.host(next))
		if err != nil {
			return "", r.pathError("resolve", name, err)
		}
		if path.IsAbs(target) {
			cur = "/"
		}
		pending = append(strings.Split(target, "/"), pending...)
	}
	return cur, nil
}

func (r *Root) pathError(op, name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// Stat returns the FileInfo of name after resolving links inside the root.
func (r *Root) Stat(name string) (fs.FileInfo, error) {
	p, err := r.resolve(name, true)
	if err != nil {
		return nil, err
	}
	fi, err := r.fsys.Lstat(r.host(p))
	if err != nil {
		return nil, r.pathError("stat", name, err)
	}
	return fi, nil
}

// Readlink returns the target of the link name, unresolved.
func (r *Root) Readlink(name string) (string, error) {
	p, err := r.resolve(name, false)
	if err != nil {
		return "", err
	}
	t, err := r.fsys.Readlink(r.host(p))
	if err != nil {
		return "", r.pathError("readlink", name, err)
	}
	return t, nil
}

// ReadDir lists the directory name, sorted by file name.
func (r *Root) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := r.resolve(name, true)
	if err != nil {
		return nil, err
	}
	ents, err := r.fsys.ReadDir(r.host(p))
	if err != nil {
		return nil, r.pathError("readdir", name, err)
	}
	return ents, nil
}

// ReadFile reads the regular file name, resolving links inside the root.
// It refuses special files and files larger than the cap.
func (r *Root) ReadFile(name string) ([]byte, error) {
	data, _, err := r.ReadFileInfo(name)
	return data, err
}

// ReadFileInfo is ReadFile that also returns the file's FileInfo, for
// callers that report modes or ages.
func (r *Root) ReadFileInfo(name string) ([]byte, fs.FileInfo, error) {
	p, err := r.resolve(name, true)
	if err != nil {
		return nil, nil, err
	}
	max := r.MaxFileBytes
	if max <= 0 {
		max = DefaultMaxFileBytes
	}
	data, fi, err := r.fsys.ReadRegular(r.host(p), max)
	if err != nil {
		op := "read"
		if fi == nil {
			op = "open"
		}
		return nil, fi, r.pathError(op, name, err)
	}
	return data, fi, nil
}

// Glob returns the in-root paths matching pattern (path.Match syntax, one
// directory level per element), sorted. Unreadable directories match nothing.
func (r *Root) Glob(pattern string) []string {
	dir, file := path.Split(pattern)
	dir = path.Clean(dir)
	ents, err := r.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if ok, _ := path.Match(file, e.Name()); ok {
			out = append(out, path.Join(dir, e.Name()))
		}
	}
	return out
}

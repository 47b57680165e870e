package discovery

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/scan"
)

// process is one live process.
type process struct {
	PID, UID      int
	Comm, Cmdline string // Cmdline with secret-looking args redacted
}

// listener is a listening socket and the uid of the process that owns it.
type listener struct {
	scan.Socket
	UID int
}

// readProc reads live processes and listening sockets from a proc
// filesystem mounted at procDir (a host path, not a path in the scan root).
// Processes that exit while being read are skipped silently, as are file
// descriptors that cannot be read. A listener whose process is not found
// (another user's, without privilege) keeps the socket's own uid and no PID.
func readProc(procDir string, w *warnings) ([]process, []listener) {
	procs, ls, _ := readProcFS(osFS{}, procDir, w)
	return procs, ls
}

// maxProcesses bounds the processes one scan reads (a host's pid_max is
// 4,194,304 at most; a hostile remote /proc may list more).
const maxProcesses = 65_536

// readProcFS is readProc on the filesystem fsys (a remote host's /proc
// over SFTP, for one); live reports whether procDir could be listed.
func readProcFS(fsys FS, procDir string, w *warnings) (procs []process, _ []listener, live bool) {
	ents, err := fsys.ReadDir(procDir)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		w.add(procDir, 0, "no live processes or sockets: cannot list %s: %v", procDir, err)
		return nil, nil, false
	}
	read := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if read++; read > maxProcesses {
			w.add(procDir, 0, "more than %d processes: the others are not read", maxProcesses)
			break
		}
		if p, ok := readProcess(fsys, filepath.Join(procDir, e.Name()), pid); ok {
			procs = append(procs, p)
		}
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i].PID < procs[j].PID })

	var socks []procSocket
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		file := filepath.Join(procDir, "net", proto)
		data, err := procRead(fsys, file)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				w.add(file, 0, "unreadable socket table: %v", err)
			}
			continue
		}
		lines(data, func(n int, line string) {
			if n == 1 || strings.TrimSpace(line) == "" {
				return // header
			}
			s, listening, err := parseProcNetLine(proto, line)
			if err != nil {
				w.add(file, n, "%v", err)
				return
			}
			if listening {
				socks = append(socks, s)
			}
		})
	}
	if len(socks) == 0 {
		return procs, nil, true
	}

	// Map socket inodes to the lowest pid that holds them.
	want := map[uint64]bool{}
	for _, s := range socks {
		want[s.inode] = true
	}
	owner := map[uint64]process{}
	for _, p := range procs {
		fdDir := filepath.Join(procDir, strconv.Itoa(p.PID), "fd")
		fds, err := fsys.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			t, err := fsys.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || !strings.HasPrefix(t, "socket:[") {
				continue
			}
			ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(t, "socket:["), "]"), 10, 64)
			if _, seen := owner[ino]; err == nil && want[ino] && !seen {
				owner[ino] = p
			}
		}
	}
	var out []listener
	seen := map[listener]bool{}
	for _, s := range socks {
		l := listener{Socket: s.Socket, UID: s.uid}
		if p, ok := owner[s.inode]; ok {
			l.PID, l.Process, l.UID = p.PID, p.Comm, p.UID
		}
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return procs, out, true
}

// readProcess reads status, comm and cmdline of one process directory.
func readProcess(fsys FS, dir string, pid int) (process, bool) {
	status, err := procRead(fsys, filepath.Join(dir, "status"))
	if err != nil {
		return process{}, false
	}
	uid := -1
	lines(status, func(_ int, line string) {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				if n, err := strconv.Atoi(f[0]); err == nil {
					uid = n
				}
			}
		}
	})
	if uid < 0 {
		return process{}, false
	}
	comm, _ := procRead(fsys, filepath.Join(dir, "comm"))
	cmdline, _ := procRead(fsys, filepath.Join(dir, "cmdline"))
	args := strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")
	if len(cmdline) == 0 {
		args = nil
	}
	return process{PID: pid, UID: uid, Comm: strings.TrimSpace(string(comm)),
		Cmdline: strings.Join(redactArgs(args), " ")}, true
}

// procSocket is one socket of a /proc/net table.
type procSocket struct {
	scan.Socket
	uid   int
	inode uint64
}

// parseProcNetLine parses one line of /proc/net/{tcp,tcp6,udp,udp6} and
// reports whether the socket listens: a TCP socket in state LISTEN (0A), or
// an unconnected UDP socket (state 07 with no remote address).
func parseProcNetLine(proto, line string) (procSocket, bool, error) {
	f := strings.Fields(line)
	if len(f) < 10 {
		return procSocket{}, false, fmt.Errorf("socket line has %d fields, want at least 10", len(f))
	}
	ip, port, err := parseHexAddr(f[1], binary.NativeEndian)
	if err != nil {
		return procSocket{}, false, fmt.Errorf("local address: %w", err)
	}
	rip, rport, err := parseHexAddr(f[2], binary.NativeEndian)
	if err != nil {
		return procSocket{}, false, fmt.Errorf("remote address: %w", err)
	}
	state, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil {
		return procSocket{}, false, fmt.Errorf("bad socket state")
	}
	uid, err := strconv.Atoi(f[7])
	if err != nil {
		return procSocket{}, false, fmt.Errorf("bad socket uid")
	}
	inode, err := strconv.ParseUint(f[9], 10, 64)
	if err != nil {
		return procSocket{}, false, fmt.Errorf("bad socket inode")
	}
	var listening bool
	if strings.HasPrefix(proto, "tcp") {
		listening = state == 0x0A
	} else {
		listening = state == 0x07 && rip.IsUnspecified() && rport == 0
	}
	s := procSocket{Socket: scan.Socket{Proto: proto, Address: ip.String(), Port: port, Loopback: ip.IsLoopback()},
		uid: uid, inode: inode}
	return s, listening, nil
}

// parseHexAddr decodes the kernel's "ADDR:PORT": the address as 32-bit
// words printed in the host's byte order (order: binary.NativeEndian for
// this host's /proc; little-endian on x86 and arm64, big-endian on s390x),
// the port in hex.
func parseHexAddr(s string, order binary.ByteOrder) (net.IP, int, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || len(a) != 8 && len(a) != 32 {
		return nil, 0, errors.New("not HEXADDR:HEXPORT")
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return nil, 0, errors.New("address is not hex")
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return nil, 0, errors.New("port is not hex")
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(ip[i:], order.Uint32(raw[i:]))
	}
	return ip, int(port), nil
}

// procRead reads a file of a proc filesystem: locally as os.ReadFile does,
// elsewhere within the scanner's size cap.
func procRead(fsys FS, name string) ([]byte, error) {
	if _, ok := fsys.(osFS); ok {
		return os.ReadFile(name)
	}
	data, _, err := fsys.ReadRegular(name, DefaultMaxFileBytes)
	return data, err
}

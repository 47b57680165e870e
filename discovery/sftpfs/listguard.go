package sftpfs

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// SFTP (draft-ietf-secsh-filexfer-02) packet types the guard reads.
const (
	fxpClose   = 4
	fxpReaddir = 12
	fxpStatus  = 101
	fxpName    = 104
)

// maxPacket is the largest packet the guard passes to the client: pkg/sftp's
// own limit (256 KiB), so a longer one fails here with a clear error.
const maxPacket = 256 << 10

// statusTooManyEntries is the status code the guard answers a READDIR with
// once the directory is over the cap: outside the protocol's codes, so that
// [FS.ReadDir] tells it from the server's own answers.
const statusTooManyEntries = 0x524f0001

// listGuard sits between the SFTP client and the SSH channel and enforces
// the entry cap of a directory listing while it arrives: it notes each
// READDIR request's handle (client to server) and counts the entries of
// the NAME packets that answer them (server to client). When a handle's
// count passes limit, the guard hands the client a failure status instead
// of the entries, so pkg/sftp's ReadDir stops (and closes the handle)
// after at most one packet (256 KiB) beyond the cap, however long the
// server's listing.
type listGuard struct {
	limit int // entries per handle, "." and ".." included

	mu       sync.Mutex
	readdirs map[uint32]string // a pending READDIR's id: its handle
	counts   map[string]int    // a listed handle: entries so far
	sent     []byte            // a partial client packet
	skip     int               // bytes of a long client packet to pass unread
	lost     error             // why the server's stream ended
}

func newListGuard(limit int) *listGuard {
	return &listGuard{limit: limit, readdirs: map[uint32]string{}, counts: map[string]int{}}
}

// guardWriter is the client's side of the channel: what it sends is
// passed on unchanged, and read for READDIR and CLOSE requests.
type guardWriter struct {
	io.WriteCloser
	g *listGuard
}

func (w guardWriter) Write(p []byte) (int, error) {
	w.g.observe(p)
	return w.WriteCloser.Write(p)
}

// observe reads the client's packet stream p, in any cut.
func (g *listGuard) observe(p []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(p) > 0 {
		if g.skip > 0 {
			n := min(g.skip, len(p))
			g.skip -= n
			p = p[n:]
			continue
		}
		need := 4
		if len(g.sent) >= 4 {
			length := int(binary.BigEndian.Uint32(g.sent))
			if length == 0 || length > maxPacket {
				// Not a request the guard reads (the client sends no such
				// packet): pass it on.
				g.skip, g.sent = length, g.sent[:0]
				continue
			}
			need = 4 + length
		}
		n := min(need-len(g.sent), len(p))
		g.sent = append(g.sent, p[:n]...)
		p = p[n:]
		if len(g.sent) == need && need > 4 {
			g.request(g.sent[4:])
			g.sent = g.sent[:0]
		}
	}
}

// request notes a READDIR's handle and forgets a closed one's count.
func (g *listGuard) request(pkt []byte) {
	if len(pkt) < 9 || pkt[0] != fxpReaddir && pkt[0] != fxpClose {
		return
	}
	id := binary.BigEndian.Uint32(pkt[1:5])
	n := binary.BigEndian.Uint32(pkt[5:9])
	if uint64(n) > uint64(len(pkt)-9) {
		return
	}
	handle := string(pkt[9 : 9+n])
	if pkt[0] == fxpReaddir {
		g.readdirs[id] = handle
	} else {
		delete(g.counts, handle)
	}
}

// guardReader is the server's side of the channel: whole packets, with a
// NAME packet that takes a listing over the cap replaced by a status.
type guardReader struct {
	r   io.Reader
	g   *listGuard
	buf []byte // the packet being handed to the client
	out []byte // what of it is left to hand
}

func (r *guardReader) Read(p []byte) (int, error) {
	if len(r.out) == 0 {
		if err := r.next(); err != nil {
			r.g.mu.Lock()
			if r.g.lost == nil {
				r.g.lost = err
			}
			r.g.mu.Unlock()
			return 0, err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// next reads the server's next packet into r.out.
func (r *guardReader) next() error {
	var head [4]byte
	if _, err := io.ReadFull(r.r, head[:]); err != nil {
		return err
	}
	length := binary.BigEndian.Uint32(head[:])
	if length == 0 || length > maxPacket {
		return fmt.Errorf("sftp server sent a packet of %d bytes (the limit is %d)", length, maxPacket)
	}
	if cap(r.buf) < 4+int(length) {
		r.buf = make([]byte, 4+length)
	}
	r.buf = r.buf[:4+length]
	copy(r.buf, head[:])
	if _, err := io.ReadFull(r.r, r.buf[4:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	r.out = r.g.answer(r.buf)
	return nil
}

// answer returns what the client gets for the server's packet pkt (length
// included): pkt itself, or a status once a listing is over the cap.
func (g *listGuard) answer(pkt []byte) []byte {
	if len(pkt) < 9 || pkt[4] < fxpStatus {
		return pkt // VERSION: no id
	}
	id := binary.BigEndian.Uint32(pkt[5:9])
	g.mu.Lock()
	defer g.mu.Unlock()
	handle, ok := g.readdirs[id]
	delete(g.readdirs, id) // answered: a listing ends with an EOF status
	if !ok || pkt[4] != fxpName || len(pkt) < 13 {
		return pkt // not a listing's entries (a READLINK's or REALPATH's name)
	}
	g.counts[handle] += int(binary.BigEndian.Uint32(pkt[9:13]))
	if g.counts[handle] <= g.limit {
		return pkt
	}
	msg := fmt.Sprintf("directory listing over %d entries", g.limit)
	st := binary.BigEndian.AppendUint32(nil, uint32(1+4+4+4+len(msg)+4))
	st = append(st, fxpStatus)
	st = binary.BigEndian.AppendUint32(st, id)
	st = binary.BigEndian.AppendUint32(st, statusTooManyEntries)
	st = binary.BigEndian.AppendUint32(st, uint32(len(msg)))
	st = append(st, msg...)
	return binary.BigEndian.AppendUint32(st, 0) // no language tag
}

package sftpfs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"reflect"
	"testing"
)

// guardState is what the guard still tracks: pending READDIRs and open
// listings (for tests: both end with the listing).
func (f *FS) guardState() []string {
	g := f.guard
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for id, h := range g.readdirs {
		out = append(out, fmt.Sprintf("readdir %d %q", id, h))
	}
	for h, n := range g.counts {
		out = append(out, fmt.Sprintf("listing %q: %d", h, n))
	}
	return out
}

// packets splits an SFTP stream into whole packets (length included),
// stopping at the first that is cut short or over maxPacket.
func packets(stream []byte) [][]byte {
	var out [][]byte
	for len(stream) >= 4 {
		n := binary.BigEndian.Uint32(stream)
		if n == 0 || n > maxPacket || uint64(len(stream)-4) < uint64(n) {
			break
		}
		out = append(out, stream[:4+n])
		stream = stream[4+n:]
	}
	return out
}

// FuzzListGuard: whatever the client sends (in whatever cuts) and the
// server answers, the guard hands the client the server's packets
// unchanged and whole, but for a listing's NAME packet replaced by a
// status of the same id, and never panics.
func FuzzListGuard(f *testing.F) {
	readdir := []byte{0, 0, 0, 13, fxpReaddir, 0, 0, 0, 7, 0, 0, 0, 4, 'h', 'a', 'n', 'd'}
	name := func(id byte, count byte) []byte {
		return []byte{0, 0, 0, 9, fxpName, 0, 0, 0, id, 0, 0, 0, count}
	}
	f.Add(readdir, append(name(7, 2), name(7, 9)...), 5, 3)
	f.Add(append(readdir, readdir...), name(7, 4), 20, 1)
	f.Add([]byte{0, 0, 0, 0, 1, 2}, []byte{0, 0, 0, 5, 101, 0, 0, 0, 7}, 0, 0)
	f.Fuzz(func(t *testing.T, client, server []byte, cut, limit int) {
		cut = min(max(cut, 0), len(client))
		whole, pieces := newListGuard(limit), newListGuard(limit)
		whole.observe(client)
		pieces.observe(client[:cut])
		pieces.observe(client[cut:])
		if !reflect.DeepEqual(whole.readdirs, pieces.readdirs) || !reflect.DeepEqual(whole.counts, pieces.counts) {
			t.Fatalf("a cut at %d changes what the guard saw: %v %v, %v %v", cut, whole.readdirs, whole.counts, pieces.readdirs, pieces.counts)
		}
		got, _ := io.ReadAll(&guardReader{r: bytes.NewReader(server), g: whole})
		in, out := packets(server), packets(got)
		if len(out) != len(in) || len(bytes.Join(out, nil)) != len(got) {
			t.Fatalf("%d packets in, %d out (%d bytes of %d whole)", len(in), len(out), len(bytes.Join(out, nil)), len(got))
		}
		for i, p := range out {
			if bytes.Equal(p, in[i]) {
				continue
			}
			if in[i][4] != fxpName || p[4] != fxpStatus || !bytes.Equal(p[5:9], in[i][5:9]) ||
				binary.BigEndian.Uint32(p[9:13]) != statusTooManyEntries {
				t.Fatalf("packet %d: %x became %x", i, in[i], p)
			}
		}
	})
}

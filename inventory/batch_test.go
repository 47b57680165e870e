package inventory

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/store"
)

var batchSeed = flag.Uint64("batch.seed", 0, "seed of TestBatchTxMatchesTx (0: from the clock)")

// op is one operation of a script run against a plain transaction and a
// batch's write-behind view of one.
type op struct {
	kind  string // put, del, get, scan, stop (a scan that stops after one key)
	table string
	key   string // a key, or a scan prefix ("" for the whole table)
	value string
}

func key(parts ...string) string { return string(store.Join(parts...)) }

// run applies ops to tx and returns what the reads saw.
func run(t *testing.T, tx store.Tx, ops []op) []string {
	t.Helper()
	var out []string
	for _, o := range ops {
		switch o.kind {
		case "put":
			if err := tx.Put(o.table, []byte(o.key), []byte(o.value)); err != nil {
				t.Fatal(err)
			}
		case "del":
			if err := tx.Delete(o.table, []byte(o.key)); err != nil {
				t.Fatal(err)
			}
		case "get":
			v, err := tx.Get(o.table, []byte(o.key))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("get %q = %q (nil %v)", o.key, v, v == nil))
		case "scan", "stop":
			var prefix []byte
			if o.key != "" {
				prefix = []byte(o.key)
			}
			var seen []string
			err := tx.Scan(o.table, prefix, func(k, v []byte) error {
				seen = append(seen, fmt.Sprintf("%q=%q", k, v))
				if o.kind == "stop" {
					return store.ErrStop
				}
				return nil
			})
			if err != nil && !errors.Is(err, store.ErrStop) {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %q: %s", o.kind, o.key, strings.Join(seen, " ")))
		}
	}
	return out
}

func dump(t *testing.T, s store.Store) string {
	t.Helper()
	var b strings.Builder
	err := s.View(bg, func(tx store.Tx) error {
		for _, table := range append([]string{"other"}, writeBehind...) {
			if err := tx.Scan(table, nil, func(k, v []byte) error {
				fmt.Fprintf(&b, "%s %q=%q\n", table, k, v)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func openStore(t *testing.T, name string) *store.Bolt {
	t.Helper()
	s, err := store.OpenBolt(filepath.Join(t.TempDir(), name), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// compare runs ops on two stores holding seed: directly, and through a
// batch's write-behind view flushed at the end. Every read and the final
// contents must agree.
func compare(t *testing.T, seed, ops []op) {
	t.Helper()
	plain, batched := openStore(t, "plain.db"), openStore(t, "batched.db")
	for _, s := range []*store.Bolt{plain, batched} {
		if err := s.Update(bg, func(tx store.Tx) error { run(t, tx, seed); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	var want, got []string
	if err := plain.Update(bg, func(tx store.Tx) error { want = run(t, tx, ops); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := batched.Update(bg, func(tx store.Tx) error {
		view, flush := wrapBatch(tx)
		got = run(t, view, ops)
		return flush()
	}); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("read %d through the batch:\n got %v\nwant %v", i, got[i:], want[i])
		}
	}
	if d, w := dump(t, batched), dump(t, plain); d != w {
		t.Errorf("after the flush the batch's store holds\n%s\nthe plain store\n%s", d, w)
	}
}

func TestBatchTxMatchesTx(t *testing.T) {
	seed := []op{
		{kind: "put", table: tInst, key: key("h1", "app"), value: "app-1"},
		{kind: "put", table: tInst, key: key("h1", "db"), value: "db-1"},
		{kind: "put", table: tInst, key: key("h2", "app"), value: "app-2"},
		{kind: "put", table: tFP, key: key("fpA", "h1", "app"), value: "t"},
		{kind: "put", table: "other", key: "x", value: "1"},
	}
	for _, tc := range []struct {
		desc string
		ops  []op
	}{
		{"a Scan of one part merges the batch's writes in order", []op{
			{kind: "put", table: tInst, key: key("h1", "cron"), value: "new"},
			{kind: "put", table: tInst, key: key("h1", "zz"), value: "new"},
			{kind: "put", table: tInst, key: key("h1", "app"), value: "changed"},
			{kind: "del", table: tInst, key: key("h1", "db")},
			{kind: "scan", table: tInst, key: key("h1") + "\x00"},
			{kind: "scan", table: tInst, key: key("h2") + "\x00"},
		}},
		{"Gets see the last write of a key", []op{
			{kind: "put", table: tInst, key: key("h1", "app"), value: "v2"},
			{kind: "put", table: tInst, key: key("h1", "app"), value: "v3"},
			{kind: "get", table: tInst, key: key("h1", "app")},
			{kind: "del", table: tInst, key: key("h1", "db")},
			{kind: "get", table: tInst, key: key("h1", "db")},
			{kind: "del", table: tInst, key: key("h2", "app")},
			{kind: "put", table: tInst, key: key("h2", "app"), value: "back"},
			{kind: "get", table: tInst, key: key("h2", "app")},
			{kind: "get", table: tInst, key: key("h9", "none")},
		}},
		{"a Scan stopped early stops", []op{
			{kind: "put", table: tFP, key: key("fpA", "h0", "a"), value: "t"},
			{kind: "put", table: tFP, key: key("fpA", "h2", "a"), value: "t"},
			{kind: "stop", table: tFP, key: key("fpA") + "\x00"},
			{kind: "scan", table: tFP, key: key("fpA") + "\x00"},
		}},
		{"other Scans apply the writes first", []op{
			{kind: "put", table: tInst, key: key("h3", "a"), value: "n"},
			{kind: "del", table: tInst, key: key("h1", "app")},
			{kind: "scan", table: tInst},
			{kind: "scan", table: tInst, key: "h"},
			{kind: "put", table: tInst, key: key("h0", "a"), value: "after"},
			{kind: "scan", table: tInst},
		}},
		{"tables not written behind go to the transaction", []op{
			{kind: "put", table: "other", key: "y", value: "2"},
			{kind: "scan", table: "other"},
			{kind: "del", table: "other", key: "x"},
			{kind: "get", table: "other", key: "x"},
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) { compare(t, seed, tc.ops) })
	}
}

// TestBatchTxRandom runs random scripts; -batch.seed replays one.
func TestBatchTxRandom(t *testing.T) {
	s := *batchSeed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -batch.seed %d)", s, s)
	rng := rand.New(rand.NewPCG(s, 0))
	pick := func(l ...string) string { return l[rng.IntN(len(l))] }
	randKey := func() string {
		if rng.IntN(8) == 0 {
			return pick("h1", "h2") // a key of one part
		}
		return key(pick("h1", "h2", "h3"), pick("a", "b", "c", "d"))
	}
	for n := 0; n < 20; n++ {
		var seed, ops []op
		for i := 0; i < 10; i++ {
			seed = append(seed, op{kind: "put", table: pick(tInst, tFP), key: randKey(), value: fmt.Sprint("s", i)})
		}
		for i := 0; i < 60; i++ {
			o := op{table: pick(tInst, tFP, "other"), key: randKey(), value: fmt.Sprint("v", i)}
			switch r := rng.IntN(10); {
			case r < 4:
				o.kind = "put"
			case r < 6:
				o.kind = "del"
			case r < 8:
				o.kind = "get"
			default:
				o.kind = pick("scan", "stop")
				o.key = pick("", "h", key(pick("h1", "h2", "h3"))+"\x00")
			}
			ops = append(ops, o)
		}
		compare(t, seed, ops)
	}
}

func TestLastOfEach(t *testing.T) {
	e := func(k string, seq int32) wbEntry { return wbEntry{k: []byte(k), seq: seq} }
	got := lastOfEach([]wbEntry{e("a", 0), e("a", 3), e("b", 1), e("c", 2), e("c", 4)})
	var keys []string
	for _, x := range got {
		keys = append(keys, fmt.Sprintf("%s%d", x.k, x.seq))
	}
	if s := strings.Join(keys, " "); s != "a3 b1 c4" {
		t.Errorf("lastOfEach = %s", s)
	}
	if !bytes.Equal(firstPart([]byte("a\x00b")), []byte("a")) || !bytes.Equal(firstPart([]byte("ab")), []byte("ab")) {
		t.Error("firstPart")
	}
}

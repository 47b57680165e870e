package inventory

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"

	"github.com/rosterhq/roster/store"
)

// Group-commit batches. Concurrent writes (ingests, renewals, revocations,
// audit records) share one store transaction (store.Group). Inside a batch
// every request function sees a *batchTx, which the inventory gives the
// batch through store.GroupOptions.Wrap. It holds what the batch's requests
// share:
//
//   - the service account records they touch, decoded once and written
//     once, in key order, when the batch's last request succeeded;
//   - the history event counter, read once and written once;
//   - the writes to the tables ingest fills (instances, their links,
//     fingerprints, certificates, history), kept in memory and applied
//     at the end of the batch sorted by key, so that bbolt walks each
//     table once in order instead of jumping between pages; reads of those
//     tables see the batch's own writes first (write-behind);
//   - what the batch learned about fingerprint holders (fpCounts).
//
// A request that fails rolls the whole transaction back and the batch runs
// again without it (store.Group), with a fresh batchTx: nothing a failed
// run cached survives.

// writeBehind lists the tables whose writes a batch keeps until its end.
// Their keys are composite (store.Join), and the Scans made of them inside a
// batch name one first part (store.Prefix(part)); any other Scan of them
// first applies the batch's writes to the transaction.
var writeBehind = []string{tInst, tSAInst, tFP, tCertIdx, tHistory}

// batchTx is the Tx request functions see inside a group-commit batch.
type batchTx struct {
	store.Tx
	sas map[string]*saRecord
	// peek holds service account records read only to see which groups
	// a name lives in (groupsNamed); they are not written unless a request
	// takes them with txState.sa.
	peek map[string]*saRecord
	// named lists, per account name whose groups were scanned, the keys
	// of its records in sas or peek (a record the batch creates joins it).
	named map[string][]string
	// seq is the history event counter, once read.
	seq    uint64
	seqSet bool
	// fpCounts caches holder counts of fingerprint index keys, capped at
	// 2 (2 means "two or more, listed in fpshared"). Only ingest changes
	// the fingerprint index inside a batch, and it keeps the cache exact.
	fpCounts map[string]int
	wb       map[string]*wbTable
}

// wbTable is one write-behind table's pending writes, in the order made.
type wbTable struct {
	ents []wbEntry
	// byFirst lists the positions in ents of the writes by the keys' first
	// part (up to the first 0 byte), for Gets and for Scans of one part.
	byFirst map[string]*[]int32
}

type wbEntry struct {
	k, v []byte
	del  bool
	seq  int32 // position in ents: later writes of a key win
}

// wrapBatch is the inventory's store.GroupOptions.Wrap.
func wrapBatch(tx store.Tx) (store.Tx, func() error) {
	b := &batchTx{Tx: tx, sas: map[string]*saRecord{}, peek: map[string]*saRecord{}, named: map[string][]string{},
		fpCounts: map[string]int{}, wb: map[string]*wbTable{}}
	for _, t := range writeBehind {
		b.wb[t] = &wbTable{byFirst: map[string]*[]int32{}}
	}
	return b, b.flush
}

// flush writes everything the batch kept: the write-behind tables in key
// order, the event counter and the service account records.
func (b *batchTx) flush() error {
	for _, t := range writeBehind {
		if err := b.flushTable(t); err != nil {
			return err
		}
	}
	if b.seqSet {
		if err := b.Tx.Put(store.MetaTable, kEventSeq, store.U64(b.seq)); err != nil {
			return err
		}
	}
	return flushSAs(b.Tx, b.sas)
}

// byKey orders writes by key, then in the order made.
func byKey(x, y wbEntry) int {
	if c := bytes.Compare(x.k, y.k); c != 0 {
		return c
	}
	return int(x.seq - y.seq)
}

// lastOfEach keeps, of entries sorted byKey, the last of each key: the
// write that counts.
func lastOfEach(ents []wbEntry) []wbEntry {
	out := ents[:0]
	for i, e := range ents {
		if i+1 == len(ents) || !bytes.Equal(ents[i+1].k, e.k) {
			out = append(out, e)
		}
	}
	return out
}

// flushTable applies a table's pending writes in key order.
func (b *batchTx) flushTable(table string) error {
	w := b.wb[table]
	if len(w.ents) == 0 {
		return nil
	}
	slices.SortFunc(w.ents, byKey)
	for _, e := range lastOfEach(w.ents) {
		var err error
		if e.del {
			err = b.Tx.Delete(table, e.k)
		} else {
			err = b.Tx.Put(table, e.k, e.v)
		}
		if err != nil {
			return err
		}
	}
	w.ents = w.ents[:0]
	clear(w.byFirst)
	return nil
}

func firstPart(k []byte) []byte {
	if i := bytes.IndexByte(k, 0); i >= 0 {
		return k[:i]
	}
	return k
}

func (w *wbTable) set(e wbEntry) {
	f := firstPart(e.k)
	at := w.byFirst[string(f)]
	if at == nil {
		at = new([]int32)
		w.byFirst[string(f)] = at
	}
	e.seq = int32(len(w.ents))
	*at = append(*at, e.seq)
	w.ents = append(w.ents, e)
}

// latest returns the last write of key k, if any.
func (w *wbTable) latest(k []byte) (wbEntry, bool) {
	if at := w.byFirst[string(firstPart(k))]; at != nil {
		for i := len(*at) - 1; i >= 0; i-- {
			if e := w.ents[(*at)[i]]; bytes.Equal(e.k, k) {
				return e, true
			}
		}
	}
	return wbEntry{}, false
}

// Put keeps a write to a write-behind table; others go to the transaction.
// The value must not change afterwards (the store's Put has the same rule
// until commit).
func (b *batchTx) Put(table string, key, value []byte) error {
	if w := b.wb[table]; w != nil {
		w.set(wbEntry{k: bytes.Clone(key), v: value})
		return nil
	}
	return b.Tx.Put(table, key, value)
}

// Delete is Put's counterpart.
func (b *batchTx) Delete(table string, key []byte) error {
	if w := b.wb[table]; w != nil {
		w.set(wbEntry{k: bytes.Clone(key), del: true})
		return nil
	}
	return b.Tx.Delete(table, key)
}

// Get sees the batch's own writes first.
func (b *batchTx) Get(table string, key []byte) ([]byte, error) {
	if w := b.wb[table]; w != nil {
		if e, ok := w.latest(key); ok {
			if e.del {
				return nil, nil
			}
			return bytes.Clone(e.v), nil
		}
	}
	return b.Tx.Get(table, key)
}

// Scan merges the batch's writes into the transaction's keys, in order.
func (b *batchTx) Scan(table string, prefix []byte, fn func(k, v []byte) error) error {
	w := b.wb[table]
	if w == nil || len(w.ents) == 0 {
		return b.Tx.Scan(table, prefix, fn)
	}
	if i := bytes.IndexByte(prefix, 0); i < 0 || i != len(prefix)-1 {
		// Not a Scan of one first part: apply the writes, then read.
		if err := b.flushTable(table); err != nil {
			return err
		}
		return b.Tx.Scan(table, prefix, fn)
	}
	at := w.byFirst[string(prefix[:len(prefix)-1])]
	if at == nil {
		return b.Tx.Scan(table, prefix, fn)
	}
	var mine []wbEntry
	for _, i := range *at {
		if e := w.ents[i]; bytes.HasPrefix(e.k, prefix) {
			mine = append(mine, e)
		}
	}
	slices.SortFunc(mine, byKey)
	mine = lastOfEach(mine)
	var stop error
	emit := func(e wbEntry) error {
		if e.del {
			return nil
		}
		if err := fn(bytes.Clone(e.k), bytes.Clone(e.v)); err != nil {
			stop = err
			return err
		}
		return nil
	}
	err := b.Tx.Scan(table, prefix, func(k, v []byte) error {
		for len(mine) > 0 && bytes.Compare(mine[0].k, k) < 0 {
			if err := emit(mine[0]); err != nil {
				return err
			}
			mine = mine[1:]
		}
		if len(mine) > 0 && bytes.Equal(mine[0].k, k) {
			err := emit(mine[0])
			mine = mine[1:]
			return err
		}
		if err := fn(k, v); err != nil {
			stop = err
			return err
		}
		return nil
	})
	if err != nil || stop != nil {
		return err
	}
	for _, e := range mine {
		if err := emit(e); err != nil {
			return err
		}
	}
	return nil
}

// txState caches the service account records one write touches, and
// numbers its history events. Inside a group-commit batch the cache and
// the counter are the batch's, so a record is decoded and encoded once per
// batch, not once per request.
type txState struct {
	tx       store.Tx
	batch    *batchTx // nil outside a batch
	sas      map[string]*saRecord
	peek     map[string]*saRecord
	named    map[string][]string
	fpCounts map[string]int
	ev       int
	seq      uint64
	set      bool
}

var kEventSeq = []byte("seq/event")

func newTxState(tx store.Tx) *txState {
	if b, ok := tx.(*batchTx); ok {
		return &txState{tx: tx, batch: b, sas: b.sas, peek: b.peek, named: b.named, fpCounts: b.fpCounts}
	}
	return &txState{tx: tx, sas: map[string]*saRecord{}, peek: map[string]*saRecord{}, named: map[string][]string{},
		fpCounts: map[string]int{}}
}

// sa loads (or creates in memory) a service account record.
func (s *txState) sa(key string) (*saRecord, error) {
	if r, ok := s.sas[key]; ok {
		return r, nil
	}
	if r, ok := s.peek[key]; ok {
		delete(s.peek, key)
		s.sas[key] = r
		return r, nil
	}
	var r saRecord
	ok, err := getJSON(s.tx, tSA, []byte(key), &r)
	if err != nil {
		return nil, err
	}
	if !ok {
		name, group := splitKey(key)
		r = saRecord{Key: key, Name: name, Group: group}
	}
	s.sas[key] = &r
	if keys, ok := s.named[r.Name]; ok && !slices.Contains(keys, key) {
		s.named[r.Name] = append(keys, key)
	}
	return &r, nil
}

// groupsNamed returns the service account records of account name that
// this transaction (or batch) knows or has in the store, in no order.
// Records it had to read are not written back unless taken with sa.
func (s *txState) groupsNamed(name string) ([]*saRecord, error) {
	keys, ok := s.named[name]
	if !ok {
		err := s.tx.Scan(tSA, []byte(name+"@"), func(k, v []byte) error {
			if _, ok := s.sas[string(k)]; ok {
				keys = append(keys, string(k))
				return nil
			}
			r := new(saRecord)
			if err := jsonUnmarshal(tSA, k, v, r); err != nil {
				return err
			}
			if r.Name == name {
				s.peek[r.Key] = r
				keys = append(keys, r.Key)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		// Records created in memory and not yet in the store.
		for k, r := range s.sas {
			if r.Name == name && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		s.named[name] = keys
	}
	out := make([]*saRecord, 0, len(keys))
	for _, k := range keys {
		if r, ok := s.sas[k]; ok {
			out = append(out, r)
		} else if r, ok := s.peek[k]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *txState) event(e Event) error {
	seq, set := &s.seq, &s.set
	if s.batch != nil {
		seq, set = &s.batch.seq, &s.batch.seqSet
	}
	if !*set {
		v, err := s.tx.Get(store.MetaTable, kEventSeq)
		if err != nil {
			return err
		}
		if len(v) == 8 {
			*seq = binary.BigEndian.Uint64(v)
		}
		*set = true
	}
	*seq++
	s.ev++
	return putJSON(s.tx, tHistory, append(store.Prefix(e.Account), store.U64(*seq)...), e)
}

// flush writes, outside a batch, the event counter and the touched records
// (a batch writes them once, at its end).
func (s *txState) flush() error {
	if s.batch != nil {
		return nil
	}
	if s.set {
		if err := s.tx.Put(store.MetaTable, kEventSeq, store.U64(s.seq)); err != nil {
			return err
		}
	}
	return flushSAs(s.tx, s.sas)
}

// flushSAs writes service account records in key order.
func flushSAs(tx store.Tx, sas map[string]*saRecord) error {
	for _, k := range slices.Sorted(maps.Keys(sas)) {
		if err := putJSON(tx, tSA, []byte(k), sas[k]); err != nil {
			return err
		}
	}
	return nil
}

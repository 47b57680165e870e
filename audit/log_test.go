package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rosterhq/roster/store"
)

var bg = WithActor(context.Background(), "test")

func openStore(t *testing.T) *store.Bolt {
	t.Helper()
	s, err := store.OpenBolt(filepath.Join(t.TempDir(), "audit.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestTamperDetected(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		tamper func(t *testing.T, s *store.Bolt)
		seq    uint64
	}{
		{"edited detail", func(t *testing.T, s *store.Bolt) {
			editable(t, s, 2, func(e *Event) { e.Detail = "nothing happened" })
		}, 2},
		{"edited and rehashed", func(t *testing.T, s *store.Bolt) {
			editable(t, s, 2, func(e *Event) { e.Actor = "someone-else"; e.Hash = hash(e) })
		}, 3},
		{"deleted middle record", func(t *testing.T, s *store.Bolt) { s.Raw(table, store.U64(2), nil) }, 2},
		{"deleted last record", func(t *testing.T, s *store.Bolt) { s.Raw(table, store.U64(4), nil) }, 4},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			s := openStore(t)
			for i := 0; i < 4; i++ {
				if err := Record(bg, s, Event{Action: "test", Detail: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Verify(bg, s); err != nil {
				t.Fatalf("untouched log: %v", err)
			}
			tc.tamper(t, s)
			_, err := Verify(bg, s)
			var ae *Error
			if !errors.As(err, &ae) || !errors.Is(err, ErrTampered) || ae.Seq != tc.seq {
				t.Errorf("VerifyAudit = %v, want an AuditError at %d", err, tc.seq)
			}
		})
	}
}

func editable(t *testing.T, s *store.Bolt, seq uint64, edit func(*Event)) {
	t.Helper()
	var e Event
	s.View(bg, func(tx store.Tx) error {
		b, _ := tx.Get(table, store.U64(seq))
		return json.Unmarshal(b, &e)
	})
	edit(&e)
	b, _ := json.Marshal(e)
	if err := s.Raw(table, store.U64(seq), b); err != nil {
		t.Fatal(err)
	}
}

func TestListAndFilter(t *testing.T) {
	s := openStore(t)
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	Record(bg, s, Event{Time: t1, Action: "cert.issue", Account: "app", Host: "h", Serial: "01"})
	Record(bg, s, Event{Time: t1.Add(time.Hour), Action: "cert.renew", Account: "app", Host: "h", Serial: "02"})
	Record(bg, s, Event{Time: t1.Add(2 * time.Hour), Action: "owner.set", Account: "db@prod"})
	if err := Record(bg, s, Event{}); err == nil {
		t.Error("record without action accepted")
	}
	for _, tc := range []struct {
		f    Filter
		want int
	}{{Filter{}, 3}, {Filter{Account: "app"}, 2}, {Filter{Account: "db"}, 1}, {Filter{Since: t1.Add(30 * time.Minute)}, 2}, {Filter{Limit: 1}, 1}} {
		got, err := List(bg, s, tc.f)
		if err != nil || len(got) != tc.want {
			t.Errorf("List(%+v) = %d records, %v; want %d", tc.f, len(got), err, tc.want)
		}
	}
	all, _ := List(bg, s, Filter{})
	if len(all) != 3 || all[0].Actor != "test" || all[1].PrevHash != all[0].Hash {
		t.Errorf("records: %+v", all)
	}
}

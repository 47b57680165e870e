package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

var bg = context.Background()

// TestBolt runs the store contract suite against bbolt files, each checked
// by bbolt's own consistency check when the test ends.
func TestBolt(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() store.Store {
		path := filepath.Join(t.TempDir(), "test.db")
		return func() store.Store {
			s, err := store.OpenBolt(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			return checked{s, t}
		}
	})
}

// checked runs bbolt's check before closing.
type checked struct {
	*store.Bolt
	t *testing.T
}

func (c checked) Close() error {
	if err := c.Check(bg); err != nil {
		c.t.Errorf("bbolt check: %v", err)
	}
	return c.Bolt.Close()
}

package inventory_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/discovery"
	"github.com/rosterhq/roster/internal/hostile"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
)

// TestPlantedSecretsNeverStored scans a host whose processes carry every
// command line of the shared redaction corpus, ingests the report, and
// reads the whole bbolt file: no planted secret may be in it (issue 15,
// item 2: the values reached the report, the store and any viewer).
func TestPlantedSecretsNeverStored(t *testing.T) {
	proc := t.TempDir()
	cases := hostile.RedactionCases()
	var planted []string
	for i, c := range cases {
		dir := filepath.Join(proc, strconv.Itoa(1000+i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range map[string]string{
			"status":  "Name:\t" + filepath.Base(c.Args[0]) + "\nUid:\t1001\t1001\t1001\t1001\n",
			"comm":    filepath.Base(c.Args[0]) + "\n",
			"cmdline": strings.Join(c.Args, "\x00") + "\x00",
		} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		planted = append(planted, c.Planted...)
	}
	inv, path := inventorytest.Open(t, inventory.Options{})
	ctx := context.Background()
	key, err := inv.FingerprintKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := discovery.Scan(ctx, discovery.Options{Root: filepath.Join("..", "discovery", "testdata", "hosts", "debian-web"),
		ProcDir: proc, FingerprintKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Ingest(ctx, rep); err != nil {
		t.Fatal(err)
	}
	a, err := inv.GetAccount(ctx, "deploy")
	if err != nil || len(a.Instances) == 0 || len(a.Instances[0].Data.UsedBy) == 0 {
		t.Fatalf("deploy's processes did not reach the inventory: %+v, %v", a, err)
	}
	inventorytest.CheckClose(t, inv)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("[REDACTED]")) {
		t.Fatal("the store file holds no redacted command line: the test checks nothing")
	}
	for _, p := range planted {
		if bytes.Contains(raw, []byte(p)) {
			t.Errorf("the store file holds planted %q", p)
		}
	}
}

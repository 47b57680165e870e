package ca

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	catest "github.com/rosterhq/roster/ca/internal/csrtest"
	"github.com/rosterhq/roster/internal/pgtest"
	"github.com/smallstep/certificates/db"
)

// TestCRLTwoNodes opens two CAs on one PostgreSQL database, the second from
// a copy of the first's directory (two nodes), and revokes certificates on
// both at once. Every reissue runs under the database's lock: each
// revocation adds exactly one CRL number, none is refused or lost, and
// both nodes serve one CRL listing every revocation.
func TestCRLTwoNodes(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Options{})
	_, url := pg.NewDatabase()
	opts := Options{StoreURL: url, MinValidity: time.Second}
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a := initOpen(t, dirA, opts)
	defer a.Close()
	if out, err := exec.Command("cp", "-a", dirA, dirB).CombinedOutput(); err != nil {
		t.Fatalf("copying the directory: %v\n%s", err, out)
	}
	b, err := Open(dirB, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	first := parseCRL(t, a)
	if n := parseCRL(t, b).Number; n.Cmp(first.Number) != 0 {
		t.Fatalf("opening node B reissued the fresh CRL: number %v, A's %v", n, first.Number)
	}

	const perNode = 6
	ctx := context.Background()
	nodes := []*CA{a, b}
	serials := make([][]string, len(nodes))
	for i, c := range nodes {
		for j := range perNode {
			name := string(rune('a'+i)) + string(rune('0'+j))
			chain, err := c.Sign(ctx, catest.CSR(t, catest.Key(t, "EC", 0), name), identity(t, c.TrustDomain(), "h", name), 0)
			if err != nil {
				t.Fatal(err)
			}
			serials[i] = append(serials[i], chain[0].SerialNumber.String())
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)*perNode)
	for i, c := range nodes {
		for _, s := range serials[i] {
			wg.Go(func() { errs <- c.Revoke(ctx, s, "keyCompromise") })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("revoke: %v", err)
		}
	}

	want := slices.Concat(serials...)
	slices.Sort(want)
	for i, c := range nodes {
		crl := parseCRL(t, c)
		var got []string
		for _, e := range crl.RevokedCertificateEntries {
			got = append(got, e.SerialNumber.String())
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("node %c's CRL lists %v, want %v", 'A'+i, got, want)
		}
		if n := crl.Number.Int64(); n != first.Number.Int64()+int64(len(want)) {
			t.Errorf("node %c's CRL number is %d after %d revocations from %d: a reissue was lost or collided", 'A'+i, n, len(want), first.Number)
		}
	}
}

// TestStoreCRLNumbers: groupDB stores a CRL only with a number above the
// stored one.
func TestStoreCRLNumbers(t *testing.T) {
	g, err := openGroupDB(filepath.Join(t.TempDir(), databaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Shutdown()
	for _, tc := range []struct {
		number  int64
		refused bool
	}{{1, false}, {1, true}, {0, true}, {2, false}, {5, false}, {4, true}} {
		err := g.StoreCRL(&db.CertificateRevocationListInfo{Number: tc.number, DER: []byte{1}})
		if refused := errors.Is(err, ErrCRLNotNewer); refused != tc.refused || (err != nil && !refused) {
			t.Errorf("store CRL number %d: %v, want refused=%v", tc.number, err, tc.refused)
		}
	}
	if cur, err := g.GetCRL(); err != nil || cur.Number != 5 {
		t.Errorf("stored CRL: %+v, %v", cur, err)
	}
}

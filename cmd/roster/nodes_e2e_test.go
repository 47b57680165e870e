package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rosterhq/roster/internal/pgtest"
)

// TestTwoNodes runs two real server processes on one PostgreSQL database,
// node B started from a copy of node A's data directory with the same
// --store (README, "PostgreSQL store"). An enrollment token redeemed on
// both at once enrolls exactly one agent; a certificate revoked on A is
// refused at renewal on B; both serve the same CRL; writes through both
// leave one audit chain that `roster audit verify` accepts.
func TestTwoNodes(t *testing.T) {
	a, b := twoNodes(t, "--min-validity", "1s")
	tmp := t.TempDir()
	admin := a.adminToken()

	// Writes through A: a scan, an owner, an enrolled identity.
	enrollBilling(t, a, admin, filepath.Join(tmp, "first"))

	// One token, redeemed on A and B at once: exactly one agent enrolls.
	_, agentBin := buildBinaries(t)
	tk := enroll(t, b, admin, "billing", "--host", "app1")
	nodes := []*serverProc{a, b}
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			cmd := exec.Command(agentBin, "enroll", "--server", n.URL, "--root-fingerprint", tk.RootFingerprint,
				"--token", tk.Token, "--dir", filepath.Join(tmp, "race", string(rune('a'+i))))
			cmd.Env = cleanEnv()
			outs[i], errs[i] = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	winner := -1
	for i := range nodes {
		if errs[i] == nil {
			if winner >= 0 {
				t.Fatalf("the token enrolled on both nodes:\nA: %s\nB: %s", outs[0], outs[1])
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("the token enrolled on neither node:\nA: %v %s\nB: %v %s", errs[0], outs[0], errs[1], outs[1])
	}
	loser := outs[1-winner]
	t.Logf("the refused enrollment: %s", loser)
	if !strings.Contains(string(loser), "already been used") {
		t.Errorf("the refused enrollment does not name the token: %s", loser)
	}
	idDir := filepath.Join(tmp, "race", string(rune('a'+winner)))

	// The identity renews on B, is revoked on A, and B refuses it.
	renewOnce(t, b, idDir)
	a.mustCLI(admin, "revoke", "billing", "--host", "app1", "--reason", "test")
	if st, body := renewRequest(t, b, idDir); st != http.StatusUnauthorized && st != http.StatusForbidden {
		t.Errorf("renewal on B of a certificate revoked on A: %d %s", st, body)
	}

	// Both serve the same CRL.
	var crls [][]byte
	for _, n := range nodes {
		st, crl := newAPIClient(t, n).do("GET", "/crl?format=pem", "", nil)
		if st != 200 {
			t.Fatalf("%s /crl: %d", n.URL, st)
		}
		crls = append(crls, crl)
	}
	if !bytes.Equal(crls[0], crls[1]) {
		t.Errorf("the nodes serve different CRLs:\nA:\n%s\nB:\n%s", crls[0], crls[1])
	}
	blk, _ := pem.Decode(crls[1])
	if blk == nil {
		t.Fatalf("B's CRL is not PEM: %s", crls[1])
	}
	list, err := x509.ParseRevocationList(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	revoked := leafOf(t, filepath.Join(idDir, "cert.pem")).SerialNumber
	if !slices.ContainsFunc(list.RevokedCertificateEntries, func(e x509.RevocationListEntry) bool {
		return e.SerialNumber.Cmp(revoked) == 0
	}) {
		t.Errorf("B's CRL does not list serial %s, revoked on A", revoked)
	}

	// Writes through B, then one chain seen from either node.
	b.mustCLI(admin, "owner", "set", "billing", "team-payments")
	for _, n := range nodes {
		if out := n.mustCLI(admin, "audit", "verify"); !strings.Contains(out, "intact") {
			t.Errorf("%s audit verify: %s", n.URL, out)
		}
	}
}

// twoNodes starts a private PostgreSQL server, node A on a new database of
// it, and node B from a copy of A's data directory with the same --store
// (README, "PostgreSQL store"), and waits for both to be ready.
func twoNodes(t *testing.T, flags ...string) (a, b *serverProc) {
	t.Helper()
	pg := pgtest.Start(t, pgtest.Options{})
	_, url := pg.NewDatabase()
	tmp := t.TempDir()
	dirA, dirB := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	a = startServer(t, dirA, append([]string{"--scan-on-start=false", "--store", url}, flags...)...)
	if out, err := exec.Command("cp", "-a", dirA, dirB).CombinedOutput(); err != nil {
		t.Fatalf("copying the data directory: %v\n%s", err, out)
	}
	b = startServer(t, dirB, append([]string{"--scan-on-start=false", "--store", url}, flags...)...)
	for _, n := range []*serverProc{a, b} {
		if st, body := newAPIClient(t, n).do("GET", "/readyz", "", nil); st != http.StatusOK {
			t.Fatalf("%s /readyz: %d %s", n.URL, st, body)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node A output:\n%s\nnode B output:\n%s", a.out.String(), b.out.String())
		}
	})
	return a, b
}

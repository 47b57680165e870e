package server

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/ca/catest"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/inventory/inventorytest"
	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/issuer/issuertest"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
)

// fullStore is a store whose commits fail with ENOSPC while full is set,
// as bbolt's do when the disk fills: the transaction runs, then its write
// fails and it is rolled back.
type fullStore struct {
	store.Store
	full atomic.Bool
}

func (s *fullStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if s.full.Load() {
			return fmt.Errorf("commit: %w", &fs.PathError{Op: "write", Path: "inventory.db", Err: syscall.ENOSPC})
		}
		return nil
	})
}

// checkDiskFull checks that err is the issuer's disk-full error: a
// *DiskFullError, HTTP 503, wrapping ENOSPC.
func checkDiskFull(t *testing.T, what string, err error) {
	t.Helper()
	var df *issuer.DiskFullError
	if !errors.As(err, &df) || !errors.Is(err, syscall.ENOSPC) ||
		!strings.HasPrefix(err.Error(), "the server's disk is full: ") {
		t.Errorf("%s: got %v, want a *DiskFullError wrapping ENOSPC", what, err)
	}
}

// diskFullLogs counts the issuer's log records about a full disk.
func (e *env) diskFullLogs() int {
	return strings.Count(e.logs.String(), `msg="the server's disk is full"`)
}

// Item 8 of issue 15: on a full disk clients got "500 internal error". The
// issuer answers with a *DiskFullError (503, the reason in the body),
// logged once per failed request, leaves nothing half-written, and the
// same requests succeed once space is back.
func TestDiskFullInjected(t *testing.T) {
	var disk *fullStore
	e := newEnvWith(t, false, func(s store.Store) store.Store {
		disk = &fullStore{Store: s}
		return disk
	})
	ctx := context.Background()
	key, c0 := e.enroll("web1", "billing-batch")
	e.owner("legacy", "ops")
	tk, err := e.iss.CreateEnrollToken(ctx, "web1", "legacy", 0)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := e.inv.Identity(ctx, "web1", "billing-batch")
	logs := e.diskFullLogs()

	disk.full.Store(true)
	// Token creation.
	_, err = e.iss.CreateEnrollToken(ctx, "web1", "billing-batch", 0)
	checkDiskFull(t, "create token", err)
	// Enrollment, over HTTP: 503 with the reason; the token stays usable.
	csr := csrPEM(catest.CSR(t, catest.Key(t, "EC", 0), "x"))
	code, body := e.post(e.client(nil, nil, false), "/v1/enroll", map[string]string{"token": tk.Token, "csr": csr})
	if er := errBody(t, body); code != http.StatusServiceUnavailable || !strings.HasPrefix(er.Error, "the server's disk is full: ") ||
		!strings.Contains(er.Error, "account legacy on host web1") || er.Hint == "" {
		t.Errorf("enroll on a full disk: %d %s", code, body)
	}
	// Renewal, over HTTP and in process.
	code, _, er := e.renewHTTP(key, c0)
	if code != http.StatusServiceUnavailable || !strings.Contains(er.Error, "renewing the certificate of account billing-batch on host web1") {
		t.Errorf("renew on a full disk: %d %+v", code, er)
	}
	_, err = e.iss.Renew(ctx, c0)
	checkDiskFull(t, "renew", err)
	_, err = e.iss.Rekey(ctx, c0, catest.CSR(t, catest.Key(t, "EC", 0), "x"))
	checkDiskFull(t, "rekey", err)
	if got := e.diskFullLogs() - logs; got != 5 {
		t.Errorf("%d disk-full log records for 5 failed requests, want one each:\n%s", got, e.logs)
	}
	if strings.Contains(e.logs.String(), "audit append failed") {
		t.Errorf("a disk-full failure also tried to audit:\n%s", e.logs)
	}
	// Nothing changed.
	if st, _ := e.inv.Identity(ctx, "web1", "billing-batch"); st.Cert.Serial != before.Cert.Serial || st.Cert.Previous != "" {
		t.Errorf("state changed on a full disk: %+v", st.Cert)
	}

	// Space is back: the same requests succeed.
	disk.full.Store(false)
	if code, body := e.post(e.client(nil, nil, false), "/v1/enroll", map[string]string{"token": tk.Token, "csr": csr}); code != http.StatusCreated {
		t.Errorf("enroll with the same token once space is back: %d %s", code, body)
	}
	code, c1, _ := e.renewHTTP(key, c0)
	if code != http.StatusCreated {
		t.Fatalf("renew once space is back: %d", code)
	}
	// The failed attempts left no successor behind: c1 is the first.
	if st, _ := e.inv.Identity(ctx, "web1", "billing-batch"); st.Cert.Serial != c1[0].SerialNumber.String() || st.Cert.Previous != c0[0].SerialNumber.String() {
		t.Errorf("after recovery: %+v", st.Cert)
	}

	// Revocation: the CA's own database has space here, so the revocation
	// takes effect there at once; the inventory records it on the retry.
	disk.full.Store(true)
	_, err = e.iss.Revoke(ctx, issuer.RevokeRequest{Host: "web1", Account: "billing-batch", Reason: "test"})
	checkDiskFull(t, "revoke", err)
	if got := e.diskFullLogs() - logs; got != 6 {
		t.Errorf("%d disk-full log records for 6 failed requests", got)
	}
	disk.full.Store(false)
	res, err := e.iss.Revoke(ctx, issuer.RevokeRequest{Host: "web1", Account: "billing-batch", Reason: "test"})
	if err != nil || len(res.Serials) != 1 || res.Serials[0] != c1[0].SerialNumber.String() {
		t.Errorf("revoke once space is back: %v %v", res, err)
	}
	if st, _ := e.inv.Identity(ctx, "web1", "billing-batch"); st.Cert.RevokedAt == nil {
		t.Errorf("revocation not recorded after the retry: %+v", st.Cert)
	}
	if _, err := audit.Verify(ctx, e.inv); err != nil {
		t.Error(err)
	}
}

// The same on real full filesystems: the CA's database and the inventory
// each on a small tmpfs of its own, filled up one after the other.
// Mounting needs root; CI runs as root, so there it must work.
func TestDiskFullTmpfs(t *testing.T) {
	caDir, invDir := mountTmpfs(t, "8m"), mountTmpfs(t, "8m")
	ctx := context.Background()
	logs := &issuertest.SyncBuffer{}
	c := catest.NewIn(t, filepath.Join(caDir, "ca"), catest.Options{})
	inv, err := inventory.Open(ctx, filepath.Join(invDir, "inventory.db"), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inventorytest.CheckClose(t, inv) })
	iss, err := issuer.New(issuer.Config{CA: c, Inventory: inv, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	const accounts = 8
	var accts []scan.Account
	for i := range accounts {
		accts = append(accts, inventorytest.Account(fmt.Sprintf("svc%d", i), 900+i))
	}
	accts = append(accts, inventorytest.Account("late", 990))
	if _, err := inv.Ingest(ctx, inventorytest.NewReport("web1", "mid-web1", time.Now().UTC(), accts...)); err != nil {
		t.Fatal(err)
	}
	enroll := func(name string) string {
		if err := inv.SetOwner(ctx, name, inventory.Owner{Name: "ops"}); err != nil {
			t.Fatal(err)
		}
		tk, err := iss.CreateEnrollToken(ctx, "web1", name, 0)
		if err != nil {
			t.Fatal(err)
		}
		return tk.Token
	}
	chains := make([][]*x509.Certificate, accounts)
	for i := range accounts {
		tok := enroll(fmt.Sprintf("svc%d", i))
		if chains[i], err = iss.Enroll(ctx, tok, catest.CSR(t, catest.Key(t, "EC", 0), "x"), false); err != nil {
			t.Fatal(err)
		}
	}
	lateToken := enroll("late")
	lateCSR := catest.CSR(t, catest.Key(t, "EC", 0), "x")

	for _, phase := range []struct{ name, dir string }{{"inventory", invDir}, {"ca", caDir}} {
		free := fillDisk(t, phase.dir)
		logged := strings.Count(logs.String(), `msg="the server's disk is full"`)
		// Renew until a database needs space it no longer gets (pages
		// freed earlier are reused first); the first failure is a
		// disk-full error, logged once.
		var failed error
		failedAt := 0
		for n := 0; n < 5000 && failed == nil; n++ {
			failedAt = n % accounts
			next, err := iss.Renew(ctx, chains[failedAt])
			if err != nil {
				failed = err
			} else {
				chains[failedAt] = next
			}
		}
		if failed == nil {
			t.Fatalf("%s full: 5000 renewals all succeeded", phase.name)
		}
		checkDiskFull(t, phase.name+" full: renew", failed)
		t.Logf("%s full: %v", phase.name, errors.Unwrap(failed))
		if phase.name == "inventory" {
			// An enrollment fails the same way, and leaves its token usable.
			_, err := iss.Enroll(ctx, lateToken, lateCSR, false)
			checkDiskFull(t, phase.name+" full: enroll", err)
		}
		want := 1
		if phase.name == "inventory" {
			want = 2
		}
		if n := strings.Count(logs.String(), `msg="the server's disk is full"`) - logged; n != want {
			t.Errorf("%s full: %d disk-full log records for %d failures:\n%s", phase.name, n, want, logs)
		}

		// Space is back: the renewal that failed succeeds, and so do the
		// others; the inventory holds what the renewals answered.
		free()
		for k := range accounts {
			i := (failedAt + k) % accounts
			next, err := iss.Renew(ctx, chains[i])
			if err != nil {
				t.Fatalf("%s full: renew svc%d once space is back: %v", phase.name, i, err)
			}
			chains[i] = next
			st, err := inv.Identity(ctx, "web1", fmt.Sprintf("svc%d", i))
			if err != nil || st.Cert.Serial != next[0].SerialNumber.String() {
				t.Errorf("svc%d: inventory holds %+v, renewal gave %s (%v)", i, st.Cert, next[0].SerialNumber, err)
			}
		}
		if phase.name == "inventory" {
			if _, err := iss.Enroll(ctx, lateToken, lateCSR, false); err != nil {
				t.Errorf("enroll with the same token once space is back: %v", err)
			}
		}
		if err := inv.Check(ctx); err != nil {
			t.Errorf("%s full: %v", phase.name, err)
		}
	}
	if _, err := audit.Verify(ctx, inv); err != nil {
		t.Error(err)
	}
	// The CA's database reopens cleanly and knows every current
	// certificate.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2, err := ca.Open(filepath.Join(caDir, "ca"), ca.Options{MinValidity: time.Second})
	if err != nil {
		t.Fatalf("reopen the CA after a full disk: %v", err)
	}
	defer c2.Close()
	for i := range accounts {
		if _, err := c2.Certificate(chains[i][0].SerialNumber.String()); err != nil {
			t.Errorf("svc%d: %v", i, err)
		}
	}
}

// mountTmpfs mounts a tmpfs of size on a new temporary directory until the
// test's end (after everything opened later is closed). It skips the test
// when mounting is not permitted, unless CI is "true".
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount tmpfs: %v", err)
		}
		t.Skipf("mount tmpfs: %v (needs root)", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			_ = syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir
}

// fill writes a file in dir until the filesystem is full and returns the
// function that removes it.
func fillDisk(t *testing.T, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 64<<10)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

package ca

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	catest "github.com/rosterhq/roster/ca/internal/csrtest"
)

// An acknowledged certificate survives kill -9: a child process signs
// certificates with concurrent signers and prints each serial once Sign
// has returned; the parent kills it mid-stream and finds every printed
// serial in the reopened database.
func TestGroupDBSurvivesKill(t *testing.T) {
	if dir := os.Getenv("ROSTER_CA_CRASH_CHILD"); dir != "" {
		crashChild(t, dir)
		return
	}
	dir := t.TempDir()
	if err := Init(dir, InitOptions{}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGroupDBSurvivesKill$")
	cmd.Env = append(os.Environ(), "ROSTER_CA_CRASH_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 300 {
		if s, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked = append(acked, s)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) < 300 {
		t.Fatalf("child acknowledged only %d certificates", len(acked))
	}
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer c.Close()
	for _, s := range acked {
		if _, err := c.Certificate(s); err != nil {
			t.Errorf("acknowledged certificate lost: %v", err)
		}
	}
}

func crashChild(t *testing.T, dir string) {
	c, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	csr := catest.CSR(t, catest.Key(t, "EC", 0), "x")
	id := identity(t, c.TrustDomain(), "h", "x")
	var mu sync.Mutex
	for range 8 {
		go func() {
			for {
				chain, err := c.Sign(context.Background(), csr, id, 0)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Println("acked", chain[0].SerialNumber)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Minute)
	os.Exit(3)
}

func TestGroupDBClosed(t *testing.T) {
	g, err := openGroupDB(filepath.Join(t.TempDir(), "ca.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Shutdown(); err != nil {
		t.Fatal(err)
	}
	c := newCA(t, Options{})
	chain, err := c.Sign(context.Background(), catest.CSR(t, catest.Key(t, "EC", 0), "x"), identity(t, c.TrustDomain(), "h", "x"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.StoreCertificate(chain[0]); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("store after shutdown: %v", err)
	}
}

// Verify trusts a leaf recorded in the database without a signature check,
// and falls back to the signature for one it has no record of.
func TestVerifyWithoutRecordChecksSignature(t *testing.T) {
	c := newCA(t, Options{})
	foreign := newCA(t, Options{})
	ctx := context.Background()
	id := identity(t, c.TrustDomain(), "h", "x")
	chain, err := c.Sign(ctx, catest.CSR(t, catest.Key(t, "EC", 0), "x"), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !c.issuedHere(chain[0]) {
		t.Fatal("issued certificate not found in the database")
	}
	if err := c.issued.DB.Del(certsTable, []byte(chain[0].SerialNumber.String())); err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(ctx, chain[0]); err != nil {
		t.Errorf("own certificate without a record: %v", err)
	}
	// Same intermediate subject name (same trust domain), other key.
	fc, err := foreign.Sign(ctx, catest.CSR(t, catest.Key(t, "EC", 0), "x"), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fc[0].RawIssuer, c.Intermediate().RawSubject) {
		t.Fatal("test needs a foreign CA with the same intermediate name")
	}
	if err := c.Verify(ctx, fc[0]); !errors.Is(err, ErrUntrusted) {
		t.Errorf("foreign certificate: %v", err)
	}
}

package agent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent/agenttest"
	"github.com/rosterhq/roster/internal/fsutil"
)

const testIdentity = "spiffe://" + agenttest.TrustDomain + "/host/db1/sa/billing"

// newCred issues a credential for a fresh key of keyType from ca.
func newCred(t *testing.T, ca *agenttest.Server, keyType string, validity time.Duration) *Credential {
	t.Helper()
	key, err := GenerateKey(keyType)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	chain, err := ca.Issue(key.Public(), testIdentity, now, now.Add(validity))
	if err != nil {
		t.Fatal(err)
	}
	return &Credential{Chain: chain, Key: key}
}

// rootFile writes the test CA's root to a file for openssl.
func rootFile(t *testing.T, ca *agenttest.Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(p, EncodeCertificates([]*x509.Certificate{ca.Root}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func openTestDir(t *testing.T) (*DirStore, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "id")
	s, err := OpenDir(dir, "", true)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func mustLoad(t *testing.T, dir string) *Credential {
	t.Helper()
	s, err := OpenDir(dir, "", false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Load(context.Background())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return c
}

func sameCred(a, b *Credential) bool {
	return bytes.Equal(a.Leaf().Raw, b.Leaf().Raw) && publicKeyEqual(a.Key.Public(), b.Key.Public())
}

func TestDirStoreRoundTrip(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	ctx := context.Background()
	for _, kt := range []string{KeyECDSA, KeyEd25519, KeyRSA} {
		t.Run(kt, func(t *testing.T) {
			s, dir := openTestDir(t)
			if _, err := s.Load(ctx); !errors.Is(err, ErrNotEnrolled) {
				t.Fatalf("empty dir: err = %v, want ErrNotEnrolled", err)
			}
			c := newCred(t, ca, kt, time.Hour)
			if err := s.Save(ctx, c); err != nil {
				t.Fatal(err)
			}
			if got := mustLoad(t, dir); !sameCred(got, c) || len(got.Chain) != 2 {
				t.Fatalf("loaded credential differs from the saved one")
			}
			for name, want := range map[string]os.FileMode{KeyFile: 0o600, CertFile: 0o644} {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != want {
					t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), want)
				}
			}
			if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
				t.Errorf("dir mode %v, want 0700", fi.Mode().Perm())
			}
			// OpenSSL reads what we wrote (the services that use it do).
			openssl := agenttest.Tool(t, "openssl")
			if out, err := runCmd(openssl, "pkey", "-in", filepath.Join(dir, KeyFile), "-noout"); err != nil {
				t.Errorf("openssl cannot read key.pem: %v: %s", err, out)
			}
			if out, err := runCmd(openssl, "verify", "-CAfile", rootFile(t, ca), "-untrusted", filepath.Join(dir, CertFile), filepath.Join(dir, CertFile)); err != nil {
				t.Errorf("openssl verify cert.pem: %v: %s", err, out)
			}
		})
	}
}

func TestDirStoreRenewKeepsKeyFile(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	ctx := context.Background()
	s, dir := openTestDir(t)
	c := newCred(t, ca, "", time.Hour)
	if err := s.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(filepath.Join(dir, KeyFile))
	chain, err := ca.Issue(c.Key.Public(), testIdentity, time.Now(), time.Now().Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	renewed := &Credential{Chain: chain, Key: c.Key}
	if err := s.Save(ctx, renewed); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(filepath.Join(dir, KeyFile))
	if !os.SameFile(before, after) {
		t.Error("a renewal with the same key replaced key.pem")
	}
	if got := mustLoad(t, dir); !sameCred(got, renewed) {
		t.Error("renewed certificate not loaded")
	}
}

func TestDirStoreRefusesMismatch(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	ctx := context.Background()
	s, dir := openTestDir(t)
	a, b := newCred(t, ca, "", time.Hour), newCred(t, ca, "", time.Hour)
	if err := s.Save(ctx, &Credential{Chain: a.Chain, Key: b.Key}); err == nil {
		t.Fatal("Save accepted a certificate for another key")
	}
	if _, err := os.Stat(filepath.Join(dir, CertFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("refused Save left a cert.pem")
	}
	// A mismatched pair on disk (hand edited) is an error, not a credential.
	if err := s.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	kb, _ := EncodePrivateKey(b.Key)
	if err := os.WriteFile(filepath.Join(dir, KeyFile), kb, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Fatalf("Load of mismatched pair: err = %v", err)
	}
}

// TestDirStoreCrash interrupts a key change after each durable step, as a
// crash would, and checks that a fresh Load always finds a matching pair:
// the old one before cert.pem is replaced, the new one after.
func TestDirStoreCrash(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	ctx := context.Background()
	errCrash := errors.New("crash")
	tests := []struct {
		step    string
		wantNew bool
	}{
		{step: "key-pending", wantNew: false},
		{step: "cert", wantNew: true},
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			s, dir := openTestDir(t)
			old, fresh := newCred(t, ca, KeyECDSA, time.Hour), newCred(t, ca, KeyEd25519, time.Hour)
			if err := s.Save(ctx, old); err != nil {
				t.Fatal(err)
			}
			s.step = func(name string) error {
				if name == tt.step {
					return errCrash
				}
				return nil
			}
			if err := s.Save(ctx, fresh); !errors.Is(err, errCrash) {
				t.Fatalf("Save: err = %v, want the injected crash", err)
			}
			got := mustLoad(t, dir)
			want := old
			if tt.wantNew {
				want = fresh
			}
			if !sameCred(got, want) {
				t.Fatalf("after a crash at %s: loaded the wrong pair (want new: %v)", tt.step, tt.wantNew)
			}
			if _, err := os.Stat(filepath.Join(dir, pendingKey)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Load left %s behind", pendingKey)
			}
			// Key file on disk matches too, not only the returned value.
			if c := mustLoad(t, dir); !sameCred(c, want) {
				t.Error("second Load differs")
			}
		})
	}
	t.Run("first enrollment, crash after cert", func(t *testing.T) {
		s, dir := openTestDir(t)
		s.step = func(name string) error {
			if name == "cert" {
				return errCrash
			}
			return nil
		}
		c := newCred(t, ca, "", time.Hour)
		if err := s.Save(ctx, c); !errors.Is(err, errCrash) {
			t.Fatalf("Save: %v", err)
		}
		if got := mustLoad(t, dir); !sameCred(got, c) {
			t.Fatal("not recovered")
		}
	})
}

// failingFile is a temp file whose Write stops half way or whose Sync
// fails, like a full disk or an I/O error.
type failingFile struct {
	*os.File
	failWrite, failSync bool
}

func (f *failingFile) Write(p []byte) (int, error) {
	if f.failWrite {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, syscall.ENOSPC
	}
	return f.File.Write(p)
}

func (f *failingFile) Sync() error {
	if f.failSync {
		return syscall.EIO
	}
	return f.File.Sync()
}

func TestDirStoreFailingWriter(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	ctx := context.Background()
	tests := []struct {
		desc                string
		failWrite, failSync bool
		failOn              string // the target file whose write fails
		sameKey             bool
	}{
		{desc: "renewal: cert write fails half way", failWrite: true, failOn: CertFile, sameKey: true},
		{desc: "renewal: cert sync fails", failSync: true, failOn: CertFile, sameKey: true},
		{desc: "new key: key write fails", failWrite: true, failOn: pendingKey},
		{desc: "new key: cert write fails", failWrite: true, failOn: CertFile},
		{desc: "new key: cert sync fails", failSync: true, failOn: CertFile},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			s, dir := openTestDir(t)
			old := newCred(t, ca, "", time.Hour)
			if err := s.Save(ctx, old); err != nil {
				t.Fatal(err)
			}
			certBefore, _ := os.ReadFile(filepath.Join(dir, CertFile))
			keyBefore, _ := os.ReadFile(filepath.Join(dir, KeyFile))
			fresh := newCred(t, ca, "", time.Hour)
			if tt.sameKey {
				chain, err := ca.Issue(old.Key.Public(), testIdentity, time.Now(), time.Now().Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				fresh = &Credential{Chain: chain, Key: old.Key}
			}
			s.writeOpts = []fsutil.Option{fsutil.CreateTemp(func(dir, pattern string) (fsutil.File, error) {
				f, err := os.CreateTemp(dir, pattern)
				if err != nil {
					return nil, err
				}
				fail := strings.HasPrefix(pattern, "."+tt.failOn+".tmp-")
				return &failingFile{File: f, failWrite: fail && tt.failWrite, failSync: fail && tt.failSync}, nil
			})}
			if err := s.Save(ctx, fresh); err == nil {
				t.Fatal("Save succeeded with a failing writer")
			}
			certAfter, _ := os.ReadFile(filepath.Join(dir, CertFile))
			keyAfter, _ := os.ReadFile(filepath.Join(dir, KeyFile))
			if !bytes.Equal(certBefore, certAfter) || !bytes.Equal(keyBefore, keyAfter) {
				t.Fatal("a failed Save changed cert.pem or key.pem")
			}
			if got := mustLoad(t, dir); !sameCred(got, old) {
				t.Fatal("Load after a failed Save did not return the old pair")
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") || e.Name() == pendingKey {
					t.Errorf("left behind %s", e.Name())
				}
			}
		})
	}
}

func TestOpenDirOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another user")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	ca := agenttest.New(t, time.Hour)
	dir := filepath.Join(t.TempDir(), "id")
	s, err := OpenDir(dir, "nobody", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(context.Background(), newCred(t, ca, "", time.Hour)); err != nil {
		t.Fatal(err)
	}
	check := func(name string, wantUID, wantGID int, mode os.FileMode) {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != wantUID || int(st.Gid) != wantGID || fi.Mode().Perm() != mode {
			t.Errorf("%q: owner %d:%d mode %v, want %d:%d %v", name, st.Uid, st.Gid, fi.Mode().Perm(), wantUID, wantGID, mode)
		}
	}
	check(".", 0, gid, 0o750)
	check(KeyFile, uid, gid, 0o600)
	check(CertFile, uid, gid, 0o644)
	if _, err := OpenDir(dir, "no-such-user-roster", true); err == nil || !strings.Contains(err.Error(), "no-such-user-roster") {
		t.Errorf("unknown user: err = %v", err)
	}
}

func TestParsePrivateKeyForms(t *testing.T) {
	ec, _ := GenerateKey(KeyECDSA)
	rk, _ := GenerateKey(KeyRSA)
	sec1, _ := x509.MarshalECPrivateKey(ec.(*ecdsa.PrivateKey))
	pkcs1 := x509.MarshalPKCS1PrivateKey(rk.(*rsa.PrivateKey))
	tests := []struct {
		desc    string
		in      []byte
		wantErr string
	}{
		{desc: "sec1", in: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})},
		{desc: "pkcs1", in: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: pkcs1})},
		{desc: "not pem", in: []byte("hello"), wantErr: "no PEM private key"},
		{desc: "certificate", in: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), wantErr: `"CERTIFICATE"`},
		{desc: "garbage der", in: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), wantErr: "parse private key"},
	}
	for _, tt := range tests {
		_, err := ParsePrivateKey(tt.in)
		if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.desc, err, tt.wantErr)
		}
	}
	if _, err := GenerateKey("dsa"); err == nil {
		t.Error("GenerateKey accepted dsa")
	}
}

func TestParseCertificates(t *testing.T) {
	ca := agenttest.New(t, time.Hour)
	good := EncodeCertificates([]*x509.Certificate{ca.Root})
	tests := []struct {
		desc    string
		in      []byte
		wantN   int
		wantErr string
	}{
		{desc: "one", in: good, wantN: 1},
		{desc: "two with whitespace", in: append(append(append([]byte{}, good...), "\n\n"...), good...), wantN: 2},
		{desc: "empty", in: nil, wantErr: "no PEM certificate"},
		{desc: "trailing garbage", in: append(append([]byte{}, good...), "junk"...), wantErr: "unexpected data"},
		{desc: "key block", in: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), wantErr: "want CERTIFICATE"},
		{desc: "bad der", in: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), wantErr: "PEM block 1"},
	}
	for _, tt := range tests {
		got, err := ParseCertificates(tt.in)
		if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.desc, err, tt.wantErr)
			continue
		}
		if len(got) != tt.wantN {
			t.Errorf("%s: %d certificates, want %d", tt.desc, len(got), tt.wantN)
		}
	}
}

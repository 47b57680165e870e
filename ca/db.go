package ca

import (
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smallstep/certificates/authority/provisioner"
	"github.com/smallstep/certificates/db"
	"github.com/smallstep/nosql"
	"github.com/smallstep/nosql/database"
)

// The smallstep db package keeps its table names unexported; this is the
// one (*db.DB).StoreCertificate writes, and TestGroupDBCompatible proves
// that step's own readers find what groupDB writes.
//
// (*db.DB).StoreCertificateChain also writes an x509_certs_data record
// naming the provisioner. roster signs without a step provisioner, so that
// record would always be "{}", and the authority treats a missing record
// and an empty one alike (no provisioner in the database, fall back to the
// certificate's extension). groupDB leaves it out: a second random-key
// insert per certificate was a second dirty bbolt leaf page per commit.
var certsTable = []byte("x509_certs")

// groupDB is the authority's database: smallstep's *db.DB over a nosql bbolt
// file, with certificate stores done by group commit.
//
// Why group commit with durability on acknowledgement: a bbolt commit costs
// two fsyncs, more than signing an ECDSA certificate, so one transaction per
// certificate would halve the signing rate. NoSync with a periodic fsync, or
// a write-behind queue that acknowledges before the write, would be faster
// still but could hand out a certificate that a crash then forgets - and an
// issued certificate the CA has no record of cannot be looked up for
// revocation by serial. So every store waits until its record is committed,
// but a store that arrives while a commit is running joins the next one:
// under load N concurrent signers pay for one transaction (and a commit
// waits commitWindow for more of them once the previous commit was shared),
// when idle a lone signer commits at once with no added delay. What the
// batching cannot remove is bbolt's page work: serials are random, so each
// certificate dirties its own leaf page of the x509_certs tree
// (BenchmarkSign, 32 signers: about +5% time per certificate against no
// database, where one transaction per certificate costs +45-55%).
// Revocations and CRLs go straight to *db.DB (rare, and must be durable
// before they are reported).
type groupDB struct {
	*db.DB

	mu       sync.Mutex
	pending  []*pendingStore
	flushing bool
	closed   bool
	wg       sync.WaitGroup // running flushes

	commits, stored atomic.Int64 // for benchmarks: certificates per commit
	lastBatch       atomic.Int64 // size of the last commit
}

// commitWindow is how long a commit waits for company under concurrent
// load: it adds at most this to a signature's latency.
const commitWindow = 3 * time.Millisecond

type pendingStore struct {
	serial []byte
	raw    []byte
	done   chan error
}

// openGroupDB opens (or creates) the bbolt file at path with smallstep's
// tables.
func openGroupDB(path string) (*groupDB, error) {
	adb, err := db.New(&db.Config{Type: nosql.BBoltDriver, DataSource: path})
	if err != nil {
		return nil, fmt.Errorf("ca: open database %s: %w", path, err)
	}
	sdb, ok := adb.(*db.DB)
	if !ok {
		return nil, fmt.Errorf("ca: open database %s: unexpected type %T", path, adb)
	}
	return &groupDB{DB: sdb}, nil
}

// StoreCertificate implements db.CertificateStorer.
func (g *groupDB) StoreCertificate(crt *x509.Certificate) error {
	return g.store(crt)
}

// StoreCertificateChain is what the authority calls after signing.
func (g *groupDB) StoreCertificateChain(_ provisioner.Interface, chain ...*x509.Certificate) error {
	if len(chain) == 0 {
		return errors.New("ca: store certificate: empty chain")
	}
	return g.store(chain[0])
}

// StoreRenewedCertificate is what the authority calls after a renewal or a
// rekey.
func (g *groupDB) StoreRenewedCertificate(_ *x509.Certificate, chain ...*x509.Certificate) error {
	if len(chain) == 0 {
		return errors.New("ca: store certificate: empty chain")
	}
	return g.store(chain[0])
}

// store queues one certificate and returns once the transaction holding it
// has committed (or failed).
func (g *groupDB) store(crt *x509.Certificate) error {
	p := &pendingStore{
		serial: []byte(crt.SerialNumber.String()),
		raw:    crt.Raw,
		done:   make(chan error, 1),
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errors.New("ca: database is closed")
	}
	g.pending = append(g.pending, p)
	lead := !g.flushing
	if lead {
		g.flushing = true
		g.wg.Add(1)
	}
	g.mu.Unlock()
	if lead {
		g.flush()
	}
	return <-p.done
}

// flush commits batches until nothing is pending. Only one flush runs at a
// time; stores arriving meanwhile are picked up by its next round.
func (g *groupDB) flush() {
	defer g.wg.Done()
	for {
		// Under concurrent load (the last commit carried more than one
		// certificate) wait a moment for more signers to join, so that one
		// commit's fixed cost is shared by more certificates.
		if g.lastBatch.Load() > 1 {
			time.Sleep(commitWindow)
		}
		g.mu.Lock()
		batch := g.pending
		g.pending = nil
		if len(batch) == 0 {
			g.flushing = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()

		tx := new(database.Tx)
		for _, p := range batch {
			tx.Set(certsTable, p.serial, p.raw)
		}
		err := g.DB.Update(tx)
		g.lastBatch.Store(int64(len(batch)))
		g.commits.Add(1)
		g.stored.Add(int64(len(batch)))
		if err != nil {
			err = fmt.Errorf("ca: store %d certificate(s): %w", len(batch), err)
		}
		for _, p := range batch {
			p.done <- err
		}
	}
}

// Shutdown waits for a running commit and closes the bbolt file.
func (g *groupDB) Shutdown() error {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
	return g.DB.Shutdown()
}

package ca

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/store"
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
// but a store that arrives while a commit is running joins the next one
// (store.Group, the group commit the inventory uses too):
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
	group      *store.Group
	closeStore func() error  // the PostgreSQL store under DB (storedb.go), else nil
	cluster    clusterLocker // its lock for all nodes (crl.go), else nil
}

// commitWindow is how long a commit waits for company under concurrent
// load: it adds at most this to a signature's latency.
const commitWindow = 3 * time.Millisecond

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
	for _, table := range [][]byte{sshRecordsTable, sshRevokedTable} {
		if err := sdb.CreateTable(table); err != nil {
			_ = sdb.Shutdown()
			return nil, fmt.Errorf("ca: open database %s: %w", path, err)
		}
	}
	return &groupDB{DB: sdb, group: store.NewGroup(nosqlUpdater{sdb}, store.GroupOptions{Window: commitWindow})}, nil
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
	serial, raw := []byte(crt.SerialNumber.String()), crt.Raw
	err := g.group.Update(context.Background(), func(tx store.Tx) error {
		return tx.Put(string(certsTable), serial, raw)
	})
	if errors.Is(err, store.ErrClosed) {
		return errors.New("ca: database is closed")
	}
	if err != nil {
		return fmt.Errorf("ca: store certificate %s: %w", serial, err)
	}
	return nil
}

// Shutdown waits for queued commits and closes the bbolt file or the
// PostgreSQL pool.
func (g *groupDB) Shutdown() error {
	g.group.Close()
	err := g.DB.Shutdown()
	if g.closeStore != nil {
		err = errors.Join(err, g.closeStore())
	}
	return err
}

// nosqlUpdater commits a store.Group batch as one smallstep nosql
// transaction. Its transactions are write-only: the batch is a list of
// writes applied together, which is all certificate records need.
type nosqlUpdater struct{ db *db.DB }

func (u nosqlUpdater) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &writeTx{tx: new(database.Tx)}
	if err := fn(w); err != nil {
		return err
	}
	return u.db.Update(w.tx)
}

// writeTx records Puts and Deletes into a nosql transaction.
type writeTx struct{ tx *database.Tx }

var errWriteOnly = errors.New("ca: certificate batches are write-only")

func (w *writeTx) Get(string, []byte) ([]byte, error) { return nil, errWriteOnly }
func (w *writeTx) Scan(string, []byte, func(k, v []byte) error) error {
	return errWriteOnly
}
func (w *writeTx) Put(table string, key, value []byte) error {
	w.tx.Set([]byte(table), key, value)
	return nil
}
func (w *writeTx) Delete(table string, key []byte) error {
	w.tx.Del([]byte(table), key)
	return nil
}

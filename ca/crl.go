package ca

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/smallstep/certificates/db"
	"github.com/smallstep/nosql/database"
)

// The CRL: roster, not the authority, decides when it is reissued, so that
// several nodes on one database reissue it one at a time.
//
// The smallstep authority reissues the CRL on every revocation, at start
// and on a ticker, each under a mutex of its own process. Two nodes doing
// so at once read the same CRL number and both store the next one, and a
// CRL built from a revocation list read before the other node's
// revocation can replace the one that has it (smallstep/certificates#1351).
// So the authority starts with the CRL disabled (no start-up CRL, no
// ticker, no reissue inside Revoke), Open enables it afterwards for the
// reads and reissues roster asks for, and every reissue runs under
// crlLock: an in-process mutex, and with PostgreSQL an advisory lock of
// the whole database (store.Postgres.Lock). Under the lock a reissue reads
// the stored number and the revocations after any other node's reissue has
// stored its CRL, so numbers only increase and the newest CRL lists every
// revocation committed before it began. groupDB.StoreCRL refuses a number
// that does not exceed the stored one, should anything write around the
// lock.

// crlLifetime is how long a CRL is valid (its NextUpdate), and crlRefresh
// how long before that a node reissues it. crlCheck is how often a node
// looks: with N nodes the first to find it stale reissues it, the others
// then find it fresh.
const (
	crlLifetime = 24 * time.Hour
	crlRefresh  = crlLifetime / 3
	crlCheck    = time.Hour
)

// ErrCRLNotNewer is returned when a CRL would be stored with a number that
// does not exceed the stored CRL's.
var ErrCRLNotNewer = errors.New("a CRL with this number or a newer one is stored")

// clusterLocker is a store that can take a lock for all nodes on it.
type clusterLocker interface {
	Lock(ctx context.Context, name string) (unlock func(), err error)
}

// crlSchedule holds what the reissue loop needs.
type crlSchedule struct {
	mu      sync.Mutex    // one reissue at a time in this process
	pending bool          // a forced reissue failed: the next check forces one; guarded by mu
	cluster clusterLocker // nil: this process is the only one
	stop    chan struct{}
	done    chan struct{}
}

// crlDB is the authority database's CRL half.
func (c *CA) crlDB() (db.CertificateRevocationListDB, bool) {
	d, ok := c.store.(db.CertificateRevocationListDB)
	return d, ok
}

// startCRL issues a CRL if none is stored or the stored one is due, then
// checks every crlCheck until Close.
func (c *CA) startCRL() error {
	if _, ok := c.crlDB(); !ok {
		return nil
	}
	if err := c.reissueCRL(context.Background(), false); err != nil {
		return err
	}
	c.crl.stop, c.crl.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.crl.done)
		t := time.NewTicker(crlCheck)
		defer t.Stop()
		for {
			select {
			case <-c.crl.stop:
				return
			case <-t.C:
				if err := c.reissueCRL(context.Background(), false); err != nil {
					slog.Error("reissuing the CRL", "err", err)
				}
			}
		}
	}()
	return nil
}

// stopCRL ends the loop startCRL began, waiting for a reissue under way.
func (c *CA) stopCRL() {
	if c.crl.stop != nil {
		close(c.crl.stop)
		<-c.crl.done
	}
}

// reissueCRL signs and stores a new CRL under the lock: always when force
// is set (after a revocation) or an earlier forced reissue failed, else
// only when none is stored or the stored one expires within crlRefresh.
func (c *CA) reissueCRL(ctx context.Context, force bool) (err error) {
	crlDB, ok := c.crlDB()
	if !ok {
		return nil
	}
	c.crl.mu.Lock()
	defer c.crl.mu.Unlock()
	force = force || c.crl.pending
	defer func() { c.crl.pending = force && err != nil }()
	if c.crl.cluster != nil {
		unlock, err := c.crl.cluster.Lock(ctx, "crl")
		if err != nil {
			return fmt.Errorf("ca: reissue the crl: %w", err)
		}
		defer unlock()
	}
	if !force {
		cur, err := crlDB.GetCRL()
		switch {
		case err == nil && cur.ExpiresAt.After(c.now().Add(crlRefresh)):
			return nil // fresh: another node, or an earlier check, reissued it
		case err != nil && !database.IsErrNotFound(err):
			return fmt.Errorf("ca: read the crl: %w", err)
		}
	}
	if err := c.auth.GenerateCertificateRevocationList(); err != nil {
		return fmt.Errorf("ca: reissue the crl: %w", err)
	}
	return nil
}

// StoreCRL stores info unless the stored CRL's number is info's or
// higher.
func (g *groupDB) StoreCRL(info *db.CertificateRevocationListInfo) error {
	cur, err := g.DB.GetCRL()
	switch {
	case err == nil && info.Number <= cur.Number:
		return fmt.Errorf("ca: store crl number %d: %w (number %d)", info.Number, ErrCRLNotNewer, cur.Number)
	case err != nil && !database.IsErrNotFound(err):
		return fmt.Errorf("ca: store crl: %w", err)
	}
	return g.DB.StoreCRL(info)
}

// CRL returns the current certificate revocation list (DER), reissued after
// every revocation and before it expires.
func (c *CA) CRL() ([]byte, error) {
	info, err := c.auth.GetCertificateRevocationList()
	if err != nil {
		return nil, fmt.Errorf("ca: crl: %w", err)
	}
	return bytes.Clone(info.Data), nil
}

// CRLPEM is [CA.CRL] as a PEM "X509 CRL" block.
func (c *CA) CRLPEM() ([]byte, error) {
	der, err := c.CRL()
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), nil
}

package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/store"
)

// readyTimeout bounds the database check of GET /readyz: a load balancer
// polls it, and a node whose database hangs is as unready as one whose
// database refuses.
const readyTimeout = 3 * time.Second

// readyKey is the key /readyz reads: any key does, absent or present; the
// read proves a transaction reaches the database.
var readyKey = []byte("readyz")

// errStoreDown is what a caller is told when the database cannot be
// reached; the store's own error (host, user, the dial failure) is logged,
// never sent, and a store URL's password appears in neither.
const errStoreDown = "the database is unreachable; try again once it is back"

// readyz answers GET /readyz: 200 once the CA's keys are loaded and a
// transaction reaches the store (the PostgreSQL database with --store),
// else 503 with the server's error body. GET /healthz says only that the
// process is alive.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.ca.Root() == nil || s.ca.Intermediate() == nil {
		return errorf(http.StatusServiceUnavailable, "not ready: the CA's keys are not loaded")
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	err := s.inv.Store().View(ctx, func(tx store.Tx) error {
		_, err := tx.Get("meta", readyKey)
		return err
	})
	if err != nil {
		if r.Context().Err() != nil {
			return r.Context().Err()
		}
		return &httpError{status: http.StatusServiceUnavailable, msg: "not ready: " + errStoreDown, cause: err}
	}
	writeJSON(w, r, http.StatusOK, api.Status{Status: api.StatusOK})
	return nil
}

// storeDown reports whether err is the store's database being unreachable
// (or lost during a commit, which the caller may retry: the store's
// transactions are idempotent only in that they commit once or not at
// all).
func storeDown(err error) bool {
	return errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrCommitUnknown)
}

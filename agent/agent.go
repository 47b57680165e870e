package agent

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/certutil"
	"github.com/rosterhq/roster/spiffeid"
)

// Log attribute keys, snake_case as everywhere in roster.
const (
	keyIdentity    = "identity"
	keySerial      = "serial"
	keyNotAfter    = "not_after"
	keyNextRenewal = "next_renewal"
	keyRetryIn     = "retry_in"
	keyAttempt     = "attempt"
	keyError       = "error"
	keyHint        = "hint"
	keyAction      = "action"
	keyDir         = "dir"
	keyAccounts    = "accounts"
	keyWarnings    = "warnings"
)

// Run keeps every identity of cfg renewed until ctx is cancelled, then
// returns nil. Each identity runs in its own goroutine; a value on force
// (SIGHUP) makes every identity renew at once. The configuration is
// validated first.
func Run(ctx context.Context, cfg Config, force <-chan struct{}) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Scan == nil {
		cfg.Scan = discoveryScanner(cfg.Version)
	}
	var metrics *metricsFile
	if cfg.MetricsFile != "" {
		metrics = newMetricsFile(cfg.MetricsFile, identityNames(cfg.Identities), cfg.logger())
	}
	runners := make([]*runner, len(cfg.Identities))
	var batch *batcher
	if len(cfg.Identities) > 1 {
		batch = newBatcher()
	}
	for i, id := range cfg.Identities {
		r, err := newRunner(&cfg, id)
		if err != nil {
			return err
		}
		r.metrics = metrics
		r.batch = batch
		runners[i] = r
	}
	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Go(func() { r.loop(ctx) })
		if len(r.id.Reload) > 0 {
			wg.Go(func() { r.reloadLoop(ctx) })
		}
		if r.id.Scan != nil {
			wg.Go(func() { r.scanLoop(ctx) })
		}
		if r.id.Sshd != nil {
			wg.Go(func() { r.sshdLoop(ctx) })
		}
	}
	cfg.logger().Info("agent started", slog.Int("identities", len(runners)))
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			cfg.logger().Info("agent stopped")
			return nil
		case <-force:
			cfg.logger().Info("renewing every identity now")
			for _, r := range runners {
				select {
				case r.force <- struct{}{}:
				default: // one is already pending
				}
			}
		}
	}
}

func newRunner(cfg *Config, id Identity) (*runner, error) {
	store, err := OpenDir(id.Dir, id.User, false)
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", id.Name, err)
	}
	systemctl := cfg.Systemctl
	if systemctl == "" {
		systemctl = "systemctl"
	}
	return &runner{
		cfg:     cfg,
		id:      id,
		store:   store,
		log:     cfg.logger().With(slog.String(keyIdentity, id.Name)),
		force:   make(chan struct{}, 1),
		batched: make(chan struct{}, 1),
		reload:  make(chan struct{}, 1),
		rel:     reloader{dir: id.Dir, identity: id.Name, systemctl: systemctl},
	}, nil
}

// runner keeps one identity fresh. Only its own goroutines touch it.
type runner struct {
	cfg   *Config
	id    Identity
	store *DirStore
	log   *slog.Logger
	force chan struct{}
	rel   reloader

	reload chan struct{} // a renewal asks reloadLoop to run
	// batch renews with the host's other identities (batch.go); nil for
	// an agent of one identity. A batch that renewed this identity signals
	// batched.
	batch   *batcher
	batched chan struct{}

	mu      sync.Mutex // guards status, shared by the renewal and reload loops
	status  Status
	attempt int    // failed attempts in a row
	state   string // last steady-state problem logged, to log it once
	// renewAt is when the certificate with serial plannedFor is due; it
	// is drawn once per certificate so that waking early keeps the jitter.
	renewAt    time.Time
	plannedFor string
	ssh        sshState     // the SSH user certificate, when the identity has one
	metrics    *metricsFile // nil without --metrics-file
}

// client builds a client for the identity's server, trusting the root in
// its directory after checking that root against the fingerprint.
func (r *runner) client() (*Client, error) {
	info, infoErr := r.store.LoadIdentity()
	server, fp := r.cfg.Server, r.cfg.RootFingerprint
	if server == "" {
		server = info.Server
	}
	if fp == "" {
		fp = info.RootFingerprint
	}
	if server == "" {
		if infoErr != nil {
			return nil, fmt.Errorf("no server configured and %w", infoErr)
		}
		return nil, fmt.Errorf("no server configured and %s names none", IdentityFile)
	}
	root, err := r.store.LoadRoot()
	if err != nil {
		return nil, fmt.Errorf("pinned root: %w", err)
	}
	if fp != "" {
		want, err := normalizeFingerprint(fp)
		if err != nil {
			return nil, err
		}
		if got := certutil.Fingerprint(root); got != want {
			return nil, fmt.Errorf("%s has fingerprint %s, want %s", RootFile, got, want)
		}
	}
	return NewClient(server, root, r.cfg.Now)
}

// reloadAll runs the identity's reload actions (see [runner.reloadActions]).
func (r *runner) reloadAll(ctx context.Context) error { return r.reloadActions(ctx, r.id.Reload) }

// updateStatus changes the identity's status with fn and writes
// status.json when it changed; a write failure is logged, never fatal. The
// renewal loop and the reload loop both call it.
func (r *runner) updateStatus(fn func(*Status)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.status
	fn(&st)
	if st == r.status {
		return
	}
	r.status = st
	if err := r.store.SaveStatus(st); err != nil {
		r.log.Warn("cannot write status", slog.String(keyError, err.Error()))
	}
	r.metrics.record(r.id.Name, st)
}

// reloadLoop runs the reload actions after each renewal, apart from the
// renewal loop so that a slow or failing action never delays a renewal.
// Renewals that happen while actions run coalesce into one more run.
func (r *runner) reloadLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.reload:
		}
		err := r.reloadAll(ctx)
		if ctx.Err() != nil {
			return
		}
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		r.updateStatus(func(st *Status) { st.ReloadError = msg })
	}
}

// sleep waits for d or until ctx is done, and reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// reenrollHint is the pair of commands that (re-)enroll an identity; leaf,
// when known, names the account and host. A leaf whose identity is not a
// roster one (no spiffe://TD/host/HOST[/sa/ACCOUNT]) is named as it is, so
// that the operator still knows which identity to enroll.
func reenrollHint(leaf *x509.Certificate, id Identity) string {
	var uri, host, account string
	if leaf != nil {
		uri = identityURI(leaf.URIs)
		host, account = spiffeNames(uri)
	}
	operator := "`roster enroll ACCOUNT --host HOST`"
	switch {
	case host != "" && account != "":
		operator = "`roster enroll " + account + " --host " + host + "`"
	case host != "":
		operator = "`roster enroll --host " + host + "`"
	case uri != "":
		operator += " for " + uri
	}
	return "on the server run " + operator + ", then here `roster-agent enroll --server URL --root-fingerprint FP --token TOKEN --dir " +
		id.Dir + userFlag(id.User) + "` with the token and fingerprint it prints"
}

// placeholderEnroll is how a server hint spells the enroll command when it
// does not name the identity (the issuer's hint for an expired or revoked
// client certificate).
const placeholderEnroll = "roster enroll ACCOUNT --host HOST"

// failureHint is the hint for a failed renewal of leaf: the server's, if
// it gave one. A server hint that leaves the identity as placeholders
// gives way to [reenrollHint], which names this identity's account, host
// and directory: the agent knows them, the server's generic answer did not
// say them.
func failureHint(err error, leaf *x509.Certificate, id Identity) string {
	var h interface{ Hint() string }
	if !errors.As(err, &h) {
		return ""
	}
	if strings.Contains(h.Hint(), placeholderEnroll) {
		return reenrollHint(leaf, id)
	}
	return h.Hint()
}

func userFlag(u string) string {
	if u == "" {
		return ""
	}
	return " --user " + u
}

// spiffeNames returns the host and account of a roster identity
// (spiffeid.Parse), or "" and "" for anything else.
func spiffeNames(uri string) (host, account string) {
	id, err := spiffeid.Parse(uri)
	if err != nil {
		return "", ""
	}
	return id.Host, id.Account
}

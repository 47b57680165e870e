// Package server is the roster server: it owns the data directory, opens
// the inventory and the CA, and serves the operator API, the issuer's
// enrollment and renewal endpoints and the CA's public endpoints over one
// HTTPS listener.
//
// Start with [Run]. Everything the server knows lives in Config.DataDir;
// one process owns it at a time.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/discovery"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
)

// Config is what `roster server` is started with.
type Config struct {
	DataDir string
	Listen  string
	// KeyPassphrase encrypts the CA keys at init and decrypts them later.
	KeyPassphrase   []byte
	TrustDomain     string
	DefaultValidity time.Duration
	MinValidity     time.Duration
	MaxValidity     time.Duration
	// TierValidity overrides DefaultValidity per impact tier.
	TierValidity map[inventory.Tier]time.Duration
	// ScanOnStart scans the host the server runs on, so the first look at
	// a new inventory is not empty.
	ScanOnStart bool
	// ScanRoot is the root scanned at start ("/" by default).
	ScanRoot string
	// MaxScanBytes bounds a submitted scan report.
	MaxScanBytes int64
	// PlaceholderOwners are the owner names refused as naming nobody
	// (inventory.Options.PlaceholderOwners: nil for the default list).
	PlaceholderOwners []string
	Logger            *slog.Logger
	// Out receives the start-up banner.
	Out io.Writer
}

// adminTokenFile holds the first admin token, written once at init.
const adminTokenFile = "admin.token"

// Run initialises DataDir on first start, then serves until ctx is done,
// shutting down gracefully.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	first, err := initDataDir(cfg)
	if err != nil {
		return err
	}
	authority, err := ca.Open(cfg.DataDir, ca.Options{
		Passphrase:      cfg.KeyPassphrase,
		DefaultValidity: cfg.DefaultValidity,
		MinValidity:     cfg.MinValidity,
		MaxValidity:     cfg.MaxValidity,
	})
	if err != nil {
		return fmt.Errorf("opening the CA in %s: %w", cfg.DataDir, err)
	}
	defer authority.Close()
	inv, err := inventory.Open(ctx, filepath.Join(cfg.DataDir, "inventory.db"), inventory.Options{PlaceholderOwners: cfg.PlaceholderOwners})
	if err != nil {
		return fmt.Errorf("opening the inventory in %s: %w", cfg.DataDir, err)
	}
	defer inv.Close()
	if first {
		if err := writeAdminToken(ctx, inv, cfg.DataDir); err != nil {
			return err
		}
	}
	iss, err := issuer.New(issuer.Config{CA: authority, Inventory: inv, Logger: log, TierValidity: cfg.TierValidity})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	// Client certificates are requested, never required, and verified by
	// the issuer itself: a renewal with an expired or revoked certificate
	// must reach it to be refused with a reason.
	tlsConfig, err := authority.ServerTLSConfig(serverNames(ln.Addr()))
	if err != nil {
		ln.Close()
		return fmt.Errorf("issuing the server's TLS certificate: %w", err)
	}
	api := &api{inv: inv, tokens: access.New(inv.Store(), nil), iss: iss, ca: authority, log: log, maxScanBytes: cfg.MaxScanBytes}
	srv := &http.Server{
		Handler:           api.routes(),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}

	url := "https://" + ln.Addr().String()
	fmt.Fprintf(cfg.Out, "root certificate: %s\n", authority.RootPath())
	fmt.Fprintf(cfg.Out, "root fingerprint: %s\n", authority.RootFingerprint())
	if first {
		fmt.Fprintf(cfg.Out, "first admin token written to %s (shown nowhere else)\n", filepath.Join(cfg.DataDir, adminTokenFile))
	}
	fmt.Fprintf(cfg.Out, "next: export ROSTER_SERVER=%s ROSTER_CA_ROOT=%s ROSTER_TOKEN=$(cat %s)\n      roster report\n",
		url, authority.RootPath(), filepath.Join(cfg.DataDir, adminTokenFile))
	// This line comes last: scripts and tests wait for it.
	fmt.Fprintf(cfg.Out, "roster server listening on %s\n", url)

	if cfg.ScanOnStart {
		go scanSelf(ctx, inv, cfg.ScanRoot, log)
	}
	go sweep(ctx, inv, log)

	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}

// initDataDir creates the CA in a new or empty data directory and reports
// whether it did. A directory that holds something other than a roster data
// directory is refused rather than overwritten.
func initDataDir(cfg Config) (bool, error) {
	if ca.IsInitialized(cfg.DataDir) {
		return false, nil
	}
	ents, err := os.ReadDir(cfg.DataDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return false, fmt.Errorf("reading data directory: %w", err)
	case len(ents) > 0:
		return false, fmt.Errorf("data directory %s is not empty and holds no roster CA (no ca.json): refusing to initialise over it", cfg.DataDir)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return false, fmt.Errorf("creating data directory: %w", err)
	}
	if err := ca.Init(cfg.DataDir, ca.InitOptions{TrustDomain: cfg.TrustDomain, Passphrase: cfg.KeyPassphrase}); err != nil {
		return false, fmt.Errorf("initialising the CA in %s: %w", cfg.DataDir, err)
	}
	return true, nil
}

func writeAdminToken(ctx context.Context, inv *inventory.Inventory, dir string) error {
	ctx = audit.WithActor(ctx, "server-init")
	plain, created, err := access.New(inv.Store(), nil).EnsureAdmin(ctx)
	if err != nil {
		return fmt.Errorf("creating the first admin token: %w", err)
	}
	if !created {
		return nil
	}
	p := filepath.Join(dir, adminTokenFile)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if _, err := fmt.Fprintln(f, plain); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return f.Close()
}

// serverNames are the names the server's certificate is valid for: the
// listen address, loopback, and this machine's host name.
func serverNames(addr net.Addr) []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	if ta, ok := addr.(*net.TCPAddr); ok && !ta.IP.IsUnspecified() && !ta.IP.IsLoopback() {
		names = append(names, ta.IP.String())
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, strings.ToLower(h))
	}
	return names
}

// scanSelf scans the server's own host and ingests the report.
func scanSelf(ctx context.Context, inv *inventory.Inventory, root string, log *slog.Logger) {
	if root == "" {
		root = "/"
	}
	key, err := inv.FingerprintKey(ctx)
	if err != nil {
		log.Error("start-up scan: reading fingerprint key", "error", err)
		return
	}
	rep, err := discovery.Scan(ctx, discovery.Options{Root: root, FingerprintKey: key})
	if err != nil {
		log.Error("start-up scan failed", "error", err)
		return
	}
	res, err := inv.Ingest(audit.WithActor(ctx, "server-start-scan"), rep)
	if err != nil {
		log.Error("start-up scan: ingest failed", "error", err)
		return
	}
	log.Info("start-up scan ingested", "host", rep.Host.Hostname, "accounts", res.Accounts, "new", res.AccountsNew, "gone", res.AccountsGone)
}

// sweepInterval is how often expired exceptions and lapsed certificates
// are written to history; reports compute both at their own time anyway.
const sweepInterval = 10 * time.Minute

func sweep(ctx context.Context, inv *inventory.Inventory, log *slog.Logger) {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		if n, err := inv.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Error("sweeping expired exceptions and lapsed certificates", "error", err)
		} else if n > 0 {
			log.Info("recorded expiries in history", "events", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

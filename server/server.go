package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/discovery"
	"github.com/rosterhq/roster/internal/fsutil"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
	"github.com/rosterhq/roster/notify"
	"github.com/rosterhq/roster/scan"
	"github.com/rosterhq/roster/store"
	"golang.org/x/crypto/ssh"
)

// Config is what `roster server` is started with.
type Config struct {
	DataDir string
	// Store, if set, is a postgres:// URL: the inventory (with the audit
	// log, tokens, sessions and outbox sharing its store) and the CA's
	// certificate records live in that PostgreSQL database instead of the
	// bbolt files in DataDir, which keeps the CA keys either way.
	Store  string
	Listen string
	// KeyPassphrase encrypts the CA keys at init and decrypts them later.
	KeyPassphrase []byte
	TrustDomain   string
	// SSHKeyType is the algorithm of the SSH CA keys, used when they are
	// created (at init, or on the first start of an older data directory).
	SSHKeyType      ca.SSHKeyType
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
	// Limits bound what clients may hold of the server; zero fields take
	// the defaults.
	Limits Limits
	// PlaceholderOwners are the owner names refused as naming nobody
	// (inventory.Options.PlaceholderOwners: nil for the default list).
	PlaceholderOwners []string
	// NotifyURLs are the webhooks notices are posted to (--notify-url);
	// NotifySecret signs them (--notify-secret-file; nil: unsigned).
	NotifyURLs   []string
	NotifySecret []byte
	// SessionIdle and SessionMax are the web page's session expiry
	// (--ui-session-idle, --ui-session-max; 0: the defaults).
	SessionIdle, SessionMax time.Duration
	// UIOrigin is the web page's origin, https://NAME[:PORT], that
	// operators' passkeys are bound to (--ui-origin; "": localhost, or this
	// machine's host name when listening beyond loopback, with the listen
	// port). NAME is added to the server's certificate.
	UIOrigin string
	// UIAdminPasskey: the web page's admin pages and actions need a session
	// made with a passkey (--ui-admin-passkey).
	UIAdminPasskey bool
	// MetricsListen, if set, serves GET /metrics over plain HTTP without a
	// token on this address, loopback unless MetricsListenRemote
	// (metricslisten.go).
	MetricsListen       string
	MetricsListenRemote bool
	Logger              *slog.Logger
	// Out receives the start-up banner.
	Out io.Writer
}

// Limits bound connections, request reading and request bodies. A field
// that is zero (or negative) takes its default (the Default* constants).
type Limits struct {
	// MaxScanBytes bounds a submitted scan report (default
	// scan.DefaultMaxBytes).
	MaxScanBytes int64
	// MaxConns caps the connections open at once, from all sources;
	// MaxConnsPerSource those from one IP address. A connection over a cap
	// is closed when accepted. Raise MaxConnsPerSource when many agents
	// reach the server through one NAT address.
	MaxConns          int
	MaxConnsPerSource int
	// ReadHeaderTimeout bounds the TLS handshake and reading a request's
	// headers.
	ReadHeaderTimeout time.Duration
	// BodyStallTimeout is the longest a request body may pause: a client
	// that sends nothing for that long is disconnected.
	BodyStallTimeout time.Duration
	// BodyReadTimeout bounds reading a whole request body;
	// LargeBodyReadTimeout that of a scan report or an owner import.
	BodyReadTimeout      time.Duration
	LargeBodyReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end
	// of its response (generous: reports and exports of a large inventory
	// to a slow client).
	WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection that sends no new
	// request.
	IdleTimeout time.Duration
}

// Default limits.
const (
	DefaultMaxConns             = 2048
	DefaultMaxConnsPerSource    = 256
	DefaultReadHeaderTimeout    = 10 * time.Second
	DefaultBodyStallTimeout     = 15 * time.Second
	DefaultBodyReadTimeout      = 30 * time.Second
	DefaultLargeBodyReadTimeout = 2 * time.Minute
	DefaultWriteTimeout         = 5 * time.Minute
	DefaultIdleTimeout          = 2 * time.Minute
	// maxHeaderBytes bounds a request's headers (net/http's default is
	// 1 MiB; roster's requests carry a token at most).
	maxHeaderBytes = 64 << 10
)

func (l Limits) withDefaults() Limits {
	l.MaxScanBytes = orDefault(l.MaxScanBytes, scan.DefaultMaxBytes)
	l.MaxConns = orDefault(l.MaxConns, DefaultMaxConns)
	l.MaxConnsPerSource = orDefault(l.MaxConnsPerSource, DefaultMaxConnsPerSource)
	l.ReadHeaderTimeout = orDefault(l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	l.BodyStallTimeout = orDefault(l.BodyStallTimeout, DefaultBodyStallTimeout)
	l.BodyReadTimeout = orDefault(l.BodyReadTimeout, DefaultBodyReadTimeout)
	l.LargeBodyReadTimeout = orDefault(l.LargeBodyReadTimeout, DefaultLargeBodyReadTimeout)
	l.WriteTimeout = orDefault(l.WriteTimeout, DefaultWriteTimeout)
	l.IdleTimeout = orDefault(l.IdleTimeout, DefaultIdleTimeout)
	return l
}

// orDefault is v, or d when v is zero or negative (no limit is meaningful
// below zero).
func orDefault[T int | int64 | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// Options are what [New] serves.
type Options struct {
	Inventory *inventory.Inventory
	Issuer    *issuer.Issuer
	CA        *ca.CA
	Limits    Limits
	// Notify is the webhook outbox (nil: no webhooks); it must use the
	// inventory's store.
	Notify *notify.Outbox
	// Logger receives request failures; default slog.Default().
	Logger *slog.Logger
	// SessionIdle and SessionMax are the web page's session expiry, idle
	// and absolute (0: access.DefaultSessionIdle, DefaultSessionMax).
	SessionIdle, SessionMax time.Duration
	// Now is the web sessions' clock (nil: time.Now). Tests set it.
	Now func() time.Time
	// UIAdminPasskey: a web page route for admins needs a session made
	// with a passkey (roster server --ui-admin-passkey).
	UIAdminPasskey bool
	// PasskeyOrigin is the server's origin as browsers reach it,
	// https://NAME[:PORT]: operators' passkeys are bound to NAME (the
	// WebAuthn relying party ID, never an IP address). Default
	// https://localhost.
	PasskeyOrigin string
}

// Server is roster's HTTP layer over an open inventory, issuer and CA.
type Server struct {
	inv    *inventory.Inventory
	tokens *access.Tokens // operator tokens, kept in the inventory's store
	iss    *issuer.Issuer
	ca     *ca.CA
	lim    Limits
	log    *slog.Logger
	notify *notify.Outbox
	// noticeKick asks noticeLoop for a notice pass (notify.go).
	noticeKick chan struct{}
	// sessions are the web page's (websession.go); pages its templates,
	// parsed once (web.go).
	sessions *access.Sessions
	pages    map[string]*template.Template
	// adminPasskey is Options.UIAdminPasskey.
	adminPasskey bool
	// snapshots is the accounts page's list (webaccountsnapshot.go).
	snapshots accountSnapshots
	// passkeys are the operators' WebAuthn credentials (passkeys.go).
	passkeys *access.Passkeys
	// metrics are the Prometheus metrics (metrics.go).
	metrics *metrics
}

// New returns a Server; see [Server.Handler] and [Server.Serve].
func New(o Options) (*Server, error) {
	if o.Inventory == nil || o.Issuer == nil || o.CA == nil {
		return nil, errors.New("server: Inventory, Issuer and CA are required")
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	passkeys, err := access.NewPasskeys(o.Inventory.Store(), access.RelyingParty{Origin: cmp.Or(o.PasskeyOrigin, "https://localhost")}, o.Now)
	if err != nil {
		return nil, err
	}
	s := &Server{inv: o.Inventory, tokens: access.New(o.Inventory.Store(), nil), iss: o.Issuer, ca: o.CA, lim: o.Limits.withDefaults(),
		log: cmp.Or(o.Logger, slog.Default()), notify: o.Notify, noticeKick: make(chan struct{}, 1),
		sessions: access.NewSessions(o.Inventory.Store(), o.Now, o.SessionIdle, o.SessionMax), pages: pages,
		adminPasskey: o.UIAdminPasskey, passkeys: passkeys}
	s.metrics = newMetrics(s)
	o.Inventory.ObserveCommits(s.metrics.observeCommit)
	return s, nil
}

// Serve serves [Server.Handler] over TLS on ln, within the connection caps
// and timeouts of its [Limits], until ctx is done; then it shuts down
// gracefully (20 s at most). tlsConfig must request client certificates
// without verifying them (ca.ServerTLSConfig does): the issuer verifies
// them, so that a renewal with an expired or revoked certificate reaches it
// and is refused with a reason.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: s.lim.ReadHeaderTimeout,
		WriteTimeout:      s.lim.WriteTimeout,
		IdleTimeout:       s.lim.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	capped := newCapListener(ln, s.lim.MaxConns, s.lim.MaxConnsPerSource, s.log)
	return serveUntil(ctx, srv, func() error { return srv.ServeTLS(capped, "", "") }, 20*time.Second, "",
		func() { s.log.Info("shutting down") })
}

// serveUntil runs serve (srv's Serve or ServeTLS) until it fails or ctx is
// done, then shuts srv down within grace. what names the listener in
// errors ("" for the main one); onStop, when not nil, runs as shutdown
// begins.
func serveUntil(ctx context.Context, srv *http.Server, serve func() error, grace time.Duration, what string, onStop func()) error {
	serving, shutting := "serving", "shutting down"
	if what != "" {
		serving, shutting = "serving "+what, "shutting down "+what
	}
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", serving, err)
	case <-ctx.Done():
	}
	if onStop != nil {
		onStop()
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("%s: %w", shutting, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: %w", serving, err)
	}
	return nil
}

// adminTokenFile holds the first admin token, written once at init.
const adminTokenFile = "admin.token"

// Run initialises DataDir on first start, opens the CA, the inventory and
// the issuer, prints the start-up banner to Out (paths in it are absolute,
// so that its export line works from any directory) and serves until ctx is
// done, shutting down gracefully.
func Run(ctx context.Context, cfg Config) error {
	log := cmp.Or(cfg.Logger, slog.Default())
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
	}
	cfg.DataDir = dir
	if cfg.UIOrigin != "" {
		if err := (access.RelyingParty{Origin: cfg.UIOrigin}).Validate(); err != nil {
			return fmt.Errorf("--ui-origin: %w", err)
		}
	}
	if cfg.MetricsListen != "" {
		if err := checkMetricsListen(cfg.MetricsListen, cfg.MetricsListenRemote); err != nil {
			return err
		}
	}
	if cfg.Store != "" && !strings.HasPrefix(cfg.Store, "postgres://") && !strings.HasPrefix(cfg.Store, "postgresql://") {
		return errors.New("--store: not a postgres:// URL (postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full); leave it unset for the bbolt files in the data directory")
	}
	// The database first: a standby (or another read-only database) is
	// refused before anything is created, here or in the data directory.
	var pg *store.Postgres
	if cfg.Store != "" {
		if pg, err = openPostgres(ctx, cfg.Store); err != nil {
			return err
		}
		defer func() {
			if pg != nil { // not yet the inventory's
				pg.Close()
			}
		}()
	}
	first, err := initDataDir(cfg)
	if err != nil {
		return err
	}
	authority, err := ca.Open(cfg.DataDir, ca.Options{
		StoreURL:        cfg.Store,
		Passphrase:      cfg.KeyPassphrase,
		SSHKeyType:      cfg.SSHKeyType,
		DefaultValidity: cfg.DefaultValidity,
		MinValidity:     cfg.MinValidity,
		MaxValidity:     cfg.MaxValidity,
	})
	if err != nil {
		return fmt.Errorf("opening the CA in %s: %w", cfg.DataDir, err)
	}
	defer authority.Close()
	// An account that logs in with certificates of roster's own SSH user
	// CA (and holds no static credential) is managed.
	inv, where, err := openInventory(ctx, cfg.DataDir, pg, inventory.Options{PlaceholderOwners: cfg.PlaceholderOwners,
		SSHUserCAFingerprints: []string{ssh.FingerprintSHA256(authority.SSHUserCA())}})
	pg = nil // the inventory's now, closed with it
	if err != nil {
		return fmt.Errorf("opening the inventory in %s: %w", where, err)
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
	outbox, err := notify.New(notify.Config{Store: inv.Store(), URLs: cfg.NotifyURLs, Secret: cfg.NotifySecret, Logger: log})
	if err != nil {
		return fmt.Errorf("--notify-url: %w", err)
	}
	var metricsLn net.Listener
	if cfg.MetricsListen != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			return fmt.Errorf("--metrics-listen: listening on %s: %w", cfg.MetricsListen, err)
		}
		defer metricsLn.Close()
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	origin := cmp.Or(cfg.UIOrigin, defaultUIOrigin(ln.Addr()))
	s, err := New(Options{Inventory: inv, Issuer: iss, CA: authority, Limits: cfg.Limits, Notify: outbox, Logger: log,
		SessionIdle: cfg.SessionIdle, SessionMax: cfg.SessionMax, PasskeyOrigin: origin, UIAdminPasskey: cfg.UIAdminPasskey})
	if err != nil {
		ln.Close()
		return err
	}
	names := serverNames(ln.Addr())
	if h := s.passkeys.RelyingParty().ID(); !slices.Contains(names, h) {
		names = append(names, h)
	}
	tlsConfig, err := authority.ServerTLSConfig(names)
	if err != nil {
		ln.Close()
		return fmt.Errorf("issuing the server's TLS certificate: %w", err)
	}
	url := "https://" + ln.Addr().String()
	tokenPath := filepath.Join(cfg.DataDir, adminTokenFile)
	fmt.Fprintf(cfg.Out, "data directory:   %s\n", cfg.DataDir)
	if cfg.Store != "" {
		fmt.Fprintf(cfg.Out, "store:            PostgreSQL %s\n", where)
	}
	fmt.Fprintf(cfg.Out, "root certificate: %s\n", authority.RootPath())
	fmt.Fprintf(cfg.Out, "root fingerprint: %s\n", authority.RootFingerprint())
	if first {
		fmt.Fprintf(cfg.Out, "first admin token written to %s (shown nowhere else)\n", tokenPath)
	}
	fmt.Fprintf(cfg.Out, "passkey origin:   %s (the web page's passkeys work under this name)\n", s.passkeys.RelyingParty().Origin)
	if metricsLn != nil {
		fmt.Fprintf(cfg.Out, "metrics:          http://%s/metrics (no token)\n", metricsLn.Addr())
	}
	fmt.Fprintf(cfg.Out, "next: export ROSTER_SERVER=%s ROSTER_CA_ROOT=%s ROSTER_TOKEN=$(cat %s)\n      roster report\n",
		url, shellQuote(authority.RootPath()), shellQuote(tokenPath))
	// This line comes last: scripts and tests wait for it.
	fmt.Fprintf(cfg.Out, "roster server listening on %s\n", url)

	if cfg.ScanOnStart {
		go func() {
			scanSelf(ctx, inv, cfg.ScanRoot, log)
			s.noticesSoon()
		}()
	}
	go s.sweepLoop(ctx)
	if metricsLn != nil {
		go func() {
			if err := s.ServeMetrics(ctx, metricsLn); err != nil {
				log.Error("metrics listener stopped", slog.String("error", err.Error()))
			}
		}()
	}
	go s.noticeLoop(ctx)
	// The webhook worker stops with ctx; Run returns once it has (an
	// attempt under way is abandoned and made again after restart).
	wctx, stopWorker := context.WithCancel(ctx)
	worker := make(chan struct{})
	go func() { defer close(worker); outbox.Run(wctx) }()
	if len(cfg.NotifyURLs) > 0 {
		log.Info("webhooks configured", "webhooks", outbox.Webhooks(), "signed", len(cfg.NotifySecret) > 0)
	}
	err = s.Serve(ctx, ln, tlsConfig)
	stopWorker()
	<-worker
	return err
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// openPostgres opens the PostgreSQL store at url and refuses a read-only
// one: the server writes (enrollments, renewals, the audit log).
func openPostgres(ctx context.Context, url string) (*store.Postgres, error) {
	s, err := store.OpenPostgres(ctx, url, store.PostgresOptions{})
	if err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	if s.ReadOnly() {
		s.Close()
		return nil, fmt.Errorf("--store: %s is read-only (a standby, or default_transaction_read_only): the server writes "+
			"enrollments, renewals and the audit log there; point --store at the primary (nothing was written)", s)
	}
	return s, nil
}

// openInventory opens the inventory in pg, the PostgreSQL store (which it
// then owns, also on failure), or without one in the bbolt file of the
// data directory, and says where (without credentials).
func openInventory(ctx context.Context, dataDir string, pg *store.Postgres, opts inventory.Options) (*inventory.Inventory, string, error) {
	if pg == nil {
		inv, err := inventory.Open(ctx, filepath.Join(dataDir, "inventory.db"), opts)
		return inv, dataDir, err
	}
	inv, err := inventory.New(ctx, pg, opts)
	if err != nil {
		pg.Close()
		return nil, pg.String(), err
	}
	return inv, pg.String(), nil
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
	if err := ca.Init(cfg.DataDir, ca.InitOptions{TrustDomain: cfg.TrustDomain, Passphrase: cfg.KeyPassphrase, SSHKeyType: cfg.SSHKeyType}); err != nil {
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
	// Never overwrite a token file (the server owns the data directory,
	// locked by the inventory's bbolt file); write it atomically and
	// durably, so a crash leaves either no file or the whole token.
	p := filepath.Join(dir, adminTokenFile)
	if err := fsutil.WriteFile(p, []byte(plain+"\n"), 0o600, fsutil.Exclusive()); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
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

// defaultUIOrigin is the web page's origin when --ui-origin is not given:
// https://localhost:PORT on loopback, else this machine's host name when
// it is a domain name (both are in the server's certificate), else
// localhost. WebAuthn binds passkeys to a name, never to an IP address.
func defaultUIOrigin(addr net.Addr) string {
	host, port := "localhost", ""
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(ta.Port)
		if !ta.IP.IsLoopback() {
			// A domain name: WebAuthn refuses a one-label name other than
			// localhost, and any IP address.
			if h, err := os.Hostname(); err == nil && strings.Contains(strings.Trim(h, "."), ".") && net.ParseIP(h) == nil {
				host = strings.ToLower(h)
			}
		}
	}
	if port == "" || port == "443" {
		return "https://" + host
	}
	return "https://" + net.JoinHostPort(host, port)
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

package agent

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/rosterhq/roster/scan"
)

// Default host scan interval.
const defaultScanInterval = time.Hour

// Config is what [Run] manages. The YAML form lives in cmd/roster-agent.
type Config struct {
	// Server and RootFingerprint apply to every identity; when empty, each
	// identity uses what its identity.json remembers from enrollment.
	Server          string
	RootFingerprint string
	Identities      []Identity

	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Scan runs a host scan; nil means the discovery scanner.
	Scan ScanFunc
	// Version is the agent's version, recorded in scan reports.
	Version string
	// Systemctl is the systemctl binary for systemctl_reload actions;
	// empty means "systemctl" from PATH.
	Systemctl string
	// PollInterval is how often an identity that cannot renew (missing or
	// expired certificate) looks at its directory again; zero means 1m.
	PollInterval time.Duration
	// MetricsFile, if set, is kept in the Prometheus text format for
	// node_exporter's textfile collector (metrics.go).
	MetricsFile string

	rand randN // nil means math/rand/v2
}

// Identity is one certificate the agent keeps fresh.
type Identity struct {
	Name string // for logs and status
	Dir  string // identity directory, as written by `roster-agent enroll`
	User string // the service account that owns the files, if any
	// Rekey asks for a new key at every renewal instead of renewing the
	// current one.
	Rekey  bool
	Reload []ReloadAction
	// Scan, set on the host identity only, submits host scans.
	Scan *ScanOptions
	// SSH, when set, keeps an SSH user certificate for the identity's
	// account in DIR/ssh (see [SSHOptions]).
	SSH *SSHOptions
	// Sshd, set on the host identity only, keeps the host's sshd files
	// fresh: trusted user CA, principals, KRL and host certificates.
	Sshd *SshdOptions
}

// SSHOptions configure an identity's SSH user certificate.
type SSHOptions struct {
	KeyType string // ed25519 (the default) or ecdsa (P-256)
}

// SshdOptions configure the files the host identity keeps for sshd.
type SshdOptions struct {
	Dir      string         // where the files go; empty means /etc/ssh/roster
	HostKeys string         // where ssh_host_*_key.pub are; empty means /etc/ssh
	Reload   []ReloadAction // run when a file changed (sshd reload)
	Refresh  time.Duration  // how often host-config and the KRL are fetched; zero means 1m
}

// Defaults of [SshdOptions].
const (
	DefaultSshdDir     = "/etc/ssh/roster"
	DefaultHostKeysDir = "/etc/ssh"
	defaultSshdRefresh = time.Minute
)

// ScanOptions configure the host scan loop.
type ScanOptions struct {
	Interval time.Duration // zero means 1h; each wait is jittered by up to a tenth
	Root     string        // filesystem root to scan; empty means "/"
}

// ScanFunc scans the host below root, fingerprinting secrets with key.
type ScanFunc func(ctx context.Context, root string, key []byte) (*scan.Report, error)

// ConfigError is a bad field of a [Config]. Identity is the index of the
// identity it belongs to, or -1 for a top-level field, so that a caller can
// point at the line of its own file.
type ConfigError struct {
	Identity int
	Name     string // the identity's name, when it has one
	Err      error
}

func (e *ConfigError) Error() string {
	switch {
	case e.Identity < 0:
		return e.Err.Error()
	case e.Name == "":
		return fmt.Sprintf("identities[%d]: %v", e.Identity, e.Err)
	default:
		return fmt.Sprintf("identities[%d] (%s): %v", e.Identity, e.Name, e.Err)
	}
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Validate checks the configuration. The error is a *[ConfigError] naming
// the first bad field.
func (c *Config) Validate() error {
	top := func(format string, args ...any) error {
		return &ConfigError{Identity: -1, Err: fmt.Errorf(format, args...)}
	}
	if c.Server != "" {
		if _, err := parseServer(c.Server); err != nil {
			return top("server: %w", err)
		}
	}
	if c.RootFingerprint != "" {
		if _, err := normalizeFingerprint(c.RootFingerprint); err != nil {
			return top("root_fingerprint: %w", err)
		}
	}
	if len(c.Identities) == 0 {
		return top("identities: at least one identity is required")
	}
	names := map[string]bool{}
	dirs := map[string]bool{}
	scans, sshds := 0, 0
	for i, id := range c.Identities {
		bad := func(format string, args ...any) error {
			return &ConfigError{Identity: i, Name: id.Name, Err: fmt.Errorf(format, args...)}
		}
		switch {
		case id.Name == "":
			return bad("name is required")
		case names[id.Name]:
			return bad("name is used twice")
		case id.Dir == "":
			return bad("dir is required")
		case dirs[id.Dir]:
			return bad("dir %s is used twice", id.Dir)
		}
		names[id.Name], dirs[id.Dir] = true, true
		for j, a := range id.Reload {
			if err := a.Validate(); err != nil {
				return bad("reload[%d]: %w", j, err)
			}
		}
		if id.SSH != nil {
			switch id.SSH.KeyType {
			case "", KeyEd25519, KeyECDSA:
			default:
				return bad("ssh.key_type %q: want %s or %s", id.SSH.KeyType, KeyEd25519, KeyECDSA)
			}
		}
		if d := id.Sshd; d != nil {
			if sshds++; sshds > 1 {
				return bad("sshd: only the host identity may have an sshd section")
			}
			if d.Refresh < 0 {
				return bad("sshd.refresh must not be negative")
			}
			for _, p := range []struct{ name, v string }{{"sshd.dir", d.Dir}, {"sshd.host_keys", d.HostKeys}} {
				if p.v != "" && !filepath.IsAbs(p.v) {
					return bad("%s %q: want an absolute path", p.name, p.v)
				}
			}
			if d.Dir != "" && filepath.Clean(d.Dir) == filepath.Clean(id.Dir) {
				return bad("sshd.dir must not be the identity directory")
			}
			for j, a := range d.Reload {
				if err := a.Validate(); err != nil {
					return bad("sshd.reload[%d]: %w", j, err)
				}
			}
		}
		if id.Scan != nil {
			if scans++; scans > 1 {
				return bad("scan: only the host identity may have a scan section")
			}
			if id.Scan.Interval < 0 {
				return bad("scan: interval must not be negative")
			}
		}
	}
	return nil
}

func (c *Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Config) rnd(n int64) int64 {
	if n < 1 {
		return 0
	}
	if c.rand != nil {
		return c.rand(n)
	}
	return rand.Int64N(n)
}

func (c *Config) pollInterval() time.Duration {
	if c.PollInterval > 0 {
		return c.PollInterval
	}
	return time.Minute
}

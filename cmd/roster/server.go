package main

import (
	"fmt"
	"github.com/rosterhq/roster/access"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rosterhq/roster/ca"
	"github.com/rosterhq/roster/cmd/internal/cliout"
	"github.com/rosterhq/roster/cmd/roster/internal/client"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/notify"
	"github.com/rosterhq/roster/server"
	"github.com/urfave/cli/v2"
)

func serverCommand() *cli.Command {
	return &cli.Command{
		Name:  "server",
		Usage: "run the roster server: inventory, operator API and built-in CA over HTTPS",
		Description: "The first start initialises --data: CA root and intermediate, the server's TLS certificate and a\n" +
			"first admin token in DATA/admin.token. Later starts reuse it; a damaged or foreign directory is an error.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Value: "./" + client.DefaultDataDir, Usage: "data directory"},
			&cli.StringFlag{Name: "store", EnvVars: []string{"ROSTER_STORE"}, Usage: "PostgreSQL database (postgres://USER@HOST:PORT/DATABASE?sslmode=…) for the inventory, audit log, tokens and the CA's records; default: bbolt files in --data"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8443", Usage: "HTTPS listen address"},
			&cli.StringFlag{Name: "key-passphrase-file", Usage: "file holding the passphrase that encrypts the CA keys"},
			&cli.StringFlag{Name: "trust-domain", Value: "roster.local", Usage: "SPIFFE trust domain of issued identities (used at init)"},
			&cli.StringFlag{Name: "ssh-key-type", Value: string(ca.SSHKeyEd25519), Usage: "algorithm of the SSH user and host CA keys, ed25519 or ecdsa-p256 (used when they are created)"},
			&cli.DurationFlag{Name: "default-validity", Value: time.Hour, Usage: "lifetime of issued certificates"},
			&cli.DurationFlag{Name: "min-validity", Value: 5 * time.Minute, Usage: "shortest lifetime the policy allows"},
			&cli.DurationFlag{Name: "max-validity", Value: 24 * time.Hour, Usage: "longest lifetime the policy allows"},
			&cli.StringSliceFlag{Name: "tier-validity", Usage: "lifetime for one impact tier, TIER=DURATION (1=15m); repeat per tier"},
			&cli.BoolFlag{Name: "scan-on-start", Value: true, Usage: "scan this host at start so the inventory is not empty"},
			&cli.StringFlag{Name: "scan-root", Value: "/", Usage: "root filesystem scanned at start"},
			&cli.Int64Flag{Name: "max-scan-bytes", Value: 8 << 20, Usage: "largest scan report accepted"},
			&cli.IntFlag{Name: "max-conns", Value: server.DefaultMaxConns, Usage: "most connections open at once, from all clients"},
			&cli.IntFlag{Name: "max-conns-per-source", Value: server.DefaultMaxConnsPerSource, Usage: "most connections open at once from one IP address (raise it for many agents behind one NAT address)"},
			&cli.StringSliceFlag{Name: "placeholder-owners", Value: cli.NewStringSlice(inventory.DefaultPlaceholderOwners()...),
				Usage: "owner names refused as naming nobody, case-insensitive (an owner equal to the account's name is always refused); \"\" refuses none"},
			&cli.StringSliceFlag{Name: "notify-url", Usage: "webhook (http or https URL) that notices are posted to as JSON; repeat for several"},
			&cli.StringFlag{Name: "notify-secret-file", Usage: "file holding the secret that signs webhook posts (HMAC-SHA256, header X-Roster-Signature); not readable by others"},
			&cli.DurationFlag{Name: "ui-session-idle", Value: access.DefaultSessionIdle, Usage: "web page: a session unused this long ends"},
			&cli.DurationFlag{Name: "ui-session-max", Value: access.DefaultSessionMax, Usage: "web page: a session ends this long after sign-in, used or not"},
			&cli.StringFlag{Name: "ui-origin", Usage: "web page: its origin https://NAME[:PORT], the name passkeys are bound to (default localhost, or this host's name when listening beyond loopback)"},
			&cli.BoolFlag{Name: "ui-admin-passkey", Usage: "web page: admin pages and actions need a session signed in with a passkey"},
			&cli.StringFlag{Name: "metrics-listen", Usage: "also serve GET /metrics over plain HTTP without a token on this address, e.g. 127.0.0.1:9090 (loopback only, unless --metrics-listen-remote)"},
			&cli.BoolFlag{Name: "metrics-listen-remote", Usage: "let --metrics-listen take an address beyond loopback (plain HTTP, no token: a warning is logged)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log level: debug, info, warn, error"},
		},
		Action: func(c *cli.Context) error {
			log, err := cliout.NewLogger(os.Stderr, c.String("log-format"), c.String("log-level"))
			if err != nil {
				return err
			}
			if k := ca.SSHKeyType(c.String("ssh-key-type")); k != ca.SSHKeyEd25519 && k != ca.SSHKeyECDSAP256 {
				return fmt.Errorf("--ssh-key-type %q: use %s or %s", k, ca.SSHKeyEd25519, ca.SSHKeyECDSAP256)
			}
			var pass []byte
			if p := c.String("key-passphrase-file"); p != "" {
				data, err := os.ReadFile(p)
				if err != nil {
					return fmt.Errorf("--key-passphrase-file: %w", err)
				}
				pass = []byte(strings.TrimRight(string(data), "\r\n"))
				if len(pass) == 0 {
					return fmt.Errorf("--key-passphrase-file %s is empty", p)
				}
			}
			tierValidity, err := parseTierValidity(c.StringSlice("tier-validity"))
			if err != nil {
				return err
			}
			notifyURLs, notifySecret, err := notifyFlags(c.StringSlice("notify-url"), c.String("notify-secret-file"))
			if err != nil {
				return err
			}
			// The server's live heap is small next to any machine it runs on;
			// collecting a quarter as often buys about 15% more renewals per
			// second (README, "Measured"). An explicit GOGC still wins.
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(400)
			}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, os.Interrupt)
			defer stop()
			return server.Run(ctx, server.Config{
				DataDir:         c.String("data"),
				Store:           c.String("store"),
				Listen:          c.String("listen"),
				KeyPassphrase:   pass,
				TrustDomain:     c.String("trust-domain"),
				SSHKeyType:      ca.SSHKeyType(c.String("ssh-key-type")),
				DefaultValidity: c.Duration("default-validity"),
				MinValidity:     c.Duration("min-validity"),
				MaxValidity:     c.Duration("max-validity"),
				TierValidity:    tierValidity,
				ScanOnStart:     c.Bool("scan-on-start"),
				ScanRoot:        c.String("scan-root"),
				Limits: server.Limits{
					MaxScanBytes:      c.Int64("max-scan-bytes"),
					MaxConns:          c.Int("max-conns"),
					MaxConnsPerSource: c.Int("max-conns-per-source"),
				},
				PlaceholderOwners:   placeholderOwners(c.StringSlice("placeholder-owners")),
				NotifyURLs:          notifyURLs,
				NotifySecret:        notifySecret,
				SessionIdle:         c.Duration("ui-session-idle"),
				SessionMax:          c.Duration("ui-session-max"),
				UIOrigin:            c.String("ui-origin"),
				UIAdminPasskey:      c.Bool("ui-admin-passkey"),
				MetricsListen:       c.String("metrics-listen"),
				MetricsListenRemote: c.Bool("metrics-listen-remote"),
				Logger:              log,
				Out:                 c.App.Writer,
			})
		},
	}
}

// notifyFlags checks --notify-url values and reads --notify-secret-file.
func notifyFlags(urls []string, secretFile string) ([]string, []byte, error) {
	for _, u := range urls {
		if err := notify.ValidateURL(u); err != nil {
			return nil, nil, fmt.Errorf("--notify-url: %w", err)
		}
	}
	if secretFile == "" {
		return urls, nil, nil
	}
	if len(urls) == 0 {
		return nil, nil, fmt.Errorf("--notify-secret-file without --notify-url: nothing to sign")
	}
	secret, err := notify.ReadSecretFile(secretFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--notify-secret-file: %w", err)
	}
	return urls, secret, nil
}

// placeholderOwners is the --placeholder-owners list without empty
// names: never nil, so that --placeholder-owners "" refuses none.
func placeholderOwners(vals []string) []string {
	out := []string{}
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// parseTierValidity reads --tier-validity values such as "1=15m".
func parseTierValidity(vals []string) (map[inventory.Tier]time.Duration, error) {
	out := map[inventory.Tier]time.Duration{}
	for _, v := range vals {
		t, d, ok := strings.Cut(v, "=")
		tier, err := strconv.Atoi(t)
		if !ok || err != nil || tier < 1 || tier > 4 {
			return nil, fmt.Errorf("--tier-validity %q: expected TIER=DURATION with TIER 1 to 4, such as 1=15m", v)
		}
		dur, err := time.ParseDuration(d)
		if err != nil {
			return nil, fmt.Errorf("--tier-validity %q: %q is not a duration such as 15m", v, d)
		}
		out[inventory.Tier(tier)] = dur
	}
	return out, nil
}

package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/rosterhq/roster/discovery"
	"github.com/rosterhq/roster/internal/fsutil"
	"github.com/rosterhq/roster/scan"
)

// fingerprintKeyEnv names the file holding the per-installation key when
// --fingerprint-key is not given.
const fingerprintKeyEnv = "ROSTER_FINGERPRINT_KEY_FILE"

func scanCommand() *cli.Command {
	return &cli.Command{
		Name:  "scan",
		Usage: "scan this host for service accounts and static credentials",
		Description: "Reads accounts, shadow, group, sudoers, systemd units, crontabs, sshd and SSH keys, and\n" +
			"credential files under --root, plus processes and listening sockets from /proc when the root\n" +
			"is / (or --proc is given), and reports every account with its kind, privileges, credentials,\n" +
			"what runs as it and how it is reachable. Secrets are reported as keyed fingerprints only.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "root", Value: "/", Usage: "scan the host filesystem mounted at `DIR`"},
			&cli.StringFlag{Name: "proc", Usage: "read live processes and sockets from `DIR` (default: /proc when --root is /, none otherwise; - for none)"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output `FORMAT`: table or json"},
			&cli.StringFlag{Name: "fingerprint-key", Usage: "key secret fingerprints with the contents of `FILE` (default: a per-installation key, see $" + fingerprintKeyEnv + ")"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` instead of standard output"},
			&cli.BoolFlag{Name: "all", Usage: "table: show every account, also unprivileged system accounts without credentials"},
			&cli.BoolFlag{Name: "submit", Usage: "send the report to the roster server ($ROSTER_SERVER, $ROSTER_TOKEN, $ROSTER_CA_ROOT) with its fingerprint key, and print what changed"},
		}, append(sshScanFlags(), ldapScanFlags()...)...),
		Action: runScan,
	}
}

func runScan(c *cli.Context) error {
	if c.IsSet("ldap") {
		return runLDAPScan(c)
	}
	format := c.String("format")
	if format != "table" && format != "json" {
		return fmt.Errorf("unknown --format %q: want table or json", format)
	}
	if c.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", c.Args().First())
	}
	var sub *submitter
	var key []byte
	var err error
	if c.Bool("submit") {
		if sub, err = newSubmitter(); err != nil {
			return err
		}
		// The server's key, so that fingerprints agree across hosts.
		if c.String("fingerprint-key") == "" {
			if key, err = sub.fingerprintKey(c.Context); err != nil {
				return err
			}
		}
	}
	if key == nil {
		if key, err = scanFingerprintKey(c.String("fingerprint-key")); err != nil {
			return err
		}
	}
	if c.IsSet("ssh") || c.IsSet("ssh-hosts") {
		return runSSHScan(c, key, sub, format)
	}
	rep, err := discovery.Scan(c.Context, discovery.Options{
		Root:           c.String("root"),
		ProcDir:        c.String("proc"),
		FingerprintKey: key,
		Version:        version,
	})
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	write := func(w io.Writer) error { return writeReport(w, rep, format, c.Bool("all")) }
	if sub != nil {
		if err := sub.submit(c.Context, rep, c.App.Writer); err != nil {
			return err
		}
	}
	if out := c.String("output"); out != "" {
		return writeReportFile(out, write)
	}
	if sub != nil {
		return nil // the submission's summary was the output
	}
	return write(c.App.Writer)
}

// writeReport writes rep as an indented JSON document or as a table.
func writeReport(w io.Writer, rep *scan.Report, format string, all bool) error {
	if format == "table" {
		return discovery.TableOptions{All: all}.Write(w, rep)
	}
	// Commands in the report keep their "<", ">" and "&" readable.
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}

// writeReportFile writes the report to name through [fsutil.WriteFile]:
// complete or not at all, and durable once it returns.
func writeReportFile(name string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return fmt.Errorf("write report %s: %w", name, err)
	}
	return fsutil.WriteFile(name, buf.Bytes(), 0o644)
}

// scanFingerprintKey returns the key for secret fingerprints: the
// contents of file when given, else the per-installation key at
// $ROSTER_FINGERPRINT_KEY_FILE or <user config dir>/roster/fingerprint.key,
// created with 32 random bytes (mode 0600) on first use.
func scanFingerprintKey(file string) ([]byte, error) {
	if file != "" {
		key, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("fingerprint key: %w", err)
		}
		if len(key) < 16 {
			return nil, fmt.Errorf("fingerprint key %s: %d bytes, want at least 16", file, len(key))
		}
		return key, nil
	}
	file = os.Getenv(fingerprintKeyEnv)
	if file == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("fingerprint key: no --fingerprint-key, no $%s and %w", fingerprintKeyEnv, err)
		}
		file = filepath.Join(dir, "roster", "fingerprint.key")
	}
	return loadOrCreateKey(file)
}

// loadOrCreateKey reads the key at file or, when there is none, creates it.
// Two scans starting at once agree on one key: the file is written aside
// and linked into place, and the loser of the race reads the winner's.
func loadOrCreateKey(file string) ([]byte, error) {
	key, err := os.ReadFile(file)
	if err == nil {
		if len(key) < 16 {
			return nil, fmt.Errorf("fingerprint key %s: %d bytes, want at least 16", file, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("fingerprint key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("fingerprint key: %w", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("fingerprint key: %w", err)
	}
	// Exclusive: a concurrent scan that created the key first wins, and
	// this one reads its key.
	if err := fsutil.WriteFile(file, key, 0o600, fsutil.Exclusive()); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadOrCreateKey(file)
		}
		return nil, fmt.Errorf("fingerprint key: %w", err)
	}
	return key, nil
}

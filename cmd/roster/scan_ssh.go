package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
	"golang.org/x/term"

	"github.com/rosterhq/roster/discovery"
	"github.com/rosterhq/roster/discovery/sftpfs"
	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/scan"
)

// sshScanFlags are scan's flags for agentless scans over SSH.
func sshScanFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ssh", Usage: "scan the remote host `USER@HOST[:PORT]` over SFTP (read-only: no command runs on it)"},
		&cli.StringFlag{Name: "ssh-hosts", Usage: "scan every `FILE` target (USER@HOST[:PORT] a line, # comments) over SFTP"},
		&cli.IntFlag{Name: "parallel", Value: 8, Usage: "with --ssh-hosts: scan at most `N` hosts at once"},
		&cli.StringFlag{Name: "identity", Usage: "authenticate with the private key `FILE` (and FILE-cert.pub beside it when present); default: the ssh-agent at $SSH_AUTH_SOCK"},
		&cli.StringFlag{Name: "known-hosts", Usage: "verify host keys against `FILE` (known_hosts format, @cert-authority lines included; default ~/.ssh/known_hosts)"},
		&cli.DurationFlag{Name: "ssh-timeout", Value: 5 * time.Minute, Usage: "give up on one host's scan after `DURATION`"},
	}
}

// sshTarget is one USER@HOST[:PORT].
type sshTarget struct {
	User, Host string
	Port       int
}

func (t sshTarget) addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// String is the target as written, with the port.
func (t sshTarget) String() string { return t.User + "@" + t.addr() }

// rootName is the report's host.root: sftp://USER@HOST:PORT/. With a
// ChrootDirectory account it names the chroot the server confines the
// account to, not the host's /.
func (t sshTarget) rootName() string { return "sftp://" + t.String() + "/" }

// parseSSHTarget parses USER@HOST[:PORT] ([HOST]:PORT for IPv6).
func parseSSHTarget(s string) (sshTarget, error) {
	user, hostPort, ok := strings.Cut(s, "@")
	if !ok || user == "" || hostPort == "" {
		return sshTarget{}, fmt.Errorf("ssh target %q: want USER@HOST[:PORT]", s)
	}
	if len(s) > 300 || strings.ContainsAny(s, " \t/\x00") || strings.ContainsAny(user, "@:") ||
		strings.ContainsFunc(user, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return sshTarget{}, fmt.Errorf("ssh target %q: want USER@HOST[:PORT]", s)
	}
	t := sshTarget{User: user, Host: hostPort, Port: 22}
	if h, p, err := net.SplitHostPort(hostPort); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return sshTarget{}, fmt.Errorf("ssh target %q: bad port %q", s, p)
		}
		t.Host, t.Port = h, n
	} else if strings.Contains(hostPort, ":") && !strings.HasPrefix(hostPort, "[") {
		return sshTarget{}, fmt.Errorf("ssh target %q: %v", s, err)
	}
	t.Host = strings.TrimSuffix(strings.TrimPrefix(t.Host, "["), "]")
	if !validSSHHost(t.Host) {
		return sshTarget{}, fmt.Errorf("ssh target %q: bad host %q", s, t.Host)
	}
	return t, nil
}

// validSSHHost reports whether h is an IP address or a host name.
func validSSHHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// maxHostsFile bounds a --ssh-hosts file.
const maxHostsFile = 4 << 20

// parseHostsFile parses a --ssh-hosts file: one target a line, blank lines
// and # comments ignored. Errors name the line.
func parseHostsFile(data []byte) ([]sshTarget, error) {
	var out []sshTarget
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		t, err := parseSSHTarget(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	if len(out) == 0 {
		return nil, errors.New("no targets")
	}
	return out, nil
}

// sshAuth returns the client's authentication: the key --identity (as a
// certificate when FILE-cert.pub is beside it, as roster's agent writes
// them) or the ssh-agent's keys.
func sshAuth(identity string) ([]ssh.AuthMethod, func(), error) {
	if identity != "" {
		pem, err := os.ReadFile(identity)
		if err != nil {
			return nil, nil, fmt.Errorf("identity: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			return nil, nil, fmt.Errorf("identity %s: %w (an encrypted key: load it into ssh-agent instead)", identity, err)
		}
		signers := []ssh.Signer{signer}
		if certText, err := os.ReadFile(identity + "-cert.pub"); err == nil {
			pub, _, _, _, err := ssh.ParseAuthorizedKey(certText)
			if err != nil {
				return nil, nil, fmt.Errorf("certificate %s-cert.pub: %w", identity, err)
			}
			cert, ok := pub.(*ssh.Certificate)
			if !ok {
				return nil, nil, fmt.Errorf("certificate %s-cert.pub: not an SSH certificate", identity)
			}
			cs, err := ssh.NewCertSigner(cert, signer)
			if err != nil {
				return nil, nil, fmt.Errorf("certificate %s-cert.pub: %w", identity, err)
			}
			signers = []ssh.Signer{cs, signer}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("certificate: %w", err)
		}
		return []ssh.AuthMethod{ssh.PublicKeys(signers...)}, func() {}, nil
	}
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, nil, errors.New("no --identity and no ssh-agent ($SSH_AUTH_SOCK is not set): give --identity FILE")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil, fmt.Errorf("ssh-agent: %w", err)
	}
	ag := agent.NewClient(conn)
	return []ssh.AuthMethod{ssh.PublicKeysCallback(ag.Signers)}, func() { conn.Close() }, nil
}

// hostKeyCallback verifies host keys against the known_hosts file, refusing
// unknown hosts with the fingerprint and how to add them.
func hostKeyCallback(file string) (ssh.HostKeyCallback, error) {
	if file == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("known hosts: %w (give --known-hosts FILE)", err)
		}
		file = filepath.Join(home, ".ssh", "known_hosts")
	}
	cb, err := knownhosts.New(file)
	if err != nil {
		return nil, fmt.Errorf("known hosts: %w (give --known-hosts FILE)", err)
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(hostname, remote, key)
		if c, ok := key.(*ssh.Certificate); ok && err != nil {
			// No trusted CA for the certificate: as OpenSSH, retry
			// with the plain host key it certifies.
			if err = cb(hostname, remote, c.Key); err == nil {
				return nil
			}
		}
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) && len(ke.Want) == 0 {
			shown := key
			if c, ok := key.(*ssh.Certificate); ok {
				shown = c.Key
			}
			h, p, err := net.SplitHostPort(hostname)
			if err != nil {
				h, p = hostname, "22"
			}
			return fmt.Errorf("host %s is not in %s (host key %s %s): check the fingerprint with the host's owner, then add it with `ssh-keyscan -p %s %s >> %s` or trust roster's host CA with an @cert-authority line", hostname, file, shown.Type(), ssh.FingerprintSHA256(shown), p, h, file)
		}
		if errors.As(err, &ke) {
			return fmt.Errorf("host %s: its key %s does not match %s line %d: refusing (a changed key or an impostor)", hostname, ssh.FingerprintSHA256(key), ke.Want[0].Filename, ke.Want[0].Line)
		}
		return err
	}, nil
}

// sshScanner scans hosts over SFTP with one configuration.
type sshScanner struct {
	auth    []ssh.AuthMethod
	hostKey ssh.HostKeyCallback
	key     []byte
	timeout time.Duration
	fsOpts  sftpfs.Options // the remote filesystem's bounds (defaults: zero)
}

// scanHost scans one target: SSH connection, the SFTP subsystem, the
// scan. The whole of it is bounded by s.timeout.
func (s *sshScanner) scanHost(ctx context.Context, t sshTarget) (*scan.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cfg := &ssh.ClientConfig{User: t.User, Auth: s.auth, HostKeyCallback: s.hostKey, Timeout: 30 * time.Second}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.addr())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	// Closing the connection when ctx ends unblocks every pending request.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(conn, t.addr(), cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	fsys, err := sftpfs.Open(client, s.fsOpts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	defer fsys.Close()
	rep, err := discovery.Scan(ctx, discovery.Options{
		FS:             fsys,
		RootName:       t.rootName(),
		FingerprintKey: s.key,
		Version:        version,
	})
	if lost := fsys.Lost(); lost != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("%s: %w", t, lost) // a partial report: retried once
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", t, ctx.Err())
		}
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	return rep, nil
}

// retryable reports whether err is a dropped connection worth one retry.
func retryable(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, sftp.ErrSSHFxConnectionLost) || strings.Contains(err.Error(), "connection reset")
}

func newSSHScanner(c *cli.Context, key []byte) (*sshScanner, func(), error) {
	auth, closeAuth, err := sshAuth(c.String("identity"))
	if err != nil {
		return nil, nil, err
	}
	hk, err := hostKeyCallback(c.String("known-hosts"))
	if err != nil {
		closeAuth()
		return nil, nil, err
	}
	return &sshScanner{auth: auth, hostKey: hk, key: key, timeout: c.Duration("ssh-timeout")}, closeAuth, nil
}

// runSSHScan is `roster scan --ssh` and `--ssh-hosts`.
func runSSHScan(c *cli.Context, key []byte, sub *submitter, format string) error {
	if c.IsSet("root") || c.IsSet("proc") {
		return errors.New("--ssh and --ssh-hosts scan the remote host's /: drop --root and --proc")
	}
	s, closeAuth, err := newSSHScanner(c, key)
	if err != nil {
		return err
	}
	defer closeAuth()
	if one := c.String("ssh"); one != "" {
		if c.IsSet("ssh-hosts") {
			return errors.New("give --ssh or --ssh-hosts, not both")
		}
		t, err := parseSSHTarget(one)
		if err != nil {
			return err
		}
		rep, err := s.scanHost(c.Context, t)
		if err != nil && retryable(err) {
			rep, err = s.scanHost(c.Context, t)
		}
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		return emitReport(c, rep, sub, format)
	}
	if sub == nil && c.String("output") == "" {
		return errors.New("--ssh-hosts needs --submit (or --output FILE for one JSON report a line)")
	}
	data, err := readBounded(c.String("ssh-hosts"), maxHostsFile)
	if err != nil {
		return err
	}
	targets, err := parseHostsFile(data)
	if err != nil {
		return fmt.Errorf("--ssh-hosts %s: %w", c.String("ssh-hosts"), err)
	}
	return scanMany(c, s, targets, sub)
}

func readBounded(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: over %d bytes", name, max)
	}
	return data, nil
}

// emitReport submits, writes or prints one report as `roster scan` does.
func emitReport(c *cli.Context, rep *scan.Report, sub *submitter, format string) error {
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
		return nil
	}
	return write(c.App.Writer)
}

// scanMany scans targets, at most --parallel at once, retrying a dropped
// connection once; a failed host never stops the others. It prints a
// summary of the failures and fails when any host did.
func scanMany(c *cli.Context, s *sshScanner, targets []sshTarget, sub *submitter) error {
	par := max(1, min(c.Int("parallel"), 256))
	errs := make([]error, len(targets))
	var mu sync.Mutex // serialises submissions, output and progress
	done, failed := 0, 0
	tty := false
	if f, ok := c.App.ErrWriter.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	var out bytes.Buffer
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rep, err := s.scanHost(c.Context, t)
			if err != nil && retryable(err) {
				rep, err = s.scanHost(c.Context, t)
			}
			mu.Lock()
			defer mu.Unlock()
			if err == nil && sub != nil {
				var msg bytes.Buffer
				if err = sub.submit(c.Context, rep, &msg); err == nil {
					fmt.Fprintf(c.App.Writer, "%s: %s", t, msg.String())
				}
			}
			if err == nil && c.String("output") != "" {
				var line []byte
				if line, err = json.Marshal(rep); err == nil {
					out.Write(append(line, '\n'))
				}
			}
			errs[i] = err
			done++
			if err != nil {
				failed++
			}
			if tty {
				fmt.Fprintf(c.App.ErrWriter, "\rscanned %d/%d hosts, %d failed", done, len(targets), failed)
			}
		}()
	}
	wg.Wait()
	if tty {
		fmt.Fprintln(c.App.ErrWriter)
	}
	if name := c.String("output"); name != "" {
		if err := writeReportFile(name, func(w io.Writer) error { _, err := w.Write(out.Bytes()); return err }); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.App.Writer, "%d hosts scanned, %d failed\n", len(targets)-failed, failed)
	for _, err := range errs {
		if err != nil {
			textout.Fprintf(c.App.Writer, "  failed: %s\n", err.Error()) // the error names the target; a remote message is cleaned
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d hosts failed", failed, len(targets))
	}
	return nil
}

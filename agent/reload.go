package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Reload action defaults.
const (
	defaultReloadTimeout = 30 * time.Second
	reloadAttempts       = 3
)

// ReloadAction tells a service that its certificate changed. Exactly one of
// Exec, Signal and SystemctlReload is set.
type ReloadAction struct {
	// Exec is a command line, run without a shell. It gets the environment
	// variables ROSTER_IDENTITY, ROSTER_CERT_FILE, ROSTER_KEY_FILE and
	// ROSTER_ROOT_FILE.
	Exec []string
	// Signal is sent to a process.
	Signal *SignalAction
	// SystemctlReload is a unit for `systemctl reload UNIT`.
	SystemctlReload string
	// Timeout bounds Exec and SystemctlReload; zero means 30s.
	Timeout time.Duration
}

// SignalAction names a process by PID or PID file and the signal to send it.
type SignalAction struct {
	PID     int
	PIDFile string
	Signal  string // HUP (the default), USR1, USR2, INT, TERM, QUIT or WINCH, with or without SIG
}

var signals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "INT": syscall.SIGINT,
	"TERM": syscall.SIGTERM, "QUIT": syscall.SIGQUIT, "WINCH": syscall.SIGWINCH,
}

// parseSignal accepts a signal name such as "HUP" or "SIGUSR1"; empty means
// SIGHUP.
func parseSignal(name string) (syscall.Signal, error) {
	if name == "" {
		return syscall.SIGHUP, nil
	}
	n := strings.TrimPrefix(strings.ToUpper(name), "SIG")
	s, ok := signals[n]
	if !ok {
		return 0, fmt.Errorf("signal %q: want HUP, USR1, USR2, INT, TERM, QUIT or WINCH", name)
	}
	return s, nil
}

// Validate checks the action without running it.
func (a ReloadAction) Validate() error {
	n := 0
	if len(a.Exec) > 0 {
		n++
		if a.Exec[0] == "" {
			return errors.New("exec: empty command")
		}
	}
	if a.Signal != nil {
		n++
		if (a.Signal.PID > 0) == (a.Signal.PIDFile != "") {
			return errors.New("signal: set exactly one of pid and pid_file")
		}
		if a.Signal.PID < 0 {
			return errors.New("signal: pid must be positive")
		}
		if _, err := parseSignal(a.Signal.Signal); err != nil {
			return err
		}
	}
	if a.SystemctlReload != "" {
		n++
		if strings.HasPrefix(a.SystemctlReload, "-") || strings.ContainsAny(a.SystemctlReload, " \t\n") {
			return fmt.Errorf("systemctl_reload: %q is not a unit name", a.SystemctlReload)
		}
	}
	if n != 1 {
		return errors.New("set exactly one of exec, signal and systemctl_reload")
	}
	if a.Timeout < 0 {
		return errors.New("timeout must not be negative")
	}
	return nil
}

// String describes the action for logs.
func (a ReloadAction) String() string {
	switch {
	case len(a.Exec) > 0:
		return "exec " + strings.Join(a.Exec, " ")
	case a.Signal != nil:
		sig := a.Signal.Signal
		if sig == "" {
			sig = "HUP"
		}
		if a.Signal.PIDFile != "" {
			return "signal " + sig + " to pid in " + a.Signal.PIDFile
		}
		return "signal " + sig + " to pid " + strconv.Itoa(a.Signal.PID)
	default:
		return "systemctl reload " + a.SystemctlReload
	}
}

// reloader runs reload actions for one identity.
type reloader struct {
	dir, identity string
	systemctl     string // the systemctl binary
}

func (r reloader) run(ctx context.Context, a ReloadAction) error {
	timeout := a.Timeout
	if timeout == 0 {
		timeout = defaultReloadTimeout
	}
	switch {
	case len(a.Exec) > 0:
		return r.exec(ctx, a.Exec, timeout)
	case a.Signal != nil:
		return signalProcess(*a.Signal)
	default:
		return r.exec(ctx, []string{r.systemctl, "reload", a.SystemctlReload}, timeout)
	}
}

func (r reloader) exec(ctx context.Context, argv []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(),
		"ROSTER_IDENTITY="+r.identity,
		"ROSTER_CERT_FILE="+filepath.Join(r.dir, CertFile),
		"ROSTER_KEY_FILE="+filepath.Join(r.dir, KeyFile),
		"ROSTER_ROOT_FILE="+filepath.Join(r.dir, RootFile),
	)
	var out tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Do not wait for grandchildren that keep the output open.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%s: timed out after %s", argv[0], timeout)
	}
	if err != nil {
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return fmt.Errorf("%s: %w: %s", argv[0], err, msg)
		}
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	return nil
}

func signalProcess(s SignalAction) error {
	sig, err := parseSignal(s.Signal)
	if err != nil {
		return err
	}
	pid := s.PID
	if s.PIDFile != "" {
		b, err := os.ReadFile(s.PIDFile)
		if err != nil {
			return fmt.Errorf("read pid file: %w", err)
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			return fmt.Errorf("pid file %s does not hold a process id", s.PIDFile)
		}
	}
	if pid <= 0 {
		return errors.New("no process id")
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("send %s to pid %d: %w", sig, pid, err)
	}
	return nil
}

// tailBuffer keeps the last 1 KiB written to it, for error messages.
type tailBuffer struct{ b bytes.Buffer }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b.Write(p)
	if t.b.Len() > 1024 {
		rest := t.b.Bytes()[t.b.Len()-1024:]
		t.b = *bytes.NewBuffer(append([]byte(nil), rest...))
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.ToValidUTF8(t.b.String(), "?") }

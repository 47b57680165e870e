package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/agent/agenttest"
)

// binaries holds the paths of roster and roster-agent built once per test
// binary run, so every end-to-end test runs the real programs.
var binaries struct {
	once  sync.Once
	dir   string
	err   error
	build []byte
}

// buildBinaries builds ./cmd/roster and ./cmd/roster-agent (with -race when
// the tests run with it, so the processes are checked too).
func buildBinaries(t testing.TB) (roster, agent string) {
	t.Helper()
	binaries.once.Do(func() {
		binaries.dir, binaries.err = os.MkdirTemp("", "roster-e2e-bin")
		if binaries.err != nil {
			return
		}
		args := []string{"build", "-o", binaries.dir + "/"}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/rosterhq/roster/cmd/roster", "github.com/rosterhq/roster/cmd/roster-agent")
		cmd := exec.Command("go", args...)
		binaries.build, binaries.err = cmd.CombinedOutput()
	})
	if binaries.err != nil {
		t.Fatalf("building binaries: %v\n%s", binaries.err, binaries.build)
	}
	return filepath.Join(binaries.dir, "roster"), filepath.Join(binaries.dir, "roster-agent")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaries.dir != "" {
		os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}

// serverProc is a real `roster server` process in a temp data dir.
type serverProc struct {
	t       testing.TB
	bin     string
	dataDir string
	args    []string
	cmd     *exec.Cmd
	URL     string
	out     *agenttest.LogBuffer
	exited  chan struct{}
}

var listenRE = regexp.MustCompile(`roster server listening on (https://\S+)`)

// startServer starts `roster server --data dataDir --listen 127.0.0.1:0`
// plus extra args and waits until it listens.
func startServer(t testing.TB, dataDir string, extra ...string) *serverProc {
	t.Helper()
	bin, _ := buildBinaries(t)
	s := &serverProc{t: t, bin: bin, dataDir: dataDir, args: extra}
	s.start()
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *serverProc) start() {
	s.t.Helper()
	args := []string{"server", "--data", s.dataDir}
	if !slices.Contains(s.args, "--listen") {
		args = append(args, "--listen", "127.0.0.1:0")
	}
	args = append(args, s.args...)
	s.cmd = exec.Command(s.bin, args...)
	s.out = &agenttest.LogBuffer{}
	pr, pw := io.Pipe()
	s.cmd.Stdout = io.MultiWriter(s.out, pw)
	s.cmd.Stderr = s.out
	s.cmd.Env = cleanEnv()
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting server: %v", err)
	}
	s.exited = make(chan struct{})
	go func() {
		s.cmd.Wait()
		pw.Close()
		close(s.exited)
	}()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				io.Copy(io.Discard, pr)
				return
			}
		}
	}()
	select {
	case s.URL = <-found:
	case <-s.exited:
		s.t.Fatalf("server exited before listening:\n%s", s.out.String())
	case <-time.After(90 * time.Second):
		s.t.Fatalf("server did not listen within 90s:\n%s", s.out.String())
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *serverProc) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if code := s.cmd.ProcessState.ExitCode(); code != 0 {
			s.t.Errorf("server exited with %d after SIGTERM, want a clean 0:\n%s", code, s.out.String())
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		s.t.Errorf("server did not stop on SIGTERM within 30s:\n%s", s.out.String())
	}
}

// kill sends SIGKILL, as a crash would.
func (s *serverProc) kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// restart starts the server again on the same data dir.
func (s *serverProc) restart() {
	s.t.Helper()
	s.start()
}

// cleanEnv is the test's environment without ROSTER_* variables, so a
// developer's own settings never leak into a test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROSTER_") {
			env = append(env, kv)
		}
	}
	return env
}

// cli runs the roster CLI against s with the given token and returns
// stdout, stderr and the exit code.
func (s *serverProc) cli(token string, args ...string) (stdout, stderr string, code int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = append(cleanEnv(),
		"ROSTER_SERVER="+s.URL,
		"ROSTER_CA_ROOT="+filepath.Join(s.dataDir, "root.crt"),
		"ROSTER_TOKEN="+token,
		"XDG_CONFIG_HOME="+s.t.TempDir(),
	)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			s.t.Fatalf("running roster %v: %v", args, err)
		}
	}
	return o.String(), e.String(), code
}

// mustCLI is cli that fails the test on a non-zero exit.
func (s *serverProc) mustCLI(token string, args ...string) string {
	s.t.Helper()
	out, errOut, code := s.cli(token, args...)
	if code != 0 {
		s.t.Fatalf("roster %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (s *serverProc) adminToken() string {
	s.t.Helper()
	data, err := os.ReadFile(filepath.Join(s.dataDir, "admin.token"))
	if err != nil {
		s.t.Fatalf("reading admin token: %v", err)
	}
	return strings.TrimSpace(string(data))
}

func execCommand(ctx context.Context, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cleanEnv()
	return cmd
}

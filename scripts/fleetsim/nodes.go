package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rosterhq/roster/agent"
)

// startTimeout bounds how long a node may take to listen and be ready.
const startTimeout = 2 * time.Minute

// node is one `roster server` process on a loopback port, started again on
// the same port and data directory after a kill.
type node struct {
	name string
	bin  string
	dir  string // data directory
	addr string // 127.0.0.1:PORT
	args []string
	logf *os.File // the process's stdout and stderr

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	spent  time.Duration // CPU of the node's earlier processes
	kills  int
}

func (n *node) url() string { return "https://" + n.addr }

// freeAddr picks a free loopback port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// buildRoster builds cmd/roster into dir and returns the binary's path.
func buildRoster(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "roster")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/rosterhq/roster/cmd/roster")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build cmd/roster: %w\n%s", err, b)
	}
	return out, nil
}

// serverArgs are the flags every node runs with: certificates that live
// lifetime, no scan of this machine, and no cap on connections from one
// source, since every simulated host comes from 127.0.0.1.
func serverArgs(o *options) []string {
	args := []string{"--scan-on-start=false",
		"--default-validity", o.lifetime.String(), "--min-validity", min(o.lifetime, time.Second).String(),
		"--max-conns", "65536", "--max-conns-per-source", "65536"}
	if o.store != storeBbolt {
		args = append(args, "--store", o.store)
	}
	return args
}

// start starts the node's process and waits until it listens and answers
// /readyz with 200.
func (n *node) start(ctx context.Context) error {
	args := append([]string{"server", "--data", n.dir, "--listen", n.addr}, n.args...)
	cmd := exec.Command(n.bin, args...)
	// The node's environment: none of the caller's ROSTER_ variables.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	// A node outlives no simulator, also one that was killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	cmd.Stdout = io.MultiWriter(n.logf, pw)
	cmd.Stderr = n.logf
	n.mu.Lock()
	if err := cmd.Start(); err != nil {
		n.mu.Unlock()
		return fmt.Errorf("%s: start roster server: %w", n.name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		pw.Close()
		close(exited)
	}()
	n.cmd, n.exited = cmd, exited
	n.mu.Unlock()
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "roster server listening on") {
				close(listening)
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-listening:
	case <-exited:
		return fmt.Errorf("%s: the server process exited before listening (log: %s)", n.name, n.logf.Name())
	case <-timer.C:
		return fmt.Errorf("%s: the server process did not listen within %s (log: %s)", n.name, startTimeout, n.logf.Name())
	case <-ctx.Done():
		return ctx.Err()
	}
	return n.waitReady(ctx, exited, timer.C)
}

// waitReady polls /readyz until it answers 200.
func (n *node) waitReady(ctx context.Context, exited <-chan struct{}, timeout <-chan time.Time) error {
	root, err := readRoot(n.dir)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	hc := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := hc.Get(n.url() + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-tick.C:
		case <-exited:
			return fmt.Errorf("%s: the server process exited before it was ready (log: %s)", n.name, n.logf.Name())
		case <-timeout:
			return fmt.Errorf("%s: /readyz did not answer 200 within %s (log: %s)", n.name, startTimeout, n.logf.Name())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// cpu is the user and system CPU time the node's processes have used so
// far: the earlier ones' and the running one's.
func (n *node) cpu() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return n.spent
	}
	select {
	case <-n.exited:
		return n.spent
	default:
	}
	c, _ := procCPU(n.cmd.Process.Pid)
	return n.spent + c
}

// kill stops the node's process with SIGKILL, as a crash would, after
// booking the CPU it used.
func (n *node) kill() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return nil
	}
	c, err := procCPU(n.cmd.Process.Pid)
	if err != nil {
		return fmt.Errorf("%s: %w", n.name, err)
	}
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("%s: kill -9: %w", n.name, err)
	}
	<-n.exited
	n.spent += c
	n.kills++
	return nil
}

// stop ends the node's process with SIGTERM (SIGKILL after a grace
// period).
func (n *node) stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	select {
	case <-n.exited:
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
	}
}

// clusterSetup starts o.nodes nodes under work: the first initialises its
// data directory, the others start from a copy of it with the same
// --store (README, "PostgreSQL store").
func clusterSetup(ctx context.Context, o *options, bin, work string) ([]*node, error) {
	args := serverArgs(o)
	var nodes []*node
	for i := range o.nodes {
		addr, err := freeAddr()
		if err != nil {
			return nodes, err
		}
		name := fmt.Sprintf("node%d", i+1)
		logf, err := os.Create(filepath.Join(work, name+".log"))
		if err != nil {
			return nodes, err
		}
		n := &node{name: name, bin: bin, dir: filepath.Join(work, name), addr: addr, args: args, logf: logf}
		if i > 0 {
			if out, err := exec.Command("cp", "-a", nodes[0].dir, n.dir).CombinedOutput(); err != nil {
				return nodes, fmt.Errorf("%s: copy %s's data directory: %w\n%s", name, nodes[0].name, err, out)
			}
		}
		nodes = append(nodes, n)
		if err := n.start(ctx); err != nil {
			return nodes, err
		}
	}
	return nodes, nil
}

// readRoot reads the CA root of a data directory.
func readRoot(dir string) (*x509.Certificate, error) {
	b, err := os.ReadFile(filepath.Join(dir, "root.crt"))
	if err != nil {
		return nil, fmt.Errorf("read the CA root: %w", err)
	}
	certs, err := agent.ParseCertificates(b)
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("read the CA root %s: not a PEM certificate (%v)", filepath.Join(dir, "root.crt"), err)
	}
	return certs[0], nil
}

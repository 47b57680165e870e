package server

import (
	"log/slog"
	"net"
	"sync"
	"time"
)

// capListener accepts at most max connections at once in all, and at most
// perSource from one source address; a connection over either cap is
// closed as soon as it is accepted, before any TLS, so that the backlog
// keeps draining and the other sources are still served.
type capListener struct {
	net.Listener
	max, perSource int
	log            *slog.Logger

	mu       sync.Mutex
	total    int
	bySource map[string]int
	refused  int       // since the last warning
	warned   time.Time // when the last warning was logged
}

func newCapListener(ln net.Listener, max, perSource int, log *slog.Logger) *capListener {
	return &capListener{Listener: ln, max: max, perSource: perSource, log: log, bySource: map[string]int{}}
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := sourceOf(c.RemoteAddr())
		if l.admit(src) {
			return &capConn{Conn: c, l: l, src: src}, nil
		}
		c.Close()
	}
}

// admit counts a new connection from src, or refuses it (and warns at most
// once a minute) when a cap is reached.
func (l *capListener) admit(src string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.max || l.bySource[src] >= l.perSource {
		l.refused++
		if now := time.Now(); now.Sub(l.warned) >= time.Minute {
			l.log.Warn("connections refused: over the connection caps", slog.Int("refused", l.refused),
				slog.String("last_source", src), slog.Int("open", l.total), slog.Int("max_conns", l.max),
				slog.Int("max_conns_per_source", l.perSource))
			l.refused, l.warned = 0, now
		}
		return false
	}
	l.total++
	l.bySource[src]++
	return true
}

func (l *capListener) release(src string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.bySource[src]--; l.bySource[src] <= 0 {
		delete(l.bySource, src)
	}
}

// sourceOf is the address a connection is counted under: its IP.
func sourceOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// capConn gives its slot back when closed, once.
type capConn struct {
	net.Conn
	l    *capListener
	src  string
	once sync.Once
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.src) })
	return err
}

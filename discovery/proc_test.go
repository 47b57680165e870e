package discovery

import (
	"encoding/binary"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/rosterhq/roster/scan"
)

func TestReadProcFixture(t *testing.T) {
	var w warnings
	procs, listeners := readProc("testdata/proc", &w)
	wantProcs := []process{
		{1, 0, "systemd", "/sbin/init splash"},
		{2, 0, "kthreadd", ""},
		{812, 106, "postgres", "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main -c config_file=/etc/postgresql/15/main/postgresql.conf"},
		{813, 106, "postgres", "postgres: 15/main: checkpointer "},
		{901, 1001, "mysqldump", "mysqldump -uroot -p[REDACTED] --all-databases"},
		{950, 1001, "curl", "curl -H Authorization: [REDACTED] https://deploy:[REDACTED]@repo.example.com/x --token [REDACTED]"},
		{1020, 105, "redis-server", "/usr/bin/redis-server 127.0.0.1:6379"},
		{1100, 0, "dhclient", "dhclient -4 eth0"},
	}
	if !reflect.DeepEqual(procs, wantProcs) {
		t.Errorf("processes:\n got %+v\nwant %+v", procs, wantProcs)
	}
	sock := func(proto, addr string, port int, loop bool, pid int, name string, uid int) listener {
		return listener{Socket: scan.Socket{Proto: proto, Address: addr, Port: port, Loopback: loop, PID: pid, Process: name}, UID: uid}
	}
	wantListeners := []listener{
		sock("tcp", "0.0.0.0", 5432, false, 812, "postgres", 106),
		sock("tcp", "127.0.0.1", 6379, true, 1020, "redis-server", 105),
		sock("tcp", "127.0.0.1", 8080, true, 0, "", 1000), // another user's process: socket uid only
		sock("tcp6", "::", 22, false, 1, "systemd", 0),
		sock("tcp6", "::1", 631, true, 0, "", 0),
		sock("tcp6", "127.0.0.1", 9090, true, 0, "", 0), // ::ffff:127.0.0.1
		sock("udp", "0.0.0.0", 68, false, 1100, "dhclient", 0),
	}
	if !reflect.DeepEqual(listeners, wantListeners) {
		t.Errorf("listeners:\n got %+v\nwant %+v", listeners, wantListeners)
	}
	if len(w.list) != 1 || w.list[0].File != "testdata/proc/net/tcp" || w.list[0].Line != 6 {
		t.Errorf("want one warning for net/tcp line 6, got %+v", w.list)
	}
	assertNoSecrets(t, []string{"procsecret", "proctokensecret", "procurlpw", "proctoken2"}, procs, listeners, w.list)
}

func TestReadProcLive(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	tcpPort, udpPort := l.Addr().(*net.TCPAddr).Port, u.LocalAddr().(*net.UDPAddr).Port

	var w warnings
	procs, listeners := readProc("/proc", &w)
	found := map[string]bool{}
	for _, s := range listeners {
		if s.PID != os.Getpid() {
			continue
		}
		if s.UID != os.Getuid() || !s.Loopback || s.Address != "127.0.0.1" {
			t.Errorf("our socket %+v: want uid %d, loopback 127.0.0.1", s, os.Getuid())
		}
		if s.Proto == "tcp" && s.Port == tcpPort || s.Proto == "udp" && s.Port == udpPort {
			found[s.Proto] = true
		}
	}
	if !found["tcp"] || !found["udp"] {
		t.Errorf("listeners of this process not found (tcp %d, udp %d): %v", tcpPort, udpPort, found)
	}
	self := false
	for _, p := range procs {
		if p.PID == os.Getpid() {
			self = p.UID == os.Getuid() && p.Comm != "" && strings.Contains(p.Cmdline, ".test")
		}
	}
	if !self {
		t.Error("this process is not among the processes, or its uid or command line is wrong")
	}
}

func TestParseHexAddr(t *testing.T) {
	cases := []struct {
		in   string
		ip   string
		port int
		err  bool
	}{
		{in: "0100007F:0050", ip: "127.0.0.1", port: 80},
		{in: "00000000:FFFF", ip: "0.0.0.0", port: 65535},
		{in: "B80D0120000000000000000001000000:01BB", ip: "2001:db8::1", port: 443},
		{in: "0000000000000000FFFF00000A00000A:0016", ip: "10.0.0.10", port: 22},
		{in: "0100007F", err: true},
		{in: "0100007:0050", err: true},
		{in: "0100007G:0050", err: true},
		{in: "0100007F:10000", err: true},
	}
	for _, tc := range cases {
		ip, port, err := parseHexAddr(tc.in, binary.LittleEndian)
		if (err != nil) != tc.err || err == nil && (ip.String() != tc.ip || port != tc.port) {
			t.Errorf("parseHexAddr(%q) = %v, %d, %v; want %s %d err %v", tc.in, ip, port, err, tc.ip, tc.port, tc.err)
		}
	}
	// A big-endian host (s390x, ppc64) prints each 32-bit word most
	// significant byte first: the same addresses read as network order.
	bigEndian := []struct {
		in, ip string
		port   int
	}{
		{"7F000001:0050", "127.0.0.1", 80},
		{"20010DB8000000000000000000000001:01BB", "2001:db8::1", 443},
		{"00000000000000000000FFFF0A00000A:0016", "10.0.0.10", 22},
	}
	for _, tc := range bigEndian {
		ip, port, err := parseHexAddr(tc.in, binary.BigEndian)
		if err != nil || ip.String() != tc.ip || port != tc.port {
			t.Errorf("big-endian parseHexAddr(%q) = %v, %d, %v; want %s %d", tc.in, ip, port, err, tc.ip, tc.port)
		}
	}
}

func TestRedactArgs(t *testing.T) {
	cases := []struct{ in, want string }{
		{"mysql -u root -psecret db", "mysql -u root -p[REDACTED] db"},
		{"ssh -p 2222 host", "ssh -p 2222 host"},
		{"find / -perm -4000 -print", "find / -perm -4000 -print"},
		{"app --password=hunter2 --user=bob", "app --password=[REDACTED] --user=bob"},
		{"app --api-key abc --verbose", "app --api-key [REDACTED] --verbose"},
		{"app --password-file /run/pw", "app --password-file /run/pw"},
		{"env PGPASSWORD=x psql", "env PGPASSWORD=[REDACTED] psql"},
		{`app --secret="two words" next`, "app --secret=[REDACTED] next"},
		{"git clone https://u:tok@github.com/x.git", "git clone https://u:[REDACTED]@github.com/x.git"},
		{"curl https://u:p%40ss@h/p", "curl https://u:[REDACTED]@h/p"},
		{"app password=abc token=def", "app password=[REDACTED] token=[REDACTED]"},
		{"agetty -o '-p -- \\u' tty1", "agetty -o '-p -- \\u' tty1"},
		{"redis-server --requirepass s3cret --port 6379", "redis-server --requirepass [REDACTED] --port 6379"},
		{"openssl pkcs12 -passin pass:s3cret -in x", "openssl pkcs12 -passin pass:[REDACTED] -in x"},
		{"tool --pass s3cret", "tool --pass [REDACTED]"},
		{"cd $PWD", "cd $PWD"},
	}
	for _, tc := range cases {
		if got := redactCommand(tc.in); got != tc.want {
			t.Errorf("redactCommand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzProcNetLine(f *testing.F) {
	for _, name := range []string{"tcp", "tcp6", "udp"} {
		data, err := os.ReadFile("testdata/proc/net/" + name)
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n")[1:] {
			f.Add(name, l)
		}
	}
	f.Fuzz(func(t *testing.T, proto, line string) {
		s, _, err := parseProcNetLine(proto, line)
		if err == nil && (s.Port < 0 || s.Port > 65535 || net.ParseIP(s.Address) == nil) {
			t.Fatalf("bad socket %+v", s)
		}
	})
}

// BenchmarkReadProc reads the live /proc of the machine running it.
func BenchmarkReadProc(b *testing.B) {
	for b.Loop() {
		var w warnings
		readProc("/proc", &w)
	}
}

package discovery

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Sizes of the generated host: the scale the issue asks Scan to handle in
// under a second on one core.
const (
	genAccounts    = 10000
	genServices    = 2000 // of the accounts, svc0..svcN run the units
	genUnits       = 2000
	genCronFiles   = 2000
	genKeyLines    = 5000
	genKeyAccounts = 1000 // accounts holding the authorized_keys lines
	genAppDirs     = 100  // /srv/appN and /opt/appN with .env, compose and .properties files
)

// generateHost writes a large but realistic root into dir: passwd, shadow
// and group with genAccounts accounts, genUnits service units (a third
// enabled, a tenth with a secret in Environment=), genCronFiles files in
// /etc/cron.d, and genKeyLines authorized_keys lines over genKeyAccounts
// homes, using a few real ed25519 and RSA keys.
func generateHost(tb testing.TB, dir string) {
	tb.Helper()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	var passwd, shadow, group strings.Builder
	passwd.WriteString("root:x:0:0:root:/root:/bin/bash\n")
	shadow.WriteString("root:$y$j9T$rootsaltrootsaltroot.$roothashroothashroothashroothashroothash12:19600:0:99999:7:::\n")
	group.WriteString("root:x:0:\n")
	var sudoers, docker []string
	name := func(i int) string {
		if i < genServices {
			return fmt.Sprintf("svc%d", i)
		}
		return fmt.Sprintf("user%d", i)
	}
	for i := 1; i < genAccounts; i++ {
		n, uid := name(i), 2000+i
		if i < genServices {
			fmt.Fprintf(&passwd, "%s:x:%d:%d:service %d:/var/lib/%s:/usr/sbin/nologin\n", n, uid, uid, i, n)
			fmt.Fprintf(&shadow, "%s:!:19600::::::\n", n)
		} else {
			fmt.Fprintf(&passwd, "%s:x:%d:%d:User %d,,,:/home/%s:/bin/bash\n", n, uid, uid, i, n)
			fmt.Fprintf(&shadow, "%s:$6$salt%05d$%s:%d:0:99999:7:::\n", n, i, strings.Repeat(string(rune('a'+i%26)), 86), 19000+i%600)
		}
		fmt.Fprintf(&group, "%s:x:%d:\n", n, uid)
		switch {
		case i%97 == 0:
			sudoers = append(sudoers, n)
		case i%89 == 0:
			docker = append(docker, n)
		}
	}
	fmt.Fprintf(&group, "sudo:x:27:%s\ndocker:x:999:%s\nadm:x:4:\n", strings.Join(sudoers, ","), strings.Join(docker, ","))
	write("etc/passwd", passwd.String())
	write("etc/shadow", shadow.String())
	write("etc/group", group.String())
	write("etc/hostname", "bench1\n")
	write("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")
	write("etc/sudoers", "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\nsvc7 ALL=(root) NOPASSWD: /usr/bin/systemctl restart svc7\n")
	write("etc/ssh/sshd_config", "PasswordAuthentication no\nPermitRootLogin prohibit-password\n")

	for i := 0; i < genUnits; i++ {
		n := name(i%(genServices-1) + 1)
		unit := fmt.Sprintf("[Unit]\nDescription=Service %d\nAfter=network.target\n\n[Service]\nType=simple\nUser=%s\nGroup=%s\n", i, n, n)
		if i%10 == 0 {
			unit += fmt.Sprintf("Environment=LOG_LEVEL=info API_TOKEN=token-%d\n", i)
		}
		unit += fmt.Sprintf("ExecStart=/usr/local/bin/app%d --config /etc/app%d.conf\nRestart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n", i, i)
		write(fmt.Sprintf("etc/systemd/system/app%d.service", i), unit)
		if i%3 == 0 {
			link := filepath.Join(dir, fmt.Sprintf("etc/systemd/system/multi-user.target.wants/app%d.service", i))
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				tb.Fatal(err)
			}
			if err := os.Symlink(fmt.Sprintf("/etc/systemd/system/app%d.service", i), link); err != nil {
				tb.Fatal(err)
			}
		}
	}
	for i := 0; i < genCronFiles; i++ {
		env := ""
		if i%10 == 0 {
			env = fmt.Sprintf("PGPASSWORD=cron-pw-%d\n", i)
		}
		write(fmt.Sprintf("etc/cron.d/job%d", i), fmt.Sprintf(
			"# job %d\nSHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n%s%d %d * * * %s /usr/local/bin/job%d --quiet\n",
			i, env, i%60, i%24, name(i%(genAccounts-1)+1), i))
	}
	// The configuration files of issue 14's secret readers.
	write("etc/environment", "PATH=\"/usr/local/bin:/usr/bin:/bin\"\nLANG=C.UTF-8\n")
	write("etc/redis/redis.conf", "bind 127.0.0.1\nport 6379\nrequirepass bench-redis-pass\n")
	write("etc/pg_service.conf", "[billing]\nhost=db\ndbname=billing\nuser=billing\npassword=bench-pgservice\n")
	for i := 0; i < genAppDirs; i++ {
		write(fmt.Sprintf("srv/app%d/.env", i), fmt.Sprintf("APP_ENV=production\nDATABASE_URL=postgres://app:env-pw-%d@db/app\nLOG_LEVEL=info\n", i))
		write(fmt.Sprintf("srv/app%d/config/application.properties", i), fmt.Sprintf(
			"server.port=8080\nspring.datasource.url=jdbc:postgresql://db/app\nspring.datasource.username=app\nspring.datasource.password=props-pw-%d\n", i))
		write(fmt.Sprintf("opt/app%d/docker-compose.yml", i), fmt.Sprintf(
			"services:\n  web:\n    image: app:%d\n    environment:\n      - LOG_LEVEL=info\n      - APP_SECRET=compose-%d\n", i, i))
	}

	var keys []string
	for i := 0; i < 8; i++ {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		k, err := ssh.NewPublicKey(pub)
		if err != nil {
			tb.Fatal(err)
		}
		keys = append(keys, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))))
	}
	for i := 0; i < 2; i++ {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			tb.Fatal(err)
		}
		k, err := ssh.NewPublicKey(&priv.PublicKey)
		if err != nil {
			tb.Fatal(err)
		}
		keys = append(keys, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))))
	}
	perAccount := genKeyLines / genKeyAccounts
	for a := 0; a < genKeyAccounts; a++ {
		n := name(genServices + a)
		var b strings.Builder
		for j := 0; j < perAccount; j++ {
			k := keys[(a+j)%len(keys)]
			if j%2 == 0 {
				fmt.Fprintf(&b, "from=\"10.%d.0.0/16\",no-pty %s %s@host%d\n", j, k, n, j)
			} else {
				fmt.Fprintf(&b, "%s %s@laptop%d\n", k, n, j)
			}
		}
		write(fmt.Sprintf("home/%s/.ssh/authorized_keys", n), b.String())
	}
}

func BenchmarkScanLarge(b *testing.B) {
	dir := b.TempDir()
	generateHost(b, dir)
	// The outer function runs once; the sub-benchmark reuses the root.
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		// On a shared machine wall time varies with the load; CPU time
		// (user+system of the process, one P with -cpu 1) does not.
		start := cpuTime(b)
		for b.Loop() {
			rep, err := Scan(context.Background(), Options{Root: dir, ProcDir: "-", FingerprintKey: testKey})
			if err != nil {
				b.Fatal(err)
			}
			if len(rep.Accounts) != genAccounts {
				b.Fatalf("%d accounts, want %d", len(rep.Accounts), genAccounts)
			}
		}
		b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
	})
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestGeneratedHost checks that the benchmark's host is what it claims, so
// that the benchmark measures the full load.
func TestGeneratedHost(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a large root")
	}
	dir := t.TempDir()
	generateHost(t, dir)
	rep := scanRoot(t, Options{Root: dir, ProcDir: "-"})
	units, cron, keys := 0, 0, 0
	for _, a := range rep.Accounts {
		for _, u := range a.UsedBy {
			switch u.Type {
			case "systemd":
				units++
			case "cron":
				cron++
			}
		}
		for _, c := range a.Credentials {
			if c.Type == "ssh_authorized_key" {
				keys++
			}
		}
	}
	if len(rep.Accounts) != genAccounts || units != genUnits || cron != genCronFiles || keys != genKeyLines {
		t.Errorf("generated host scans as %d accounts, %d units, %d cron entries, %d keys", len(rep.Accounts), units, cron, keys)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings: %v", rep.Warnings[:min(5, len(rep.Warnings))])
	}
}
